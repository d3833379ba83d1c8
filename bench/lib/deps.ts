/**
 * Tether's lifecycle deps for the benchmarks, wired the way lib/composition-root.ts's createLifecycleDeps wires them
 * — same classes, same config — except that the SDK clients carry the benchmark's counting middleware
 * (createLifecycleDeps builds its clients inside, where no middleware can be added). Apart from bed.ts on
 * purpose: the sweep worker imports this, and must not load the local AWS (dynalite, the KMS emulator, the
 * event bus) into the process whose memory it measures.
 */
import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { KMSClient } from "@aws-sdk/client-kms";
import { StsMemberCredentials } from "../../lib/accounts/sts-member-credentials.js";
import { AuditTrail } from "../../lib/audit/audit-trail.js";
import { EventBridgePublisher } from "../../lib/audit/eventbridge-publisher.js";
import { loadConfig, type TetherConfig } from "../../lib/config.js";
import { type KmsClients, kmsClients, type MemberRouting } from "../../lib/kms/clients.js";
import type { ImportParametersCache } from "../../lib/kms/import-parameters.js";
import { KmsAdapter } from "../../lib/kms/kms-adapter.js";
import { RateLimiter } from "../../lib/kms/rate-limiter.js";
import type { LifecycleDeps } from "../../lib/lifecycle/ports.js";
import { DynamoAccountRegistry } from "../../lib/store/dynamo-account-registry.js";
import { DynamoAuditLog } from "../../lib/store/dynamo-audit-log.js";
import { DynamoImportParametersStore } from "../../lib/store/dynamo-import-parameters.js";
import { DynamoKeyRepository } from "../../lib/store/dynamo-key-repository.js";
import type { Vault } from "../../lib/vault/port.js";
import {
  type DynamoCounter,
  instrumentDynamo,
  instrumentKms,
  type KmsTiming,
  newDynamoCounter,
  newKmsTiming,
} from "./instrument.js";

export const REGION = "eu-west-1";
export const AUDIT_BUS = "tether-audit";
export const CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" } as const;
export const PASSPHRASE = "bench-passphrase";

export interface DepsOptions {
  /** TETHER_KMS_QUOTA_SHARE; default Tether's own default (0.8). */
  readonly quotaShare?: number;
  /** No client-side rate limiter at all (setup only: seeding keys fast with the emulator's quotas off). */
  readonly unlimited?: boolean;
  /** Share import parameters with other deps (as one warm Lambda keeps them across invocations). */
  readonly parametersCache?: ImportParametersCache;
  /** The KMS emulator's caller (its account is taken from the access key); default CREDENTIALS (the hub). */
  readonly kmsCredentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** One limiter shared with other deps (as one process keeps one); default a new one of this config. */
  readonly rateLimiter?: RateLimiter;
  /**
   * Member accounts as the composition wires them (lib/composition-root.ts): the registry in the table, and
   * each key's KMS calls sent to its ARN's account — the hub's own client, or a client signing with the
   * member role's session from the local STS (StsMemberCredentials, as the sweep: `tether-sweep`).
   */
  readonly memberAccounts?: boolean;
}

export interface BenchDeps {
  readonly deps: LifecycleDeps;
  readonly config: TetherConfig;
  readonly dynamo: DynamoCounter;
  readonly kms: KmsTiming;
  readonly dynamodbClient: DynamoDBClient;
  close(): void;
}

/**
 * Tether's lifecycle deps for `env` (a Tether environment), built as createLifecycleDeps builds them, with
 * counting middleware on the DynamoDB and KMS clients. Also used by the sweep worker in its own process.
 */
