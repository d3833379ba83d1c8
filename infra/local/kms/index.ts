/**
 * The local KMS emulator: a faithful KMS for the import path ("bring your own key"), served over
 * HTTP with KMS's wire protocol so `@aws-sdk/client-kms` and the AWS CLI work against it unchanged
 * (endpoint override). Reached by everything else only over HTTP.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AccountStores } from "./accounts.js";
import { handleAdmin } from "./admin.js";
import { KmsAdmin } from "./admin-client.js";
import { authorizeCall, authorizeKmsCall } from "./authorize.js";
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
import type { KmsStore } from "./store.js";
import { principalOf } from "./sts/roles.js";
import { assumeRoleXml, callerIdentityXml, errorXml, LocalSts, StsError } from "./sts/service.js";
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
  /**
   * Default "111122223333": the account of every caller the emulator does not know. A registered identity
   * (or a session of the local STS) calls as the account its ARN names, with that account's own keys.
   */
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
  /** The emulator clock's offset from real time, ms (what `/_admin/clock` moves); read by the local runner. */
  clockOffsetMs(): number;
  close(): Promise<void>;
}

const KMS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:(\d{12}):(?:key|alias)\/.+$/;

/**
 * A key (or alias) ARN of another account is refused as KMS refuses a caller the key's policy does not name:
 * `AccessDeniedException` "User: <caller> is not authorized to perform: kms:<Operation> on resource: <arn>
 * because no resource-based policy allows the kms:<Operation> action". Cross-account use needs the key
 * policy to allow it (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html),
 * and the import path, deletion, tagging and policy operations are never cross-account ("Cross-account use:
 * No", https://docs.aws.amazon.com/kms/latest/developerguide/kms-api-permissions-reference.html). The
 * emulator evaluates no key policy, so it refuses every cross-account call, whether the key exists or not
 * (it says nothing about another account's keys), which is no kinder than AWS.
 */
function refuseOtherAccounts(
  operation: string,
  callerArn: string,
  account: string,
  request: Record<string, unknown>,
): void {
  for (const value of [request.KeyId, request.TargetKeyId, request.DestinationKeyId]) {
    if (typeof value !== "string") continue;
    const owner = KMS_ARN.exec(value)?.[1];
    if (owner !== undefined && owner !== account) {
      throw new KmsApiError(
        "AccessDeniedException",
        `User: ${callerArn} is not authorized to perform: kms:${operation} on resource: ${value} ` +
          `because no resource-based policy allows the kms:${operation} action`,
      );
    }
  }
}

