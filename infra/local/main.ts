/**
 * `npm start`: the whole system on a laptop — the local AWS, Tether's table, audit bus and a seeded file
 * vault, and Tether's functions behind the routes, schedule and event rules of serverless.yml
 * (infra/local/runner). State persists under `.local/` (or nothing is kept with `--memory`); the endpoints
 * and local credentials are written to `.local/endpoints.json` for the CLI and scripts.
 *
 * Flags: --host, --api-port, --kms-port, --dynamodb-port, --events-port, --sweep-interval <seconds>,
 * --regions <home,replica,...>, --data-dir <dir>, --memory, --agent, --help. Environment: TETHER_LOCAL_HOST,
 * TETHER_LOCAL_API_PORT, TETHER_LOCAL_KMS_PORT, TETHER_LOCAL_DYNAMODB_PORT, TETHER_LOCAL_EVENTS_PORT,
 * TETHER_LOCAL_SWEEP_INTERVAL_SECONDS, TETHER_LOCAL_REGIONS, TETHER_LOCAL_DATA_DIR, TETHER_LOCAL_AGENT, and
 * TETHER_LOCAL_APPROVALS (dual control's rules, serverless.yml's `approvals`: README "Dual control"). Flags win over the
 * environment. The endpoints file is `<data dir>/endpoints.json` (with --memory too: nothing else is
 * written there), where the CLI finds it through the same TETHER_LOCAL_DATA_DIR.
 */
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULT_CONSOLE_PORT } from "../../lib/cli/commands/console.js";
import { parseApprovalRules } from "../../lib/domain/approvals.js";
import {
  checkRegions,
  DEFAULT_LOCAL_PORTS,
  DEFAULT_LOCAL_REGIONS,
  DEFAULT_SWEEP_INTERVAL_MS,
  DEMO_MATERIAL_REFS,
  LOCAL_ADMIN,
  LOCAL_ADMIN_2,
  LOCAL_READER,
  type LocalStack,
  LocalStackError,
  startLocalStack,
} from "./runner/index.js";

export const DEFAULT_PORTS = DEFAULT_LOCAL_PORTS;
const DEFAULT_DATA_DIR = ".local";
/** The file in the data directory where the CLI and scripts look for the running stack. */
export const ENDPOINTS_FILE_NAME = "endpoints.json";
/** Where it is by default (ISSUE4.md). */
export const ENDPOINTS_FILE = `${DEFAULT_DATA_DIR}/${ENDPOINTS_FILE_NAME}`;

export interface MainConfig {
  readonly host: string;
  readonly ports: {
    readonly api: number;
    readonly kms: number;
    readonly dynamodb: number;
    readonly events: number;
  };
  readonly sweepIntervalMs: number;
  /** The Regions served, the home Region first. */
  readonly regions: readonly string[];
  /** undefined = in memory. */
  readonly dataDir: string | undefined;
  /** `<data dir>/endpoints.json`, also with --memory (the data directory then holds only this file). */
  readonly endpointsFile: string;
  /** `--agent`: the functions use the vault agent (docs/agent.md), served by an agent in this process. */
  readonly agent: boolean;
  /** Dual control's rules (TETHER_LOCAL_APPROVALS → TETHER_APPROVALS); undefined = none. */
  readonly approvals?: string;
}

export class LocalConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LocalConfigError";
  }
}

/**
 * Reads flags and environment into a configuration.
 *
 * @throws LocalConfigError naming the flag or variable that is not valid
 */
