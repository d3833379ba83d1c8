/**
 * The local main job: the local AWS, Tether's table, audit bus and file vault, and Tether's functions
 * attached exactly as serverless.yml attaches them — HTTP API routes (SigV4-verified where the route says
 * aws_iam), the schedule (on a short local interval), and the EventBridge rules on the local bus. Used by
 * `npm start`, `npm run demo` and the end-to-end tests.
 *
 * Tether's functions read their configuration from the environment once, at import; so the environment is
 * set before they are imported, and one process runs at most one local stack.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { SWEEP_PARTITION_DUE_DETAIL_TYPE } from "../../../lib/domain/sweep-partition.js";
import type { SweepReport } from "../../../lib/lifecycle/scheduled/sweep.js";
import { type LocalAws, startLocalAws } from "../index.js";
import { concurrencyGate } from "./concurrency.js";
import { LocalStackError } from "./errors.js";
import { applyForwardingRules, loadForwardingRules } from "./forwarding.js";
import { type HttpApi, type RouteTarget, startHttpApi } from "./http-api.js";
import {
  DEFAULT_LOCAL_REGIONS,
  LOCAL_ACCOUNT_ID,
  LOCAL_ADMIN,
  LOCAL_ADMIN_2,
  LOCAL_ADMIN_PRINCIPALS,
  LOCAL_AGENT,
  LOCAL_CALLER_IDENTITIES,
  LOCAL_IDENTITIES,
  LOCAL_READER,
  LOCAL_SERVICE_CREDENTIALS,
  type LocalIdentity,
} from "./identities.js";
import { lambdaContext } from "./lambda-context.js";
import { createAgentSigningKey, startLocalAgent } from "./local-agent.js";
import { LOCAL_VAULT_ROUTE, type LocalVault, localVaultMaterial, openLocalVault } from "./local-vault.js";
import { PartitionRuns } from "./partition-runs.js";
import { type ScheduledRunner, startSchedule } from "./schedule.js";
import {
  type FunctionDefinition,
  loadServerlessDefinition,
  type ServerlessDefinition,
} from "./serverless-definition.js";
import { upgradeLocalTable } from "./upgrade-table.js";

export { LocalStackError, ServerlessDefinitionError } from "./errors.js";
export * from "./identities.js";
export { DEMO_MATERIAL_REFS } from "./local-vault.js";

export const PROJECT_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const LOCAL_STAGE = "local";
export const DEFAULT_LOCAL_PORTS = { api: 3000, kms: 4599, dynamodb: 4598, events: 4597 } as const;
export const DEFAULT_SWEEP_INTERVAL_MS = 15_000;
export const DEFAULT_DATA_DIR = ".local";

export type Handler = (event: unknown, context: Context) => Promise<unknown>;

export interface LocalStackOptions {
  /** Keep nothing on disk (the vault goes to a temporary directory removed on close). Default false. */
  memory?: boolean;
  /** Where state is persisted; default `.local` (ignored with `memory`). */
  dataDir?: string;
  /** dynalite and the KMS emulator each in a child process (see LocalAwsOptions.childProcesses). */
  childProcesses?: boolean;
  /** Events each local bus keeps for inspection (LocalAwsOptions.eventHistoryLimit). */
  eventHistoryLimit?: number;
  /** Interface every service listens on; default 127.0.0.1. */
  host?: string;
  /** Ports; each defaults to the fixed local port (API 3000, KMS 4599, DynamoDB 4598, events 4597); 0 = any. */
  ports?: { api?: number; kms?: number; dynamodb?: number; events?: number };
  /**
   * The Regions keys may live in (the functions' TETHER_REGIONS), the home Region first: the API, the
   * functions and the schedule run there. Default DEFAULT_LOCAL_REGIONS (eu-west-1, eu-central-1).
   */
  regions?: readonly string[];
  /** How often scheduled functions (the sweep) run locally; default 15 s; 0 = only through sweepNow(). */
  sweepIntervalMs?: number;
  /**
   * Per function (by name), its schedule's local interval instead of sweepIntervalMs (0 = only through
   * runSchedule): e.g. `{ probe: 60_000, sweep: 300_000 }` for the deployed rates.
   */
  scheduleIntervalsMs?: Readonly<Record<string, number>>;
  /** Called after each run a schedule or an event rule started (not API routes): which, and what it returned. */
  onInvocation?: (invocation: LocalInvocation) => void;
  /** Where to write the endpoints and local credentials for the CLI and scripts; not written when omitted. */
  endpointsFile?: string;
  /** The deployment definition; default serverless.yml at the project root. */
  serverlessFile?: string;
  /** One line per request, run and event; default silent. */
  log?: (line: string) => void;
  /**
   * `vault: agent` (docs/agent.md): the functions use the vault agent instead of the file vault. The stack
   * makes the deployment's signing key (RSA_2048 SIGN_VERIFY in the KMS emulator) and, unless `start` is
   * false, runs one agent in this process over HTTP, the local file vault its backend. Tests start their own
   * (LocalStack.agent has what they need).
   */
  agent?: { readonly start?: boolean; readonly pollMs?: number; readonly logFile?: string } | undefined;
  /**
   * serverless.yml params over the file's defaults (e.g. `{ kmsRates: "GetParametersForImport=100" }` for an
   * account whose KMS quotas were raised); the runner's own (principals, vault, regions) still win.
   */
  params?: Readonly<Record<string, string>>;
  /**
   * Dual control's rules (serverless.yml's `approvals`, TETHER_APPROVALS, README "Dual control"), e.g.
   * `{"revoke": 2}`; default none (a quorum of 1 for everything). LOCAL_ADMIN_2 is the second admin.
   */
  approvals?: string;
  /** Replaces a function's handler by name (tests: a stub while that function is being written). */
  handlers?: Readonly<Record<string, Handler>>;
}

