import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { KmsMemberAccess } from "./accounts/kms-member-access.js";
import { StsMemberCredentials } from "./accounts/sts-member-credentials.js";
import { AuditTrail } from "./audit/audit-trail.js";
import { EventBridgeDrainRequests } from "./audit/drain-requests.js";
import { EventBridgePublisher } from "./audit/eventbridge-publisher.js";
import { EventBridgePartitionDispatch } from "./audit/partition-dispatch.js";
import { CloudTrailAdapter, TETHER_LOOKUP_EVENTS_PER_SECOND } from "./cloudtrail/cloudtrail-adapter.js";
import type { TetherConfig } from "./config.js";
import { parseAwsRegion } from "./domain/ids.js";
import type { MemberActor } from "./domain/member-account.js";
import { kmsClients, type MemberRouting } from "./kms/clients.js";
import { KmsAdapter } from "./kms/kms-adapter.js";
import { RateLimiter, SHARED_KMS_OPERATIONS } from "./kms/rate-limiter.js";
import type { LifecycleDeps } from "./lifecycle/ports.js";
import { DynamoAccountRegistry } from "./store/dynamo-account-registry.js";
import { DynamoAuditLog } from "./store/dynamo-audit-log.js";
import { DynamoImportParametersStore } from "./store/dynamo-import-parameters.js";
import { DynamoKeyRepository } from "./store/dynamo-key-repository.js";
import { DynamoOperationRequests } from "./store/dynamo-operation-requests.js";
import { DynamoQuotaBudget } from "./store/dynamo-quota-budget.js";
import { DynamoSentinelRepository } from "./store/dynamo-sentinel-repository.js";
import { DynamoAgentQueue } from "./vault/agent/agent-queue.js";
import { VaultError } from "./vault/errors.js";
import type { Vault } from "./vault/port.js";

export interface RuntimeOptions {
  readonly vault: Vault;
  readonly clock?: () => Date;
  readonly workerId?: string;
  readonly log?: LifecycleDeps["log"];
  /** SDK settings for every client (tests pass static credentials for the local AWS). */
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * The function these deps act for: its sessions in member accounts are named after it (`tether-sweep`),
   * so a member's CloudTrail says which function acted. Default `api`.
   */
  readonly actor?: MemberActor;
}

/**
 * The composition root: builds the SDK clients and adapters once and hands the use cases their ports.
 * Called at module scope by each function, so clients are reused across invocations.
 */
export function createLifecycleDeps(config: TetherConfig, options: RuntimeOptions): LifecycleDeps {
  const clock = options.clock ?? (() => new Date());
  const { dynamodb, events } = awsClients(config, options);
  const store: TableSettings = { client: dynamodb, tableName: config.tableName, clock };
  const log = options.log;
  const { auditLog, audit } = auditDeps(config, events, store, log);
  const members = memberAccountDeps(config, options, store);
  const { kms, cloudTrail } = kmsDeps(config, options, store, members.routing);
  return {
    kms,
    cloudTrail,
    accounts: members.accounts,
    memberAccess: members.memberAccess,
    deploymentAccount: members.routing.hubAccountId,
    isTether: config.isTether,
    keys: new DynamoKeyRepository(store),
    ...sentinelDeps(config, store),
    audit,
    agents: new DynamoAgentQueue({ client: dynamodb, tableName: config.tableName }),
    drains: new EventBridgeDrainRequests({ client: events, busName: config.auditBusName }),
    partitionDispatch: new EventBridgePartitionDispatch({ client: events, busName: config.auditBusName }),
    history: auditLog,
    vault: options.vault,
    clock,
    newId: randomUUID,
    workerId: options.workerId ?? `worker-${randomUUID().slice(0, 8)}`,
    leaseTtlMs: config.leaseTtlMs,
    policyDefaults: config.policyDefaults,
    allowedRegions: config.allowedRegions,
    deployment: config.deployment,
    aliasPrefix: config.aliasPrefix,
    approvals: config.approvals,
    operations: new DynamoOperationRequests(store),
    ...(log === undefined ? {} : { log }),
  };
}

/** What every table adapter is handed: the client, the table and the clock. */
type TableSettings = { client: DynamoDBClient; tableName: string; clock: () => Date };

/** The DynamoDB and EventBridge clients, at the configured endpoints (the local AWS in tests). */
function awsClients(
  config: TetherConfig,
  options: RuntimeOptions,
): { dynamodb: DynamoDBClient; events: EventBridgeClient } {
  const common = {
    region: config.region,
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  };
  const dynamodb = new DynamoDBClient({
    ...common,
    ...(config.endpoints.dynamodb === undefined ? {} : { endpoint: config.endpoints.dynamodb }),
  });
  const events = new EventBridgeClient({
    ...common,
    ...(config.endpoints.events === undefined ? {} : { endpoint: config.endpoints.events }),
  });
  return { dynamodb, events };
}

/** The audit log (table items) and the trail that writes it and publishes to the audit bus. */
function auditDeps(
  config: TetherConfig,
  events: EventBridgeClient,
  store: TableSettings,
  log: LifecycleDeps["log"],
): { auditLog: DynamoAuditLog; audit: AuditTrail } {
  const auditLog = new DynamoAuditLog(store);
  const audit = new AuditTrail({
    log: auditLog,
    publisher: new EventBridgePublisher({ client: events, busName: config.auditBusName }),
    onPublishFailure: (failed) =>
      log?.("warn", "audit events wait in the outbox", {
        count: failed.length,
        errorCodes: [...new Set(failed.map((f) => f.errorCode))],
      }),
  });
  return { auditLog, audit };
}