export function readConfig(argv: readonly string[], env: NodeJS.ProcessEnv): MainConfig | "help" {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv);
  } catch (error) {
    throw new LocalConfigError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  const { values } = parsed;
  if (values.help) return "help";
  const port = (
    flag: "api-port" | "kms-port" | "dynamodb-port" | "events-port",
    variable: string,
    fallback: number,
  ): number => {
    const text = values[flag] ?? env[variable];
    if (text === undefined || text === "") return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0 || value > 65_535) {
      const source = values[flag] === undefined ? variable : `--${flag}`;
      throw new LocalConfigError(`${source} must be a port number (0-65535), got "${text}"`);
    }
    return value;
  };
  const intervalText = values["sweep-interval"] ?? env.TETHER_LOCAL_SWEEP_INTERVAL_SECONDS;
  const interval = intervalText === undefined || intervalText === "" ? undefined : Number(intervalText);
  if (interval !== undefined && !(Number.isFinite(interval) && interval >= 0)) {
    const source =
      values["sweep-interval"] === undefined ? "TETHER_LOCAL_SWEEP_INTERVAL_SECONDS" : "--sweep-interval";
    throw new LocalConfigError(`${source} must be a number of seconds (0 = never), got "${intervalText}"`);
  }
  const regionsText = values.regions ?? env.TETHER_LOCAL_REGIONS;
  let regions = DEFAULT_LOCAL_REGIONS;
  if (regionsText !== undefined && regionsText !== "") {
    try {
      regions = checkRegions(regionsText.split(",").map((region) => region.trim()));
    } catch (error) {
      const source = values.regions === undefined ? "TETHER_LOCAL_REGIONS" : "--regions";
      throw new LocalConfigError(
        `${source}: ${error instanceof LocalStackError ? error.message.replace(/^regions: /, "") : String(error)}`,
      );
    }
  }
  const dataDir = resolve(values["data-dir"] ?? env.TETHER_LOCAL_DATA_DIR ?? DEFAULT_DATA_DIR);
  const approvals = env.TETHER_LOCAL_APPROVALS;
  try {
    parseApprovalRules(approvals); // refused here, not at the first request
  } catch (error) {
    throw new LocalConfigError(
      `TETHER_LOCAL_APPROVALS: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return {
    ...(approvals === undefined || approvals === "" ? {} : { approvals }),
    host: values.host ?? env.TETHER_LOCAL_HOST ?? "127.0.0.1",
    regions,
    sweepIntervalMs: interval === undefined ? DEFAULT_SWEEP_INTERVAL_MS : Math.round(interval * 1000),
    ports: {
      api: port("api-port", "TETHER_LOCAL_API_PORT", DEFAULT_PORTS.api),
      kms: port("kms-port", "TETHER_LOCAL_KMS_PORT", DEFAULT_PORTS.kms),
      dynamodb: port("dynamodb-port", "TETHER_LOCAL_DYNAMODB_PORT", DEFAULT_PORTS.dynamodb),
      events: port("events-port", "TETHER_LOCAL_EVENTS_PORT", DEFAULT_PORTS.events),
    },
    dataDir: values.memory ? undefined : dataDir,
    endpointsFile: resolve(env.TETHER_LOCAL_ENDPOINTS_FILE ?? join(dataDir, ENDPOINTS_FILE_NAME)),
    agent: values.agent === true || env.TETHER_LOCAL_AGENT === "1" || env.TETHER_LOCAL_AGENT === "true",
  };
}

function parseFlags(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    options: {
      host: { type: "string" },
      "api-port": { type: "string" },
      "sweep-interval": { type: "string" },
      "kms-port": { type: "string" },
      "dynamodb-port": { type: "string" },
      "events-port": { type: "string" },
      regions: { type: "string" },
      "data-dir": { type: "string" },
      memory: { type: "boolean", default: false },
      agent: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
}

/** The friendly text printed once everything listens. Never the vault passphrase. */
export function describeLocalStack(stack: LocalStack, config: MainConfig): string {
  const { api, kms, dynamodb, events } = stack.endpoints;
  const rows: Array<[string, string, string]> = [
    ["Tether API", api, "admin API (SigV4, service execute-api); GET /health and /openapi.json open"],
    ["KMS", kms, "KMS emulator (admin: /_admin/...)"],
    ["DynamoDB", dynamodb, `dynalite, table ${stack.tableName}`],
    ["EventBridge", events, `default bus + ${stack.auditBusName}; /_local/events`],
  ];
  const width = Math.max(...rows.map(([, url]) => url.length));
  const sweep = config.sweepIntervalMs > 0 ? `every ${config.sweepIntervalMs / 1000}s` : "only on demand";
  return [
    "",
    `Tether is running locally — data ${config.dataDir ? `persisted in ${config.dataDir}` : "in memory (--memory)"}`,
    "",
    ...rows.map(([name, url, what]) => `  ${name.padEnd(12)} ${url.padEnd(width)}  ${what}`),
    "",
    `Functions from serverless.yml: ${stack.definition.functions.map((f) => f.name).join(", ")}; sweep ${sweep};`,
    "KMS events reach kms-events through the bus rules of serverless.yml.",
    `Dual control: ${config.approvals === undefined ? "off (one admin does everything; TETHER_LOCAL_APPROVALS='{\"revoke\":2}' turns it on)" : `TETHER_LOCAL_APPROVALS=${config.approvals}`}.`,
    `Regions: ${stack.regions.join(", ")} (home ${stack.region}; choose with --regions or TETHER_LOCAL_REGIONS).`,
    config.agent
      ? `Vault: the vault agent (--agent): the functions hold no material; an agent in this process polls ${api} and wraps with the file vault (demo material ${DEMO_MATERIAL_REFS.join(", ")}). tether agent status shows it.`
      : `Vault: file vault with demo material ${DEMO_MATERIAL_REFS.join(", ")} (passphrase kept in the data directory).`,
    "",
    `Local credentials (region ${stack.region}), also in ${config.endpointsFile}:`,
    `  admin   AWS_ACCESS_KEY_ID=${LOCAL_ADMIN.accessKeyId} AWS_SECRET_ACCESS_KEY=${LOCAL_ADMIN.secretAccessKey}`,
    `  admin2  AWS_ACCESS_KEY_ID=${LOCAL_ADMIN_2.accessKeyId} AWS_SECRET_ACCESS_KEY=${LOCAL_ADMIN_2.secretAccessKey}   # a second admin: approves under dual control`,
    `  reader  AWS_ACCESS_KEY_ID=${LOCAL_READER.accessKeyId} AWS_SECRET_ACCESS_KEY=${LOCAL_READER.secretAccessKey}`,
    "",
    "Try (in another terminal):",
    "  npm run demo                      # the whole story: expiry, regional loss, revoke, restore",
    `  export AWS_ACCESS_KEY_ID=${LOCAL_ADMIN.accessKeyId} AWS_SECRET_ACCESS_KEY=${LOCAL_ADMIN.secretAccessKey} AWS_REGION=${stack.region}`,
    ...(config.endpointsFile === resolve(ENDPOINTS_FILE)
      ? []
      : [
          `  export TETHER_LOCAL_DATA_DIR=${dirname(config.endpointsFile)}   # where the CLI finds the endpoints`,
        ]),
    "  npx tether keys list",
    `  npx tether console                # the web console: prints http://127.0.0.1:${DEFAULT_CONSOLE_PORT}/?token=... to open`,
    // Material the vault already holds needs its --check-value; new material under a new reference does not.
    "  npx tether keys register --key-spec SYMMETRIC_DEFAULT --material-ref my/first --generate   (--help for more)",
    "Or without the CLI, with curl's own SigV4 signing:",
    `  curl --aws-sigv4 "aws:amz:${stack.region}:execute-api" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" ${api}/keys`,
    "",
    `Requests, sweeps and KMS events are logged below. Ctrl-C stops everything${config.dataDir ? "; the state is kept" : ""}.`,
    "",
  ].join("\n");
}

