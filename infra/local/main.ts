/**
 * `npm start`: the local AWS on fixed ports, persisted under `.local/` (or in memory with `--memory`),
 * with a short guide to what it serves. Tether's own functions and API will be attached through
 * `registerFunctions` once they exist.
 *
 * Flags: --host, --kms-port, --dynamodb-port, --events-port, --data-dir <dir>, --memory, --help.
 * Environment: TETHER_LOCAL_HOST, TETHER_LOCAL_KMS_PORT, TETHER_LOCAL_DYNAMODB_PORT,
 * TETHER_LOCAL_EVENTS_PORT, TETHER_LOCAL_DATA_DIR. Flags win over the environment.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { type LocalAws, type LocalAwsOptions, startLocalAws } from "./index.js";

export const DEFAULT_PORTS = { kms: 4599, dynamodb: 4598, events: 4597 } as const;
const DEFAULT_DATA_DIR = ".local";
const SUGGESTED_REGION = "eu-west-1";

export interface MainConfig {
  readonly host: string;
  readonly ports: { readonly kms: number; readonly dynamodb: number; readonly events: number };
  /** undefined = in memory. */
  readonly dataDir: string | undefined;
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
    flag: "kms-port" | "dynamodb-port" | "events-port",
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
  return {
    host: values.host ?? env.TETHER_LOCAL_HOST ?? "127.0.0.1",
    ports: {
      kms: port("kms-port", "TETHER_LOCAL_KMS_PORT", DEFAULT_PORTS.kms),
      dynamodb: port("dynamodb-port", "TETHER_LOCAL_DYNAMODB_PORT", DEFAULT_PORTS.dynamodb),
      events: port("events-port", "TETHER_LOCAL_EVENTS_PORT", DEFAULT_PORTS.events),
    },
    dataDir: values.memory
      ? undefined
      : resolve(values["data-dir"] ?? env.TETHER_LOCAL_DATA_DIR ?? DEFAULT_DATA_DIR),
  };
}

function parseFlags(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    options: {
      host: { type: "string" },
      "kms-port": { type: "string" },
      "dynamodb-port": { type: "string" },
      "events-port": { type: "string" },
      "data-dir": { type: "string" },
      memory: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
}

/**
 * The seam where Tether's own functions attach to the local AWS (rules on the bus invoking the handlers,
 * the admin API, schedules). Returns a function that detaches them, or nothing. Empty until those exist.
 */
export async function registerFunctions(_localAws: LocalAws): Promise<(() => Promise<void>) | undefined> {
  return undefined;
}

/** The friendly table printed once everything listens. */
export function describeLocalAws(localAws: LocalAws, config: MainConfig): string {
  const { kms, dynamodb, events } = localAws.endpoints;
  const rows: Array<[string, string, string]> = [
    ["KMS", kms, "keys, import parameters, imported material"],
    ["DynamoDB", dynamodb, "dynalite (no TransactWriteItems, no TTL)"],
    ["EventBridge", events, "PutEvents; admin: /_local/events, /_local/health"],
  ];
  const width = Math.max(...rows.map(([, url]) => url.length));
  return [
    "",
    `Tether local AWS is up — data ${config.dataDir ? `persisted in ${config.dataDir}` : "in memory (--memory)"}`,
    "",
    ...rows.map(([name, url, what]) => `  ${name.padEnd(12)} ${url.padEnd(width)}  ${what}`),
    "",
    `Region: any works (events take it from the request signature); ${SUGGESTED_REGION} is suggested.`,
    "Export in your shell:",
    `  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=${SUGGESTED_REGION} AWS_DEFAULT_REGION=${SUGGESTED_REGION}`,
    "",
    "Try:",
    `  aws kms create-key --origin EXTERNAL --endpoint-url ${kms}`,
    `  aws kms list-keys --endpoint-url ${kms}`,
    `  aws dynamodb list-tables --endpoint-url ${dynamodb}`,
    `  aws events put-events --endpoint-url ${events} \\`,
    `    --entries '[{"Source":"com.example","DetailType":"Hello","Detail":"{\\"hi\\":true}"}]'`,
    `  curl '${events}/_local/events?limit=20'`,
    "",
    "Events arriving on the bus are logged below. Ctrl-C stops everything.",
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
    process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  };
  const options: LocalAwsOptions = {
    host: config.host,
    ports: config.ports,
    ...(config.dataDir === undefined ? {} : { dataDir: config.dataDir }),
    logger: log,
  };
  const localAws = await startLocalAws(options);
  const detach = await registerFunctions(localAws);
  process.stdout.write(describeLocalAws(localAws, config));

  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    try {
      await detach?.();
      await localAws.close();
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
  --kms-port <n>           KMS emulator port (TETHER_LOCAL_KMS_PORT, default ${DEFAULT_PORTS.kms})
  --dynamodb-port <n>      DynamoDB port (TETHER_LOCAL_DYNAMODB_PORT, default ${DEFAULT_PORTS.dynamodb})
  --events-port <n>        EventBridge port (TETHER_LOCAL_EVENTS_PORT, default ${DEFAULT_PORTS.events})
  --data-dir <dir>         where state is kept (TETHER_LOCAL_DATA_DIR, default ${DEFAULT_DATA_DIR}/)
  --memory                 keep nothing on disk
  -h, --help               this text`;

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `local AWS failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}
