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
import type { SweepReport } from "../../../lib/lifecycle/sweep.js";
import { ensureTable } from "../../../lib/store/ensure-table.js";
import { type LocalAws, startLocalAws } from "../index.js";
import { LocalStackError } from "./errors.js";
import { applyForwardingRules, loadForwardingRules } from "./forwarding.js";
import { type HttpApi, type RouteTarget, startHttpApi } from "./http-api.js";
import {
  LOCAL_ACCOUNT_ID,
  LOCAL_ADMIN,
  LOCAL_CALLER_IDENTITIES,
  LOCAL_IDENTITIES,
  LOCAL_READER,
  LOCAL_REGION,
  LOCAL_SERVICE_CREDENTIALS,
} from "./identities.js";
import { lambdaContext } from "./lambda-context.js";
import { type LocalVault, openLocalVault } from "./local-vault.js";
import { type ScheduledRunner, startSchedule } from "./schedule.js";
import {
  type FunctionDefinition,
  loadServerlessDefinition,
  type ServerlessDefinition,
} from "./serverless-definition.js";

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
  /** Interface every service listens on; default 127.0.0.1. */
  host?: string;
  /** Ports; each defaults to the fixed local port (API 3000, KMS 4599, DynamoDB 4598, events 4597); 0 = any. */
  ports?: { api?: number; kms?: number; dynamodb?: number; events?: number };
  /** How often scheduled functions (the sweep) run locally; default 15 s; 0 = only through sweepNow(). */
  sweepIntervalMs?: number;
  /** Where to write the endpoints and local credentials for the CLI and scripts; not written when omitted. */
  endpointsFile?: string;
  /** The deployment definition; default serverless.yml at the project root. */
  serverlessFile?: string;
  /** One line per request, run and event; default silent. */
  log?: (line: string) => void;
  /** Replaces a function's handler by name (tests: a stub while that function is being written). */
  handlers?: Readonly<Record<string, Handler>>;
}

export interface LocalEndpoints {
  readonly api: string;
  readonly kms: string;
  readonly dynamodb: string;
  readonly events: string;
  readonly region: string;
}

export interface LocalStack {
  readonly apiUrl: string;
  readonly endpoints: LocalEndpoints;
  readonly region: string;
  readonly localAws: LocalAws;
  readonly definition: ServerlessDefinition;
  /** The table and audit bus names the functions use. */
  readonly tableName: string;
  readonly auditBusName: string;
  /** Runs the sweep now (after any run under way) and returns its report. */
  sweepNow(): Promise<SweepReport>;
  /** Stops the schedule, the API and the local AWS; removes the endpoints file it wrote. */
  close(): Promise<void>;
}

/** The file `npm start` writes and the CLI and demo read. */
export interface EndpointsFile extends LocalEndpoints {
  readonly credentials: {
    readonly admin: { accessKeyId: string; secretAccessKey: string; principalArn: string };
    readonly reader: { accessKeyId: string; secretAccessKey: string; principalArn: string };
  };
}