/** One run of a function started by its schedule or one of its event rules. */
export interface LocalInvocation {
  readonly function: string;
  readonly trigger: "schedule" | "rule";
  readonly event: unknown;
  /** Wall-clock epoch ms: when the run started (after any wait for the function's concurrency) and ended. */
  readonly startedMs: number;
  readonly endedMs: number;
  readonly result?: unknown;
  readonly error?: unknown;
}

export interface LocalEndpoints {
  readonly api: string;
  readonly kms: string;
  readonly dynamodb: string;
  readonly events: string;
  /** The home Region: the API's signing Region, where the functions run. */
  readonly region: string;
  /** Every Region the stack serves (TETHER_REGIONS), the home Region first. */
  readonly regions: readonly string[];
}

export interface LocalStack {
  readonly apiUrl: string;
  readonly endpoints: LocalEndpoints;
  /** The home Region. */
  readonly region: string;
  readonly regions: readonly string[];
  readonly localAws: LocalAws;
  readonly definition: ServerlessDefinition;
  /** The table and audit bus names the functions use. */
  readonly tableName: string;
  readonly auditBusName: string;
  /**
   * Runs the sweep now (after any run under way) and returns its report; with the fan-out (serverless.yml
   * TETHER_SWEEP_FANOUT=events) after the partition runs it dispatched ended, their work added to it.
   */
  sweepNow(): Promise<SweepReport>;
  /** Runs a scheduled function (by name, e.g. `probe`) now, after any run of its schedule under way. */
  runSchedule(name: string): Promise<unknown>;
  /**
   * Stops scheduled runs until the returned function is called (sweepNow still works), once the run under
   * way has finished: lets a test watch an event-driven path without the sweep racing it.
   */
  pauseSchedules(): Promise<() => void>;
  /** With `agent`: the signing key's public key (PEM), the agent identity and the file vault it serves. */
  readonly agent?: LocalAgentSetup | undefined;
  /** Stops the schedule, the API and the local AWS; removes the endpoints file it wrote. */
  close(): Promise<void>;
}

