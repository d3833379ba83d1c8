import { parseArgs } from "node:util";
import { type SigningCredentials, TetherApiClient } from "./client.js";
import { type CommandSpec, commandName, type FlagSpecs, type FlagValues } from "./command.js";
import { COMMAND_GROUPS, KEY_COMMANDS, TOP_LEVEL_COMMANDS } from "./commands/index.js";
import type { CliContext } from "./context.js";
import { ApiError, CliError, UsageError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { booleanFlag, stringFlag } from "./flags.js";
import { commandHelp, GLOBAL_FLAGS, keysHelp, topHelp } from "./help.js";
import { readLocalEndpoints, resolveApiSettings } from "./settings.js";

/** What the CLI runs against: the process in bin/tether.ts, anything in tests. */
export interface CliRuntime {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean | undefined };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean | undefined };
  /** Injected in tests; by default the standard AWS credential chain (fromNodeProviderChain). */
  readonly credentials?: SigningCredentials | undefined;
  readonly fetch?: typeof fetch | undefined;
  readonly now?: (() => Date) | undefined;
  readonly newIdempotencyKey?: (() => string) | undefined;
}

const MAX_TIMEOUT_SECONDS = 3600;

/**
 * Runs one `tether` command line and returns the exit code (see ExitCode). Never throws: every error
 * becomes a one-line message on stderr and its exit code. Results go to stdout.
 */
export async function main(argv: readonly string[], runtime: CliRuntime): Promise<ExitCode> {
  const out = (text: string) => runtime.stdout.write(`${text}\n`);
  const err = (text: string) => runtime.stderr.write(`${text}\n`);
  let spec: CommandSpec | undefined;
  try {
    const found = findCommand(argv);
    spec = found.spec;
    if (found.help !== undefined) {
      out(found.help);
      return ExitCode.Ok;
    }
    if (spec === undefined) {
      // findCommand returns either help or a command; this keeps the type checker honest.
      throw new UsageError("no command given");
    }
    const { flags, args } = parseCommandLine(spec, found.rest);
    if (booleanFlag(flags, "help")) {
      out(commandHelp(spec));
      return ExitCode.Ok;
    }
    const context = createContext(spec, flags, runtime, out, err);
    return (await spec.run(context, { flags, args })) ?? ExitCode.Ok;
  } catch (error) {
    err(describeError(error, spec));
    if (error instanceof UsageError) {
      err(
        error.command === undefined && spec === undefined
          ? "Run `tether --help` for usage."
          : `Run \`tether ${error.command ?? commandName(spec as CommandSpec)} --help\` for usage.`,
      );
    }
    return error instanceof CliError ? error.exitCode : ExitCode.Internal;
  }
}

/**
 * Finds `keys <command>` among the arguments (global flags may come before it) and returns the rest,
 * or the help text to print when help was asked for before a command was named.
 * @throws UsageError for a missing or unknown command
 */
function findCommand(argv: readonly string[]): { spec?: CommandSpec; help?: string; rest: string[] } {
  const { tokens } = parseArgs({
    args: [...argv],
    options: parseArgsOptions(GLOBAL_FLAGS),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const positionals = tokens.filter((token) => token.kind === "positional");
  const helpAsked = tokens.some((token) => token.kind === "option" && token.name === "help");
  const [group, name] = positionals;
  if (group === undefined) {
    if (helpAsked) return { help: topHelp(KEY_COMMANDS), rest: [] };
    throw new UsageError("no command given");
  }
  const own = TOP_LEVEL_COMMANDS.find((candidate) => candidate.name === group.value);
  if (own !== undefined) return { spec: own, rest: argv.filter((_, i) => i !== group.index) };
  const commands = Object.hasOwn(COMMAND_GROUPS, group.value) ? COMMAND_GROUPS[group.value] : undefined;
  if (commands === undefined)
    throw new UsageError(`unknown command "${group.value}" (try: tether keys --help)`);
  if (name === undefined) {
    if (helpAsked) return { help: keysHelp(commands, group.value), rest: [] };
    throw new UsageError(`missing command after "${group.value}"\n\n${keysHelp(commands, group.value)}`);
  }
  const spec = commands.find((candidate) => candidate.name === name.value);
  if (spec === undefined) {
    throw new UsageError(
      `unknown command "${group.value} ${name.value}"\n\n${keysHelp(commands, group.value)}`,
    );
  }
  const rest = argv.filter((_, i) => i !== group.index && i !== name.index);
  return { spec, rest };
}

function parseArgsOptions(flags: FlagSpecs) {
  return Object.fromEntries(
    Object.entries(flags).map(([name, spec]) => [
      name,
      {
        type: spec.type,
        ...(spec.short === undefined ? {} : { short: spec.short }),
        ...(spec.multiple ? { multiple: true } : {}),
      },
    ]),
  );
}

/**
 * Strict parse of one command's flags (its own and the global ones) and positionals.
 * @throws UsageError on an unknown flag, a flag without its value, or the wrong number of arguments
 */
function parseCommandLine(spec: CommandSpec, rest: readonly string[]): { flags: FlagValues; args: string[] } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: parseArgsOptions({ ...GLOBAL_FLAGS, ...spec.flags }),
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    // node:util's messages name the option; keep their first sentence.
    const text = error instanceof Error ? error.message : String(error);
    const ambiguous = /^Option '(--[\w-]+)' argument is ambiguous/.exec(text);
    const message = ambiguous
      ? `${ambiguous[1]} needs a value (write ${ambiguous[1]}=VALUE for a value starting with '-')`
      : (text.split("\n")[0]?.split(". ")[0] ?? text);
    throw new UsageError(message, commandName(spec), { cause: error });
  }
  const flags = parsed.values as FlagValues;
  if (booleanFlag(flags, "help")) return { flags, args: parsed.positionals };
  const expected = spec.args.length;
  if (parsed.positionals.length < expected) {
    const missing = spec.args.slice(parsed.positionals.length).map((arg) => `<${arg.name}>`);
    throw new UsageError(`missing ${missing.join(" ")}`, commandName(spec));
  }
  if (parsed.positionals.length > expected) {
    throw new UsageError(
      `unexpected argument "${parsed.positionals[expected]}"${expected === 0 ? " (this command takes none)" : ""}`,
      commandName(spec),
    );
  }
  for (const [i, value] of parsed.positionals.entries()) {
    if (value.trim().length === 0)
      throw new UsageError(`<${spec.args[i]?.name}> must not be empty`, commandName(spec));
  }
  return { flags, args: parsed.positionals };
}