let startedInThisProcess = false;

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
      logger: log,
    });
    cleanups.push(() => localAws.close());
    const vault: LocalVault = await openLocalVault(dataDir);
    cleanups.push(() => vault.dispose());

    const definition = await loadServerlessDefinition(
      options.serverlessFile ?? join(PROJECT_ROOT, "serverless.yml"),
      {
        stage: LOCAL_STAGE,
        region: LOCAL_REGION,
        accountId: LOCAL_ACCOUNT_ID,
        params: {
          adminPrincipals: LOCAL_ADMIN.principalArn,
          readerPrincipals: LOCAL_READER.principalArn,
          vault: "file",
          vaultSettings: vault.directory,
        },
      },
    );
    const environment = functionEnvironment(definition, localAws, vault);
    Object.assign(process.env, environment);
    for (const name of ["AWS_SESSION_TOKEN", "AWS_PROFILE"]) delete process.env[name];
    process.env.POWERTOOLS_LOG_LEVEL ??= "WARN";

    const dynamodb = new DynamoDBClient({
      endpoint: localAws.endpoints.dynamodb,
      region: LOCAL_REGION,
      credentials: LOCAL_SERVICE_CREDENTIALS,
    });
    try {
      await ensureTable(dynamodb, environment.TETHER_TABLE_NAME as string);
    } finally {
      dynamodb.destroy();
    }
    localAws.events.createEventBus(environment.TETHER_AUDIT_BUS_NAME as string);
    localAws.events.putRule({
      name: "local-audit-log",
      eventBusName: environment.TETHER_AUDIT_BUS_NAME as string,
      eventPattern: { source: ["tether"] },
      targets: [
        { id: "local-audit-log", kind: "function", invoke: async (event) => log(describeAudit(event)) },
      ],
    });

    const handlers = new Map<string, Handler>();
    for (const fn of definition.functions) {
      handlers.set(fn.name, options.handlers?.[fn.name] ?? (await loadHandler(fn)));
    }
    const invoker = (fn: FunctionDefinition) => {
      const handler = handlers.get(fn.name) as Handler;
      return (event: unknown, context?: Context) =>
        handler(event, context ?? lambdaContext(fn, LOCAL_REGION, LOCAL_ACCOUNT_ID));
    };

    const targets: RouteTarget[] = definition.functions.flatMap((fn) =>
      fn.routes.map((route) => ({
        route,
        invoke: invoker(fn),
        context: () => lambdaContext(fn, LOCAL_REGION, LOCAL_ACCOUNT_ID),
      })),
    );
    const api: HttpApi = await startHttpApi({
      host,
      port: ports.api,
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT_ID,
      identities: LOCAL_IDENTITIES,
      targets,
      log,
    });
    cleanups.push(() => api.close());

    for (const fn of definition.functions) {
      fn.eventRules.forEach((rule, index) => {
        if (rule.eventBus !== "default") localAws.events.createEventBus(rule.eventBus, LOCAL_REGION);
        const name = `${fn.deployedName}-rule-${index + 1}`;
        localAws.events.putRule({
          name,
          region: LOCAL_REGION,
          eventBusName: rule.eventBus,
          eventPattern: rule.pattern,
          targets: [
            {
              id: fn.deployedName,
              kind: "function",
              invoke: async (event) => {
                const outcome = await invoker(fn)(event);
                log(`${fn.name}: ${event["detail-type"]} → ${describeOutcome(outcome)}`);
                return outcome;
              },
            },
          ],
        });
        cleanups.push(async () => {
          localAws.events.removeRule(name, rule.eventBus, LOCAL_REGION);
        });
      });
    }

    // Tether's rules exist only in the home Region; the other Regions' KMS events reach them through the
    // forwarding rules of infra/forwarding.yml, as in AWS. (One Region here until the stack serves more.)
    const forwarded = applyForwardingRules(
      localAws.events,
      await loadForwardingRules(join(PROJECT_ROOT, "infra", "forwarding.yml")),
      { homeRegion: LOCAL_REGION, regions: [LOCAL_REGION], accountId: LOCAL_ACCOUNT_ID },
    );
    if (forwarded.length > 0) log(`forwarding rules: ${forwarded.join(", ")}`);

    const intervalMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    const schedules: Array<{ fn: FunctionDefinition; runner: ScheduledRunner<unknown> }> = [];
    for (const fn of definition.functions) {
      fn.schedules.forEach((schedule, index) => {
        if (!schedule.enabled) return;
        const runner = startSchedule<unknown>({
          intervalMs,
          ruleArn: `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:rule/${fn.deployedName}-schedule-${index + 1}`,
          region: LOCAL_REGION,
          accountId: LOCAL_ACCOUNT_ID,
          invoke: (event) => invoker(fn)(event),
          log,
          describe: (result) => `${fn.name}: ${describeOutcome(result)}`,
        });
        schedules.push({ fn, runner });
        cleanups.push(() => runner.close());
      });
    }
    const sweep = schedules.find((s) => s.fn.name === "sweep");

    const endpoints: LocalEndpoints = { api: api.url, ...localAws.endpoints, region: LOCAL_REGION };
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
      region: LOCAL_REGION,
      localAws,
      definition,
      tableName: environment.TETHER_TABLE_NAME as string,
      auditBusName: environment.TETHER_AUDIT_BUS_NAME as string,
      sweepNow: async () => {
        if (sweep === undefined)
          throw new LocalStackError("serverless.yml schedules no function named sweep");
        return (await sweep.runner.runNow()) as SweepReport;
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

/** What `.local/endpoints.json` holds (ISSUE4.md). */
export function endpointsFileContent(endpoints: LocalEndpoints): EndpointsFile {
  const credentials = (identity: typeof LOCAL_ADMIN) => ({
    accessKeyId: identity.accessKeyId,
    secretAccessKey: identity.secretAccessKey,
    principalArn: identity.principalArn,
  });
  return {
    ...endpoints,
    credentials: { admin: credentials(LOCAL_ADMIN), reader: credentials(LOCAL_READER) },
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
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_SERVICE_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_SERVICE_CREDENTIALS.secretAccessKey,
    TETHER_KMS_ENDPOINT: localAws.endpoints.kms,
    TETHER_DYNAMODB_ENDPOINT: localAws.endpoints.dynamodb,
    TETHER_EVENTS_ENDPOINT: localAws.endpoints.events,
    // The KMS emulator serves CloudTrail's LookupEvents on its own port (routed by X-Amz-Target).
    TETHER_CLOUDTRAIL_ENDPOINT: localAws.endpoints.kms,
    TETHER_FILE_VAULT_DIR: vault.directory,
    TETHER_FILE_VAULT_PASSPHRASE: vault.passphrase,
  };
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