/** Starts the emulator; resolves once it listens. */
export async function startKmsEmulator(options: KmsEmulatorOptions = {}): Promise<KmsEmulator> {
  const host = options.host ?? "127.0.0.1";
  const accountId = options.accountId ?? "111122223333";
  const log = options.logger ?? (() => {});
  const stateFile = options.dataDir ? new StateFile(options.dataDir) : undefined;
  const snapshot = await stateFile?.load();
  const stores = new AccountStores(accountId, snapshot);
  const clock = new EmulatorClock(snapshot?.clockOffsetMs ?? 0);
  const events = new EventPublisher(options.eventBusUrl, log);
  const faults = new FaultInjector();
  const trail = new CloudTrail();
  const identities = new CallerIdentities(accountId, options.identities);
  const sts = new LocalSts(identities);
  /** The account a request acts in: its caller's (an unknown access key is the default account's user). */
  const callerOf = (req: IncomingMessage) => {
    const caller = identities.resolve(scopeOf(req).accessKeyId);
    return { caller, account: principalOf(caller.arn).accountId || accountId };
  };
  /** KMS's own deeds in every account; whether anything changed. */
  const processAllDue = () =>
    stores.all().reduce((changed, store) => processDue(store, clock, events, trail) || changed, false);
  const pool = new WrappingKeyPool(log);
  pool.warm(["RSA_2048"]);

  const persist = async () => {
    if (stateFile) await stateFile.save(stores.snapshot(clock.offset));
  };
  const deliverTrail = () => trail.deliverDue(clock.now(), (event) => events.forward(event));
  const settle = async () => {
    processAllDue();
    deliverTrail();
    await persist();
  };

  /** The key (and alias) a request names, resolved before the call (an alias may be gone after it). */
  function resourcesNamed(
    store: KmsStore,
    region: string,
    request: Record<string, unknown>,
  ): TrailResource[] {
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
        arn: `arn:aws:kms:${region}:${store.accountId}:${request.AliasName}`,
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
      const { caller, account } = callerOf(req);
      const policyCaller = sts.policyCaller(caller.accessKeyId);
      if (policyCaller !== undefined) await authorizeCall(policyCaller, `cloudtrail:${operation}`, region);
      await faults.before(operation, region, account);
      if (processAllDue()) await persist();
      deliverTrail();
      const history = trail.history(region, clock.now()).filter((r) => r.account === account);
      sendJson(res, 200, lookupEvents(body, region, history), requestId);
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
      const changedByTime = processAllDue();
      const request = parseJsonObject(body);
      const { caller, account } = callerOf(req);
      if (sts.expired(caller.accessKeyId, clock.now())) {
        throw new KmsApiError(
          "ExpiredTokenException",
          "The security token included in the request is expired",
        );
      }
      refuseOtherAccounts(operation, caller.arn, account, request);
      const store = stores.forAccount(account);
      if (RECORDED_OPERATIONS[operation] !== undefined) {
        const callRegion = region;
        const at = clock.now();
        const resources = resourcesNamed(store, region, request);
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
              account,
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
                account,
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
      // A session of a role with permission policies (a member role): IAM decides before KMS acts.
      const policyCaller = sts.policyCaller(caller.accessKeyId);
      if (policyCaller !== undefined) await authorizeKmsCall(policyCaller, operation, request, store, region);
      await faults.before(operation, region, account);
      const ctx: KmsContext = { store, clock, pool, events, region, accountId: account, log };
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

  async function handleSts(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const params = new URLSearchParams((await readBody(req)).toString("utf8"));
    const action = params.get("Action") ?? "";
    const send = (status: number, xml: string) => {
      res.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": requestId });
      res.end(xml);
    };
    try {
      const { caller } = callerOf(req);
      if (sts.expired(caller.accessKeyId, clock.now()))
        throw new StsError("ExpiredToken", "The security token included in the request is expired", 400);
      if (action === "AssumeRole") {
        send(200, assumeRoleXml(sts.assumeRole(caller.arn, params, clock.now()), requestId));
      } else if (action === "GetCallerIdentity") {
        send(200, callerIdentityXml(caller.arn, caller.accessKeyId, requestId));
      } else {
        throw new StsError("InvalidAction", `Could not find operation ${action} for version 2011-06-15`, 400);
      }
      log(`sts ${action} 200`);
    } catch (err) {
      const error =
        err instanceof StsError
          ? err
          : new StsError("InternalFailure", "An internal error occurred. (local STS)", 500);
      if (!(err instanceof StsError)) log(`sts ${requestId} ${action} internal error: ${String(err)}`);
      send(error.status, errorXml(error, requestId));
      log(`sts ${action} ${error.status} ${error.code}`);
    }
  }

  const server = createServer((req, res) => {
    const requestId = randomUUID();
    handleAdmin({ stores, clock, faults, events, trail, identities, sts, settle }, req, res, requestId)
      .then((handled) => {
        if (handled) return undefined;
        const target = String(req.headers["x-amz-target"] ?? "");
        if (target === "" && /\/[a-z0-9-]+\/sts\/aws4_request/.test(req.headers.authorization ?? ""))
          return handleSts(req, res, requestId);
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
    const changed = processAllDue();
    deliverTrail();
    if (changed) persist().catch((err: unknown) => log(`persist failed: ${String(err)}`));
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
