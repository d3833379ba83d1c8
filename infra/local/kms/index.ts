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
import { CallerIdentities, type CallerIdentity } from "./cloudtrail/identities.js";
import { cloudTrailOperation, lookupEvents } from "./cloudtrail/lookup-events.js";
import {
  apiCallRecord,
  KMS_ALIAS_TYPE,
  KMS_KEY_TYPE,
  RECORDED_OPERATIONS,
  type TrailResource,
} from "./cloudtrail/records.js";
import { CloudTrail } from "./cloudtrail/trail.js";
import type { KmsContext } from "./context.js";
import { KmsApiError, KmsErrorType, kmsError } from "./errors.js";
import { EventPublisher } from "./events.js";
import { FaultInjector } from "./faults.js";
import { processDue } from "./lifecycle.js";
import { OPERATIONS } from "./operations/index.js";
import { StateFile } from "./persistence.js";
import { KmsStore } from "./store.js";
import { RequestReader } from "./validation.js";
import {
  parseJsonObject,
  readBody,
  regionOf,
  scopeOf,
  sendJson,
  sendKmsError,
  sourceIpOf,
  TARGET_PREFIX,
} from "./wire.js";
import { WrappingKeyPool } from "./wrapping-key-pool.js";

export { KmsAdmin } from "./admin-client.js";
export type { CallerIdentity } from "./cloudtrail/identities.js";
export type { CloudTrailConfig, CloudTrailSettings } from "./cloudtrail/trail.js";

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
  /**
   * Callers CloudTrail records by access key id (an IAM user or an assumed-role session); any other key
   * is recorded as the IAM user named after it. More can be added through `POST /_admin/identities`.
   */
  identities?: readonly CallerIdentity[];
  /** Period of the expiry tick in ms (default 1000; the timer is unref'd). */
  tickMs?: number;
  logger?: (line: string) => void;
}

export interface KmsEmulator {
  url: string;
  port: number;
  admin: KmsAdmin;
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
  const trail = new CloudTrail();
  const identities = new CallerIdentities(accountId, options.identities);
  const pool = new WrappingKeyPool(log);
  pool.warm(["RSA_2048"]);

  const persist = async () => {
    if (stateFile) await stateFile.save(store.snapshot(clock.offset));
  };
  const deliverTrail = () => trail.deliverDue(clock.now(), (event) => events.forward(event));
  const settle = async () => {
    processDue(store, clock, events, trail);
    deliverTrail();
    await persist();
  };

  /** The key (and alias) a request names, resolved before the call (an alias may be gone after it). */
  function resourcesNamed(region: string, request: Record<string, unknown>): TrailResource[] {
    const resources: TrailResource[] = [];
    // DeleteAlias names only the alias: its key is the alias's target.
    const keyRef = [request.KeyId, request.TargetKeyId, request.AliasName].find(
      (v) => typeof v === "string",
    ) as string | undefined;
    if (keyRef !== undefined) {
      try {
        resources.push({
          type: KMS_KEY_TYPE,
          arn: store.resolveKey(region, keyRef, { allowAlias: true }).arn,
        });
      } catch {
        // A key that does not resolve names no resource; the call fails and is recorded without one.
      }
    }
    if (typeof request.AliasName === "string" && request.AliasName.startsWith("alias/")) {
      resources.push({
        type: KMS_ALIAS_TYPE,
        arn: `arn:aws:kms:${region}:${accountId}:${request.AliasName}`,
      });
    }
    return resources;
  }

  async function handleCloudTrail(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    operation: string,
  ): Promise<void> {
    let region = "?";
    try {
      region = scopeOf(req).region;
      const body = parseJsonObject(await readBody(req));
      if (operation !== "LookupEvents") {
        throw new KmsApiError(
          "UnknownOperationException",
          `The local emulator serves only CloudTrail LookupEvents, not ${operation || "(none)"}.`,
        );
      }
      await faults.before(operation, region, accountId);
      if (processDue(store, clock, events, trail)) await persist();
      deliverTrail();
      sendJson(res, 200, lookupEvents(body, region, trail.history(region, clock.now())), requestId);
      log(`cloudtrail ${region} ${operation} 200`);
    } catch (err) {
      const apiError =
        err instanceof KmsApiError
          ? err
          : new KmsApiError("InternalFailure", "An internal error occurred. (local CloudTrail)", {
              cause: err,
            });
      sendKmsError(res, apiError, requestId);
      log(`cloudtrail ${region} ${operation} ${apiError.status} ${apiError.awsType}`);
    }
  }