/** The file `npm start` writes and the CLI and demo read. */
export interface EndpointsFile extends LocalEndpoints {
  readonly credentials: {
    readonly admin: { accessKeyId: string; secretAccessKey: string; principalArn: string };
    /** The second admin (LOCAL_ADMIN_2): approves what the first asks under dual control. */
    readonly admin2: { accessKeyId: string; secretAccessKey: string; principalArn: string };
    readonly reader: { accessKeyId: string; secretAccessKey: string; principalArn: string };
  };
}

let startedInThisProcess = false;

/** What a local vault agent needs to serve the stack (startLocalStack's `agent`). */
export interface LocalAgentSetup {
  readonly signingKeyArn: string;
  readonly publicKeyPem: string;
  readonly identity: LocalIdentity;
  readonly vault: LocalVault;
}

/**
 * Starts everything and attaches Tether's functions as serverless.yml describes them.
 * @throws LocalStackError when a stack already ran in this process or a function cannot be loaded;
 *   ServerlessDefinitionError for what serverless.yml holds that the runner cannot run; port errors
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  if (startedInThisProcess) {
    throw new LocalStackError(
      "a local stack already ran in this process: Tether's functions read their configuration once, at import",
    );
  }
  startedInThisProcess = true;
  const log = options.log ?? (() => {});
  const host = options.host ?? "127.0.0.1";
  const ports = { ...DEFAULT_LOCAL_PORTS, ...options.ports };
  const dataDir = options.memory ? undefined : resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const regions = checkRegions(options.regions ?? DEFAULT_LOCAL_REGIONS);
  const home = regions[0] as string;
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    const failures: unknown[] = [];
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        failures.push(error);
      }
    }
    cleanups.length = 0;
    if (failures.length > 0)
      throw new AggregateError(failures, "Some parts of the local stack failed to stop");
  };

  try {
    const localAws = await startLocalAws({
      host,
      ports: { kms: ports.kms, dynamodb: ports.dynamodb, events: ports.events },
      ...(dataDir === undefined ? {} : { dataDir }),
      accountId: LOCAL_ACCOUNT_ID,
      identities: LOCAL_CALLER_IDENTITIES,
      ...(options.childProcesses === true ? { childProcesses: true } : {}),
      ...(options.eventHistoryLimit === undefined ? {} : { eventHistoryLimit: options.eventHistoryLimit }),
      logger: log,
    });
    cleanups.push(() => localAws.close());
    const vault: LocalVault = await openLocalVault(dataDir);
    cleanups.push(() => vault.dispose());
    const agentKey =
      options.agent === undefined ? undefined : await createAgentSigningKey(localAws.endpoints.kms, home);

    const definition = await loadServerlessDefinition(
      options.serverlessFile ?? join(PROJECT_ROOT, "serverless.yml"),
      {
        stage: LOCAL_STAGE,
        region: home,
        accountId: LOCAL_ACCOUNT_ID,
        params: {
          ...options.params,
          adminPrincipals: LOCAL_ADMIN_PRINCIPALS,
          readerPrincipals: LOCAL_READER.principalArn,
          ...(options.approvals === undefined ? {} : { approvals: options.approvals }),
          vault: options.agent === undefined ? "file" : "agent",
          vaultSettings: vault.directory,
          regions: regions.join(","),
          ...(agentKey === undefined
            ? {}
            : { agentSigningKey: agentKey.signingKeyArn, agentPrincipals: LOCAL_AGENT.principalArn }),
        },
      },
    );
    const environment = functionEnvironment(definition, localAws, vault, home, options.agent === undefined);
    // Tether's event rules go on the home Region's bus, the forwarding rules on every other Region's.
    const stackRegions = regions;
    const ruleRegion = home;
    Object.assign(process.env, environment);
    for (const name of ["AWS_SESSION_TOKEN", "AWS_PROFILE"]) delete process.env[name];
    process.env.POWERTOOLS_LOG_LEVEL ??= "WARN";

    const dynamodb = new DynamoDBClient({
      endpoint: localAws.endpoints.dynamodb,
      region: home,
      credentials: LOCAL_SERVICE_CREDENTIALS,
    });
    try {
      const upgraded = await upgradeLocalTable(dynamodb, environment.TETHER_TABLE_NAME as string, dataDir);
      if (upgraded !== undefined) log(`upgrade: ${upgraded}`);
    } finally {
      dynamodb.destroy();
    }
    // Buses are per Region: the audit bus lives where the functions publish, the home Region.
    localAws.events.createEventBus(environment.TETHER_AUDIT_BUS_NAME as string, ruleRegion);
    localAws.events.putRule({
      name: "local-audit-log",
      region: ruleRegion,
      eventBusName: environment.TETHER_AUDIT_BUS_NAME as string,
      eventPattern: { source: ["tether"] },
      targets: [
        { id: "local-audit-log", kind: "function", invoke: async (event) => log(describeAudit(event)) },
      ],
    });

    // One clock for the whole local stack: the functions' "now" is the KMS emulator's (real time plus the
    // offset `/_admin/clock` moves), so a clock move makes material expire for KMS and for Tether alike.
    // Date.now() stays the base, so a test that fakes Date moves both too.
    await useFunctionsClock(() => new Date(Date.now() + localAws.kms.clockOffsetMs()));

    const handlers = new Map<string, Handler>();
    for (const fn of definition.functions) {
      handlers.set(fn.name, options.handlers?.[fn.name] ?? (await loadHandler(fn)));
    }
    // reservedConcurrency, as Lambda keeps it: a schedule's run and a rule's run of the same function share it.
    const gates = new Map(
      definition.functions
        .filter((fn) => fn.reservedConcurrency !== undefined && fn.reservedConcurrency > 0)
        .map((fn) => [fn.name, concurrencyGate(fn.reservedConcurrency as number)]),
    );
    const invoker = (fn: FunctionDefinition) => {
      const handler = handlers.get(fn.name) as Handler;
      const gate = gates.get(fn.name);
      return (event: unknown, context?: Context, onStart?: () => void) => {
        // The context is made when the run starts: its remaining time counts from then, not from the wait.
        const invoke = () => {
          onStart?.();
          return handler(event, context ?? lambdaContext(fn, home, LOCAL_ACCOUNT_ID));
        };
        return gate === undefined ? invoke() : gate.run(invoke);
      };
    };
    const observed = (fn: FunctionDefinition, trigger: LocalInvocation["trigger"]) => {
      const invoke = invoker(fn);
      return async (event: unknown): Promise<unknown> => {
        let startedMs = Date.now();
        const seen = (outcome: { result: unknown } | { error: unknown }) =>
          options.onInvocation?.({
            function: fn.name,
            trigger,
            event,
            startedMs,
            endedMs: Date.now(),
            ...outcome,
          });
        try {
          const result = await invoke(event, undefined, () => {
            startedMs = Date.now();
          });
          seen({ result });
          return result;
        } catch (error) {
          seen({ error });
          throw error;
        }
      };
    };
    // Buses of the stack's own resources that rules may name by logical id (infra/events.yml).
    const stackBuses: Record<string, string> = { AuditBus: environment.TETHER_AUDIT_BUS_NAME as string };

    const targets: RouteTarget[] = definition.functions.flatMap((fn) =>
      fn.routes.map((route) => ({
        route,
        invoke: invoker(fn),
        context: () => lambdaContext(fn, home, LOCAL_ACCOUNT_ID),
      })),
    );
    // Local only: new material in the local vault, as a customer puts it in theirs before an adoption.
    const vaultFunction = definition.functions[0];
    if (vaultFunction !== undefined) {
      targets.push({
        route: LOCAL_VAULT_ROUTE,
        invoke: localVaultMaterial(vault.vault, LOCAL_ADMIN_PRINCIPALS.split(",")),
        context: () => lambdaContext(vaultFunction, home, LOCAL_ACCOUNT_ID),
      });
    }
    const api: HttpApi = await startHttpApi({
      host,
      port: ports.api,
      region: home,
      accountId: LOCAL_ACCOUNT_ID,
      identities: LOCAL_IDENTITIES,
      targets,
      log,
    });
    cleanups.push(() => api.close());

    // The sweep's fan-out: sweepNow() waits for the partition runs its sweep dispatched (partition-runs.ts).
    const partitionRuns = new PartitionRuns();
    for (const fn of definition.functions) {
      fn.eventRules.forEach((rule, index) => {
        const eventBus =
          rule.eventBusResource === undefined ? rule.eventBus : stackBuses[rule.eventBusResource];
        if (eventBus === undefined) {
          throw new LocalStackError(
            `functions.${fn.name}: its rule's bus ${rule.eventBusResource} is no bus the local runner creates`,
          );
        }
        if (eventBus !== "default") localAws.events.createEventBus(eventBus, ruleRegion);
        const name = `${fn.deployedName}-rule-${index + 1}`;
        const invoke = observed(fn, "rule");
        localAws.events.putRule({
          name,
          region: ruleRegion,
          eventBusName: eventBus,
          eventPattern: rule.pattern,
          targets: [
            {
              id: fn.deployedName,
              kind: "function",
              // Lambda's retries of an asynchronous event, as serverless.yml sets them for the function.
              retryAttempts: fn.asyncRetryAttempts,
              invoke: async (event) => {
                const partitionRun = event["detail-type"] === SWEEP_PARTITION_DUE_DETAIL_TYPE;
                try {
                  const outcome = await invoke(event);
                  if (partitionRun) partitionRuns.ended(event.id, { result: outcome });
                  log(`${fn.name}: ${event["detail-type"]} → ${describeOutcome(outcome)}`);
                  return outcome;
                } catch (error) {
                  if (partitionRun) partitionRuns.ended(event.id, { error });
                  throw error;
                }
              },
            },
          ],
        });
        cleanups.push(async () => {
          localAws.events.removeRule(name, eventBus, ruleRegion);
        });
      });
    }

    // Tether's rules exist only in the home Region; the other Regions' KMS events reach them through the
    // forwarding rules of infra/forwarding.yml, as in AWS.
    const forwarded = applyForwardingRules(
      localAws.events,
      await loadForwardingRules(join(PROJECT_ROOT, "infra", "forwarding.yml")),
      { homeRegion: ruleRegion, regions: stackRegions, accountId: LOCAL_ACCOUNT_ID },
    );
    if (forwarded.length > 0) log(`forwarding rules: ${forwarded.join(", ")}`);

    const intervalMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    const schedules: Array<{ fn: FunctionDefinition; runner: ScheduledRunner<unknown> }> = [];
    for (const fn of definition.functions) {
      fn.schedules.forEach((schedule, index) => {
        if (!schedule.enabled) return;
        const invoke = observed(fn, "schedule");
        const runner = startSchedule<unknown>({
          intervalMs: options.scheduleIntervalsMs?.[fn.name] ?? intervalMs,
          ruleArn: `arn:aws:events:${home}:${LOCAL_ACCOUNT_ID}:rule/${fn.deployedName}-schedule-${index + 1}`,
          region: home,
          accountId: LOCAL_ACCOUNT_ID,
          invoke: (event) => invoke(event),
          log,
          describe: (result) => `${fn.name}: ${describeOutcome(result)}`,
        });
        schedules.push({ fn, runner });
        cleanups.push(() => runner.close());
      });
    }
    const sweep = schedules.find((s) => s.fn.name === "sweep");

    const agent: LocalAgentSetup | undefined =
      agentKey === undefined ? undefined : { ...agentKey, identity: LOCAL_AGENT, vault };
    if (agent !== undefined && options.agent?.start !== false) {
      const stop = await startLocalAgent(agent, {
        apiUrl: api.url,
        region: home,
        regions,
        logFile: options.agent?.logFile ?? join(dataDir ?? vault.directory, "agent", "agent.log"),
        pollMs: options.agent?.pollMs ?? 250,
        deployment: environment.TETHER_DEPLOYMENT as string,
        clock: () => new Date(Date.now() + localAws.kms.clockOffsetMs()),
        report: log,
      });
      cleanups.push(stop);
    }
    const endpoints: LocalEndpoints = { api: api.url, ...localAws.endpoints, region: home, regions };
    if (options.endpointsFile !== undefined) {
      const file = resolve(options.endpointsFile);
      const content = `${JSON.stringify(endpointsFileContent(endpoints), null, 2)}\n`;
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      await writeFile(file, content, { mode: 0o600 });
      cleanups.push(async () => {
        // Only our own file: another stack may have started since and written its endpoints.
        if (existsSync(file) && (await readFile(file, "utf8")) === content) await rm(file, { force: true });
      });
    }

    return {
      apiUrl: api.url,
      endpoints,
      region: home,
      regions,
      localAws,
      definition,
      tableName: environment.TETHER_TABLE_NAME as string,
      auditBusName: environment.TETHER_AUDIT_BUS_NAME as string,
      agent,
      sweepNow: async () => {
        if (sweep === undefined)
          throw new LocalStackError("serverless.yml schedules no function named sweep");
        // With the fan-out (serverless.yml TETHER_SWEEP_FANOUT=events) its work is the partition runs'.
        return partitionRuns.settle((await sweep.runner.runNow()) as SweepReport);
      },
      runSchedule: async (name: string) => {
        const found = schedules.find((s) => s.fn.name === name);
        if (found === undefined)
          throw new LocalStackError(`serverless.yml schedules no function named ${name}`);
        return found.runner.runNow();
      },
      pauseSchedules: async () => {
        await Promise.all(schedules.map(({ runner }) => runner.pause()));
        return () => {
          for (const { runner } of schedules) runner.resume();
        };
      },
      close: async () => {
        for (const { runner } of schedules) await runner.close();
        await localAws.events.drain();
        await closeAll();
      },
    };
  } catch (error) {
    await closeAll().catch(() => {
      // The start failure is the error worth reporting.
    });
    throw error;
  }
}

/** AWS Region names as KMS spells them (eu-west-1, us-gov-west-1, ap-southeast-4). */
const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/**
 * The local stack's Regions, checked: at least one, each a Region name, none twice.
 * @throws LocalStackError naming the Region that is not valid
 */
