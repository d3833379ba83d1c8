/**
 * The local KMS emulator: a faithful KMS for the import path ("bring your own key"), served over
 * HTTP with KMS's wire protocol so `@aws-sdk/client-kms` and the AWS CLI work against it unchanged
 * (endpoint override). Reached by everything else only over HTTP.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { handleAdmin } from "./admin.js";
import { KmsAdmin } from "./admin-client.js";
import { EmulatorClock } from "./clock.js";
import type { KmsContext } from "./context.js";
import { KmsApiError, KmsErrorType, kmsError } from "./errors.js";
import { EventPublisher } from "./events.js";
import { FaultInjector } from "./faults.js";
import { processDue } from "./lifecycle.js";
import { OPERATIONS } from "./operations/index.js";
import { StateFile } from "./persistence.js";
import { KmsStore } from "./store.js";
import { RequestReader } from "./validation.js";
import { parseJsonObject, readBody, regionOf, sendJson, sendKmsError, TARGET_PREFIX } from "./wire.js";
import { WrappingKeyPool } from "./wrapping-key-pool.js";

export { KmsAdmin } from "./admin-client.js";

export interface KmsEmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 = ephemeral (default here; main.ts defaults to 4599). */
  port?: number;
  /** Persist state as JSON in this directory; omitted = memory only. */
  dataDir?: string;
  /** Default "111122223333". */
  accountId?: string;
  /** Base URL of the local event bus; KMS service events are POSTed to `${eventBusUrl}/_local/service-events`. */
  eventBusUrl?: string;
  /** Period of the expiry tick in ms (default 1000; the timer is unref'd). */
  tickMs?: number;
  logger?: (line: string) => void;
}

export interface KmsEmulator {
  url: string;
  port: number;
  admin: KmsAdmin;
  /** The emulator clock's offset from real time, ms (what `/_admin/clock` moves); read by the local runner. */
  clockOffsetMs(): number;
  close(): Promise<void>;
}

/** Starts the emulator; resolves once it listens. */
export async function startKmsEmulator(options: KmsEmulatorOptions = {}): Promise<KmsEmulator> {
  const host = options.host ?? "127.0.0.1";
  const accountId = options.accountId ?? "111122223333";
  const log = options.logger ?? (() => {});
  const stateFile = options.dataDir ? new StateFile(options.dataDir) : undefined;
  const snapshot = await stateFile?.load();
  const store = new KmsStore(accountId, snapshot);
  const clock = new EmulatorClock(snapshot?.clockOffsetMs ?? 0);
  const events = new EventPublisher(options.eventBusUrl, log);
  const faults = new FaultInjector();
  const pool = new WrappingKeyPool(log);
  pool.warm(["RSA_2048"]);

  const persist = async () => {
    if (stateFile) await stateFile.save(store.snapshot(clock.offset));
  };
  const settle = async () => {
    processDue(store, clock, events);
    await persist();
  };

  async function handleKms(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const started = Date.now();
    let operation = "?";
    let region = "?";
    try {
      if (req.method !== "POST") throw kmsError(KmsErrorType.UnknownOperation, "Only POST is supported.");
      const target = String(req.headers["x-amz-target"] ?? "");
      operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
      const handler = target.startsWith(TARGET_PREFIX) ? OPERATIONS[operation] : undefined;
      region = regionOf(req);
      const body = await readBody(req);
      if (!handler) throw kmsError(KmsErrorType.UnknownOperation, `Unknown operation ${target || "(none)"}`);
      const changedByTime = processDue(store, clock, events);
      await faults.before(operation, region, accountId);
      const ctx: KmsContext = { store, clock, pool, events, region, accountId, log };
      const result = await handler.handle(ctx, new RequestReader(parseJsonObject(body)));
      if (handler.mutates || changedByTime) await persist();
      sendJson(res, 200, result, requestId);
      log(`kms ${region} ${operation} 200 ${Date.now() - started}ms`);
    } catch (err) {
      const apiError =
        err instanceof KmsApiError
          ? err
          : kmsError(KmsErrorType.KmsInternal, "An internal error occurred. (local KMS emulator)", {
              cause: err,
            });
      if (!(err instanceof KmsApiError)) log(`kms ${requestId} ${operation} internal error: ${String(err)}`);
      sendKmsError(res, apiError, requestId);
      log(`kms ${region} ${operation} ${apiError.status} ${apiError.awsType} ${Date.now() - started}ms`);
    }
  }

  const server = createServer((req, res) => {
    const requestId = randomUUID();
    handleAdmin({ store, clock, faults, events, settle }, req, res, requestId)
      .then((handled) => (handled ? undefined : handleKms(req, res, requestId)))
      .catch((err: unknown) => {
        log(`request ${requestId} failed: ${String(err)}`);
        if (!res.headersSent)
          sendJson(res, 500, { __type: KmsErrorType.KmsInternal, message: "" }, requestId);
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;

  const tick = setInterval(() => {
    if (processDue(store, clock, events))
      persist().catch((err: unknown) => log(`persist failed: ${String(err)}`));
  }, options.tickMs ?? 1000);
  tick.unref();

  return {
    url,
    port,
    admin: new KmsAdmin(url),
    clockOffsetMs: () => clock.offset,
    async close() {
      clearInterval(tick);
      pool.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await events.drain();
      await persist();
    },
  };
}