/** The KMS adapter (every Region's client) and the CloudTrail adapter, each behind its rate limiter. */
function kmsDeps(
  config: TetherConfig,
  options: RuntimeOptions,
  store: TableSettings,
  members: MemberRouting,
): Pick<LifecycleDeps, "kms" | "cloudTrail"> {
  const log = options.log;
  // One budget per Region for the deployment's functions and instances together (KMS and CloudTrail count
  // per account and Region); each process reserves its turns from the table and queues its own callers in order.
  const budget = config.kmsBudget === "local" ? undefined : new DynamoQuotaBudget(store);
  const shared = (operations: readonly string[]) =>
    budget === undefined
      ? {}
      : {
          shared: {
            budget,
            operations,
            fallbackShare: config.kmsFallbackShare,
            ...(log === undefined ? {} : { log }),
          },
        };
  const kms = new KmsAdapter({
    clients: kmsClients({
      endpoint: config.endpoints.kms,
      clientConfig: options.credentials === undefined ? undefined : { credentials: options.credentials },
      // Every key's calls go to the account its ARN names: the deployment's, or a member's role session.
      members,
    }),
    vault: options.vault,
    rateLimiter: new RateLimiter({ quotas: config.kmsQuotas, ...shared(SHARED_KMS_OPERATIONS) }),
    // Warm import parameters live with each Region record (TETHER_WARM_IMPORT_PARAMETERS); off: memory only.
    ...(config.warmParametersPerRun === undefined
      ? {}
      : { parametersStore: new DynamoImportParametersStore(store) }),
    now: store.clock,
  });
  // Its own limiter: LookupEvents has its own quota (per account and Region), not one of KMS's; shared
  // across functions like KMS's (the sweep and kms-events both look up loss evidence).
  const cloudTrail = new CloudTrailAdapter({
    // Locally the KMS emulator serves LookupEvents on its own port (routed by X-Amz-Target), so a local
    // stack never reaches the real CloudTrail by accident.
    endpoint: config.endpoints.cloudtrail ?? config.endpoints.kms,
    rateLimiter: new RateLimiter({
      quotas: { LookupEvents: TETHER_LOOKUP_EVENTS_PER_SECOND },
      ...shared(["LookupEvents"]),
    }),
    clientConfig: options.credentials === undefined ? undefined : { credentials: options.credentials },
  });
  return { kms, cloudTrail };
}

/** The sentinel keys' repository and Regions, when the deployment probes any (TETHER_REGIONS). */
function sentinelDeps(
  config: TetherConfig,
  store: TableSettings,
): Pick<LifecycleDeps, "sentinels" | "sentinelRegions"> {
  return config.sentinelRegions.length === 0
    ? {}
    : {
        sentinels: new DynamoSentinelRepository(store),
        sentinelRegions: config.sentinelRegions.map((r) => parseAwsRegion(r, "TETHER_REGIONS")),
      };
}

/**
 * Member accounts (README, "Member accounts"): the registry (table items), the check on add (STS AssumeRole,
 * then KMS with the member's credentials) and the routing of each key's KMS calls to its account. Locally
 * the KMS emulator serves STS too, as it serves CloudTrail.
 */
function memberAccountDeps(
  config: TetherConfig,
  options: RuntimeOptions,
  store: TableSettings,
): Pick<LifecycleDeps, "accounts" | "memberAccess"> & { routing: MemberRouting } {
  const credentials = new StsMemberCredentials({
    region: config.region,
    endpoint: config.endpoints.sts ?? config.endpoints.kms,
    clientConfig: options.credentials === undefined ? undefined : { credentials: options.credentials },
    now: store.clock,
  });
  const accounts = new DynamoAccountRegistry(store);
  const configured = config.accountId;
  return {
    accounts,
    memberAccess: new KmsMemberAccess({
      credentials,
      kmsEndpoint: config.endpoints.kms,
      region: config.region,
    }),
    routing: {
      hubAccountId: configured === undefined ? () => credentials.ownAccountId() : async () => configured,
      registry: accounts,
      credentials,
      actor: options.actor ?? "api",
      now: store.clock,
    },
  };
}

/** What the probe needs: the sentinels, DescribeKey, the audit trail and a clock. No vault, no key records. */
export type ProbeDeps = Pick<LifecycleDeps, "kms" | "audit" | "clock" | "sentinels" | "log">;

/** A vault the probe does not have: it only reads keys, so any call is a bug, refused. */
const NO_VAULT: Vault = {
  kind: "none",
  wrap: () => Promise.reject(new VaultError("the probe holds no vault")),
  checkValue: () => Promise.reject(new VaultError("the probe holds no vault")),
  generate: () => Promise.reject(new VaultError("the probe holds no vault")),
  has: () => Promise.reject(new VaultError("the probe holds no vault")),
  describe: () => Promise.reject(new VaultError("the probe holds no vault")),
};

/**
 * The probe's composition root: its role may DescribeKey sentinels only, read and write the table and put
 * audit events, and it is given no vault (nor the vault's secret).
 */
export function createProbeDeps(
  config: TetherConfig,
  options: Omit<RuntimeOptions, "vault" | "workerId">,
): ProbeDeps {
  const deps = createLifecycleDeps(config, { ...options, vault: NO_VAULT });
  return {
    kms: deps.kms,
    audit: deps.audit,
    clock: deps.clock,
    sentinels: deps.sentinels,
    ...(deps.log === undefined ? {} : { log: deps.log }),
  };
}