export function checkRegions(regions: readonly string[]): readonly string[] {
  if (regions.length === 0) throw new LocalStackError("regions: name at least one Region (the home Region)");
  const seen = new Set<string>();
  for (const region of regions) {
    if (!REGION_NAME.test(region)) {
      throw new LocalStackError(`regions: "${region}" is not a Region name (like eu-west-1)`);
    }
    if (seen.has(region)) throw new LocalStackError(`regions: ${region} is named twice`);
    seen.add(region);
  }
  return [...regions];
}

/** What `.local/endpoints.json` holds (ISSUE4.md). */
export function endpointsFileContent(endpoints: LocalEndpoints): EndpointsFile {
  const credentials = (identity: typeof LOCAL_ADMIN) => ({
    accessKeyId: identity.accessKeyId,
    secretAccessKey: identity.secretAccessKey,
    principalArn: identity.principalArn,
  });
  return {
    ...endpoints,
    credentials: {
      admin: credentials(LOCAL_ADMIN),
      admin2: credentials(LOCAL_ADMIN_2),
      reader: credentials(LOCAL_READER),
    },
  };
}

/**
 * The functions' environment: serverless.yml's (merged over every function, since they share this
 * process), plus the endpoints, region, vault passphrase and static credentials of the local AWS.
 * @throws LocalStackError when two functions give one variable different values
 */
