import type { CliContext } from "./context.js";
import type { ExitCode } from "./exit-codes.js";

/** One flag of a command, as node:util parseArgs takes it, plus what help shows. */
export interface FlagSpec {
  readonly type: "string" | "boolean";
  readonly multiple?: boolean;
  readonly short?: string;
  /** Placeholder in help, e.g. "ISO" in `--expiring-before ISO`. */
  readonly value?: string;
  readonly description: string;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;
export type FlagValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

/** A parsed command line for one command: flags by long name, positionals in order. */
export interface CommandInput {
  readonly flags: FlagValues;
  readonly args: readonly string[];
}

/** A `tether keys <name>` command: its help, its flags, and what it does. */
export interface CommandSpec {
  readonly name: string;
  /** A command of its own (`tether sentinels`), not under `tether keys`. */
  readonly topLevel?: boolean;
  /** The group it belongs to when not `keys` (`tether accounts add`). */
  readonly group?: string;
  readonly summary: string;
  /** Positional arguments, all required, e.g. [{ name: "id", ... }]. */
  readonly args: readonly { readonly name: string; readonly description: string }[];
  readonly flags: FlagSpecs;
  /** Extra help text (constraints, examples), shown after the flags. */
  readonly notes?: readonly string[];
  /** API field names (as the API reports them in errors) mapped to this command's flags. */
  readonly fieldFlags?: Readonly<Record<string, string>>;
  /**
   * Validates the input (throwing UsageError before any request), calls the API, prints the result.
   * @throws UsageError, ApiError, ApiUnreachableError, CredentialsError
   */
  run(context: CliContext, input: CommandInput): Promise<ExitCode | undefined>;
}

/** The command's full name for messages, e.g. "keys list". */
export function commandName(spec: CommandSpec): string {
  return spec.topLevel === true ? spec.name : `${spec.group ?? "keys"} ${spec.name}`;
}

/** For POST commands: lets a script retry safely with the same key. */
export const IDEMPOTENCY_FLAG: FlagSpecs = {
  "idempotency-key": {
    type: "string",
    value: "KEY",
    description: "Idempotency-Key header (default: a random UUID); reuse it to retry a request safely",
  },
};
