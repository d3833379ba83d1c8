import type { TetherApiClient } from "./client.js";

/** Where a command writes: results to `out`, messages to `err`. Each call writes whole lines. */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

/** What a running command can use. */
export interface CliContext extends CliOutput {
  /** The working directory files named on the command line are read from and written to. */
  readonly cwd: string;
  /**
   * A progress line for long work on stderr: on a terminal it replaces the previous one (a bar); otherwise
   * nothing (the command prints plain lines instead). `done` ends the line.
   */
  progress(text: string, done?: boolean): void;
  /** stderr is a terminal: progress() draws a bar. */
  readonly interactive: boolean;
  /** `--json`: print the API's JSON as is, for scripts. */
  readonly json: boolean;
  /** ANSI colour allowed (stdout is a terminal and NO_COLOR is not set). */
  readonly color: boolean;
  readonly now: () => Date;
  /**
   * The Region to act in when --region is not given: AWS_REGION, else the local stack's home Region from
   * its endpoints file; undefined when neither is there.
   * @throws UsageError when the endpoints file is not JSON
   */
  defaultRegion(): Promise<string | undefined>;
  /** `--idempotency-key`, for POSTs. */
  readonly idempotencyKey: string | undefined;
  /**
   * The signing API client, built on first use (so usage errors need no URL, no credentials).
   * @throws UsageError on a bad API URL
   */
  client(): Promise<TetherApiClient>;
}