function functionEnvironment(
  definition: ServerlessDefinition,
  localAws: LocalAws,
  vault: LocalVault,
  home: string,
  withFileVault = true,
): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const fn of definition.functions) {
    for (const [name, value] of Object.entries(fn.environment)) {
      if (merged[name] !== undefined && merged[name] !== value) {
        throw new LocalStackError(
          `functions set ${name} to different values; the local runner runs them in one process`,
        );
      }
      merged[name] = value;
    }
  }
  // A Lambda runtime flag, meaningless for a process that is already running.
  delete merged.NODE_OPTIONS;
  return {
    ...merged,
    AWS_REGION: home,
    AWS_DEFAULT_REGION: home,
    AWS_ACCESS_KEY_ID: LOCAL_SERVICE_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_SERVICE_CREDENTIALS.secretAccessKey,
    TETHER_KMS_ENDPOINT: localAws.endpoints.kms,
    TETHER_DYNAMODB_ENDPOINT: localAws.endpoints.dynamodb,
    TETHER_EVENTS_ENDPOINT: localAws.endpoints.events,
    // The KMS emulator serves CloudTrail's LookupEvents on its own port (routed by X-Amz-Target).
    TETHER_CLOUDTRAIL_ENDPOINT: localAws.endpoints.kms,
    // ... and STS (AssumeRole for member accounts' roles).
    TETHER_STS_ENDPOINT: localAws.endpoints.kms,
    // With the vault agent the functions get no way into the file vault: only the agent holds it.
    ...(withFileVault
      ? { TETHER_FILE_VAULT_DIR: vault.directory, TETHER_FILE_VAULT_PASSPHRASE: vault.passphrase }
      : {}),
  };
}