  async function handleKms(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const started = Date.now();
    let operation = "?";
    let region = "?";
    /** Set once the call reaches KMS proper: from then on it is recorded, whether it succeeds or not. */
    let recordCall: ((outcome: { response?: object; error?: KmsApiError }) => void) | undefined;
    try {
      if (req.method !== "POST") throw kmsError(KmsErrorType.UnknownOperation, "Only POST is supported.");
      const target = String(req.headers["x-amz-target"] ?? "");
      operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
      const handler = target.startsWith(TARGET_PREFIX) ? OPERATIONS[operation] : undefined;
      region = regionOf(req);
      const body = await readBody(req);
      if (!handler) throw kmsError(KmsErrorType.UnknownOperation, `Unknown operation ${target || "(none)"}`);
      const changedByTime = processDue(store, clock, events, trail);
      const request = parseJsonObject(body);
      if (RECORDED_OPERATIONS[operation] !== undefined) {
        const callRegion = region;
        const at = clock.now();
        const resources = resourcesNamed(region, request);
        const caller = identities.resolve(scopeOf(req).accessKeyId);
        const sourceIp = sourceIpOf(req);
        const userAgent = String(req.headers["user-agent"] ?? "");
        recordCall = ({ response, error }) => {
          const named = [...resources];
          const created = (response as { KeyMetadata?: { Arn?: string } } | undefined)?.KeyMetadata?.Arn;
          if (created && !named.some((r) => r.arn === created))
            named.unshift({ type: KMS_KEY_TYPE, arn: created });
          trail.add(
            apiCallRecord({
              operation,
              region: callRegion,
              account: accountId,
              at,
              caller,
              sourceIp,
              userAgent,
              requestId,
              request,
              ...(response ? { response: response as Record<string, unknown> } : {}),
              ...(error ? { error: { code: error.awsType, message: error.message } } : {}),
              resources: named,
            }),
          );
          // "A ReplicateKey request results in a ReplicateKey operation and a CreateKey operation", the
          // latter in the replica's Region (https://docs.aws.amazon.com/kms/latest/developerguide/ct-replicate-key.html).
          const replica = (response as { ReplicaKeyMetadata?: { Arn?: string } } | undefined)
            ?.ReplicaKeyMetadata;
          if (operation === "ReplicateKey" && replica?.Arn && typeof request.ReplicaRegion === "string") {
            const { KeyId: _primary, ReplicaRegion: _region, ...createParameters } = request;
            trail.add(
              apiCallRecord({
                operation: "CreateKey",
                region: request.ReplicaRegion,
                account: accountId,
                at,
                caller,
                sourceIp,
                userAgent,
                requestId,
                request: createParameters,
                response: { KeyMetadata: replica },
                resources: [{ type: KMS_KEY_TYPE, arn: replica.Arn }],
              }),
            );
          }
        };
      }
      await faults.before(operation, region, accountId);
      const ctx: KmsContext = { store, clock, pool, events, region, accountId, log };
      const result = await handler.handle(ctx, new RequestReader(request));
      recordCall?.({ response: result });
      deliverTrail();
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
      recordCall?.({ error: apiError });
      sendKmsError(res, apiError, requestId);
      log(`kms ${region} ${operation} ${apiError.status} ${apiError.awsType} ${Date.now() - started}ms`);
    }
  }

  const server = createServer((req, res) => {
    const requestId = randomUUID();
    handleAdmin({ store, clock, faults, events, trail, identities, settle }, req, res, requestId)
      .then((handled) => {
        if (handled) return undefined;
        const target = String(req.headers["x-amz-target"] ?? "");
        const trailOperation = cloudTrailOperation(target);
        return trailOperation !== undefined
          ? handleCloudTrail(req, res, requestId, trailOperation)
          : handleKms(req, res, requestId);
      })
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
    const changed = processDue(store, clock, events, trail);
    deliverTrail();
    if (changed) persist().catch((err: unknown) => log(`persist failed: ${String(err)}`));
  }, options.tickMs ?? 1000);
  tick.unref();

  return {
    url,
    port,
    admin: new KmsAdmin(url),
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