export function buildDeps(
  env: Record<string, string>,
  vault: Vault,
  clock: () => Date,
  options: DepsOptions = {},
): BenchDeps {
  const config = loadConfig({
    ...env,
    ...(options.quotaShare === undefined ? {} : { TETHER_KMS_QUOTA_SHARE: String(options.quotaShare) }),
  });
  const common = { region: config.region, credentials: CREDENTIALS };
  const dynamo = newDynamoCounter();
  const kms = newKmsTiming();
  const dynamodbClient = new DynamoDBClient({ ...common, endpoint: config.endpoints.dynamodb });
  instrumentDynamo(dynamodbClient, dynamo);
  const events = new EventBridgeClient({ ...common, endpoint: config.endpoints.events });
  const kmsByRegion = new Map<string, KMSClient>();
  const store = { client: dynamodbClient, tableName: config.tableName, clock };
  const accounts = options.memberAccounts === true ? memberRouting(config, store) : undefined;
  // As lib/kms/clients.ts builds them (maxAttempts 4), plus the timing middleware.
  const clients: KmsClients =
    accounts === undefined
      ? hubClients(config, options, kms, kmsByRegion)
      : memberRoutedClients(config, options, kms, kmsByRegion, accounts.routing);
  const auditLog = new DynamoAuditLog(store);
  const lifecycle: LifecycleDeps = {
    kms: new KmsAdapter({
      clients,
      vault,
      rateLimiter: options.unlimited
        ? undefined
        : (options.rateLimiter ?? new RateLimiter({ quotas: config.kmsQuotas })),
      parametersCache: options.parametersCache,
      // As the runtime: warm import parameters stored with each Region record unless
      // TETHER_WARM_IMPORT_PARAMETERS=off, so one process can measure both.
      ...(config.warmParametersPerRun === undefined
        ? {}
        : { parametersStore: new DynamoImportParametersStore(store) }),
      now: clock,
    }),
    keys: new DynamoKeyRepository(store),
    audit: new AuditTrail({
      log: auditLog,
      publisher: new EventBridgePublisher({ client: events, busName: config.auditBusName }),
    }),
    history: auditLog,
    vault,
    clock,
    newId: randomUUID,
    workerId: `bench-${randomUUID().slice(0, 8)}`,
    leaseTtlMs: config.leaseTtlMs,
    policyDefaults: config.policyDefaults,
    allowedRegions: config.allowedRegions,
    deployment: config.deployment,
    aliasPrefix: config.aliasPrefix,
    ...(accounts === undefined ? {} : { accounts: accounts.registry, deploymentAccount: accounts.hub }),
  };
  return {
    deps: lifecycle,
    config,
    dynamo,
    kms,
    dynamodbClient,
    close() {
      dynamodbClient.destroy();
      events.destroy();
      for (const client of kmsByRegion.values()) client.destroy();
    },
  };
}

type Built = Map<string, KMSClient>;

/** The hub's clients only (every key in the deployment account, or the account of `kmsCredentials`). */
function hubClients(config: TetherConfig, options: DepsOptions, timing: KmsTiming, built: Built): KmsClients {
  return {
    forRegion(region) {
      let client = built.get(region);
      if (client === undefined) {
        client = new KMSClient({
          credentials: options.kmsCredentials ?? CREDENTIALS,
          region,
          maxAttempts: 4,
          endpoint: config.endpoints.kms,
        });
        instrumentKms(client, timing);
        built.set(region, client);
      }
      return client;
    },
  };
}

/** The registry and routing createLifecycleDeps builds (memberAccountDeps), as the sweep acts. */
function memberRouting(config: TetherConfig, store: ConstructorParameters<typeof DynamoAccountRegistry>[0]) {
  const credentials = new StsMemberCredentials({
    region: config.region,
    endpoint: config.endpoints.sts ?? config.endpoints.kms,
    clientConfig: { credentials: CREDENTIALS },
    now: store.clock,
  });
  const registry = new DynamoAccountRegistry(store);
  const configured = config.accountId;
  const hub = configured === undefined ? () => credentials.ownAccountId() : async () => configured;
  const routing: MemberRouting = {
    hubAccountId: hub,
    registry,
    credentials,
    actor: "sweep",
    now: store.clock,
  };
  return { registry, hub, routing };
}

/** lib/kms/clients.ts's own clients, routing by the key ARN's account; each instrumented once, closed with the deps. */
function memberRoutedClients(
  config: TetherConfig,
  options: DepsOptions,
  timing: KmsTiming,
  built: Built,
  members: MemberRouting,
): KmsClients {
  const real = kmsClients({
    endpoint: config.endpoints.kms,
    clientConfig: { credentials: options.kmsCredentials ?? CREDENTIALS },
    members,
  });
  const instrumented = new WeakSet<KMSClient>();
  const seen = (client: KMSClient, key: string): KMSClient => {
    if (!instrumented.has(client)) {
      instrumentKms(client, timing);
      instrumented.add(client);
    }
    built.set(key, client);
    return client;
  };
  return {
    forRegion: (region) => seen(real.forRegion(region), region),
    forAccount: async (region, accountId) =>
      seen(
        await (real.forAccount as NonNullable<KmsClients["forAccount"]>)(region, accountId),
        `${accountId}/${region}`,
      ),
  };
}