/**
 * Hands the functions a clock through their composition root (functions/singletons.ts), the module instance
 * their handlers import.
 * @throws LocalStackError when functions/singletons.ts has no useClock
 */
async function useFunctionsClock(clock: () => Date): Promise<void> {
  const file = join(PROJECT_ROOT, "functions/singletons.ts");
  const module = (await import(pathToFileURL(file).href)) as { useClock?: (clock: () => Date) => void };
  if (typeof module.useClock !== "function") {
    throw new LocalStackError(
      "functions/singletons.ts exports no useClock: the functions cannot follow the emulator's clock",
    );
  }
  module.useClock(clock);
}

/**
 * Imports a function's module (`functions/x.ts`) and returns its handler.
 * @throws LocalStackError when the module or the export is missing
 */
async function loadHandler(fn: FunctionDefinition): Promise<Handler> {
  const file = join(PROJECT_ROOT, `${fn.module}.ts`);
  if (!existsSync(file)) {
    throw new LocalStackError(
      `serverless.yml names ${fn.module}.${fn.exportName}, but ${fn.module}.ts does not exist`,
    );
  }
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const handler = module[fn.exportName];
  if (typeof handler !== "function") {
    throw new LocalStackError(`${fn.module}.ts exports no function named ${fn.exportName}`);
  }
  return handler as Handler;
}

function describeOutcome(outcome: unknown): string {
  if (outcome === null || typeof outcome !== "object") return String(outcome);
  const o = outcome as Record<string, unknown>;
  if (typeof o.due === "number") {
    const outcomes = Object.entries((o.outcomes as Record<string, number>) ?? {})
      .map(([kind, count]) => `${kind}=${count}`)
      .join(" ");
    return `due ${o.due}, processed ${o.processed}${outcomes ? ` (${outcomes})` : ""}`;
  }
  const inner = o.outcome as Record<string, unknown> | undefined;
  return [o.kind, inner?.kind].filter((part) => typeof part === "string").join(" → ");
}

function describeAudit(event: { "detail-type": string; detail: unknown }): string {
  const d = (event.detail ?? {}) as Record<string, unknown>;
  const parts = [d.keyId, d.region, d.actor === undefined ? undefined : `by ${d.actor}`];
  return `audit: ${event["detail-type"]} ${parts.filter((p) => typeof p === "string").join(" ")}`;
}