/** Runs until SIGINT/SIGTERM. */
export async function main(
  argv: readonly string[] = process.argv.slice(2),
  env = process.env,
): Promise<void> {
  const config = readConfig(argv, env);
  if (config === "help") {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const log = (line: string): void => {
    // Every successful KMS call would drown what matters (the demo polls DescribeKey); failures stay.
    if (/^kms \S+ \S+ 200 /.test(line)) return;
    // The vault agent polls several times a second (--agent); only its failures are worth a line.
    if (/^api GET \/agent\/requests 200 /.test(line)) return;
    process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  };
  const stack = await startLocalStack({
    host: config.host,
    ports: config.ports,
    sweepIntervalMs: config.sweepIntervalMs,
    regions: config.regions,
    ...(config.dataDir === undefined ? { memory: true } : { dataDir: config.dataDir }),
    endpointsFile: config.endpointsFile,
    ...(config.agent ? { agent: {} } : {}),
    ...(config.approvals === undefined ? {} : { approvals: config.approvals }),
    log,
  });
  process.stdout.write(describeLocalStack(stack, config));

  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    try {
      await stack.close();
      log("stopped");
      // Everything is closed; a stray timer in a service must not keep the terminal waiting.
      setTimeout(() => process.exit(), 1_000).unref();
    } catch (error) {
      log(`stopping failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  };
  process.once("SIGINT", (signal) => void stop(signal));
  process.once("SIGTERM", (signal) => void stop(signal));
}

const HELP = `Usage: npm start -- [options]

  --host <addr>            interface to listen on (TETHER_LOCAL_HOST, default 127.0.0.1)
  --api-port <n>           Tether API port (TETHER_LOCAL_API_PORT, default ${DEFAULT_PORTS.api})
  --kms-port <n>           KMS emulator port (TETHER_LOCAL_KMS_PORT, default ${DEFAULT_PORTS.kms})
  --dynamodb-port <n>      DynamoDB port (TETHER_LOCAL_DYNAMODB_PORT, default ${DEFAULT_PORTS.dynamodb})
  --events-port <n>        EventBridge port (TETHER_LOCAL_EVENTS_PORT, default ${DEFAULT_PORTS.events})
  --sweep-interval <s>     seconds between sweeps, 0 = never (TETHER_LOCAL_SWEEP_INTERVAL_SECONDS, default ${DEFAULT_SWEEP_INTERVAL_MS / 1000})
  --regions <r1,r2,...>    Regions keys may live in, the home Region first (TETHER_LOCAL_REGIONS,
                           default ${DEFAULT_LOCAL_REGIONS.join(",")})
  --data-dir <dir>         where state and endpoints.json are kept (TETHER_LOCAL_DATA_DIR, default ${DEFAULT_DATA_DIR}/);
                           the CLI finds endpoints.json through the same TETHER_LOCAL_DATA_DIR
  --memory                 keep no state on disk (endpoints.json is still written to the data directory)
  --agent                  the vault agent in place of the file vault: the functions hold no material, an
                           agent in this process serves them over the API (TETHER_LOCAL_AGENT=1; docs/agent.md)
  -h, --help               this text
Dual control: TETHER_LOCAL_APPROVALS='{"revoke":2}' (serverless.yml's approvals); admin2 approves.`;

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `the local stack failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}