function createContext(
  spec: CommandSpec,
  flags: FlagValues,
  runtime: CliRuntime,
  out: (text: string) => void,
  err: (text: string) => void,
): CliContext {
  const name = commandName(spec);
  const timeout = stringFlag(flags, "timeout");
  const timeoutSeconds = timeout === undefined ? undefined : Number(timeout);
  if (
    timeoutSeconds !== undefined &&
    (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > MAX_TIMEOUT_SECONDS)
  ) {
    throw new UsageError(`--timeout must be a number of seconds from 0 to ${MAX_TIMEOUT_SECONDS}`, name);
  }
  const idempotencyKey = stringFlag(flags, "idempotency-key");
  if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
    throw new UsageError("--idempotency-key must be 1 to 255 visible ASCII characters", name);
  }
  let client: Promise<TetherApiClient> | undefined;
  const interactive = runtime.stderr.isTTY === true && runtime.env.TERM !== "dumb";
  return {
    out,
    err,
    cwd: runtime.cwd,
    interactive,
    progress(text, done = false) {
      if (interactive) runtime.stderr.write(`\r\u001b[2K${text}${done ? "\n" : ""}`);
    },
    json: booleanFlag(flags, "json"),
    color: runtime.stdout.isTTY === true && !runtime.env.NO_COLOR && runtime.env.TERM !== "dumb",
    now: runtime.now ?? (() => new Date()),
    idempotencyKey,
    async defaultRegion() {
      const fromEnv = runtime.env.AWS_REGION;
      if (fromEnv) return fromEnv;
      return (await readLocalEndpoints(runtime.env, runtime.cwd))?.region;
    },
    client() {
      client ??= (async () => {
        const settings = await resolveApiSettings({
          apiUrlFlag: stringFlag(flags, "api-url"),
          // In `register`, --region is where the key is created; the API's Region then comes from elsewhere.
          regionFlag:
            stringFlag(flags, "api-region") ??
            (spec.name === "register" ? undefined : stringFlag(flags, "region")),
          env: runtime.env,
          cwd: runtime.cwd,
        });
        const profile = stringFlag(flags, "profile");
        return new TetherApiClient({
          apiUrl: settings.apiUrl,
          region: settings.region,
          credentials: runtime.credentials ?? lazyProviderChain(profile),
          timeoutMs: timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000,
          fetch: runtime.fetch,
          newIdempotencyKey: runtime.newIdempotencyKey,
        });
      })();
      return client;
    },
  };
}

/**
 * The standard AWS credential chain, loaded on the first signature: `tether --help` and usage errors need
 * none of it, and the packaged CLI (scripts/build-cli.ts) keeps it in a chunk of its own, so they start faster.
 */
function lazyProviderChain(profile: string | undefined): SigningCredentials {
  let chain: Promise<SigningCredentials> | undefined;
  return async () => {
    chain ??= import("./credential-chain.js").then(({ providerChain }) => providerChain(profile));
    const credentials = await chain;
    return typeof credentials === "function" ? credentials() : credentials;
  };
}

/** One line (usage errors may add the command list) for stderr. Never includes credentials or bodies sent. */
export function describeError(error: unknown, spec?: CommandSpec): string {
  if (error instanceof ApiError) {
    const details: string[] = [];
    if (error.field !== undefined) {
      const flag = flagForField(error.field, spec);
      details.push(flag === undefined ? `field ${error.field}` : `field ${error.field}, see ${flag}`);
    }
    if (error.requestId !== undefined) details.push(`request id ${error.requestId}`);
    const hint =
      error.status === 403 && error.code !== "Forbidden"
        ? " — check your AWS credentials, region and --api-url"
        : error.status >= 500
          ? " — the request id finds the log line"
          : "";
    const suffix = details.length > 0 ? ` (${details.join("; ")})` : "";
    return `tether: ${error.status} ${error.code}: ${error.message}${suffix}${hint}`;
  }
  if (error instanceof CliError) return `tether: ${error.message}`;
  const name = error instanceof Error ? error.name : "Error";
  return `tether: internal error (${name}): ${error instanceof Error ? error.message : String(error)}`;
}

function flagForField(field: string, spec?: CommandSpec): string | undefined {
  const map = spec?.fieldFlags;
  if (map === undefined) return undefined;
  const bare = field.replace(/^(body|query|path)\./, "");
  return map[field] ?? map[bare] ?? map[bare.replace(/\.\d+$/, "")] ?? map[bare.replace(/^policy\./, "")];
}
