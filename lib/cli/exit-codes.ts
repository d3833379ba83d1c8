/**
 * The CLI's exit codes: a contract with the scripts that call `tether`, documented in `tether --help`.
 * Never renumber one; add new ones at the end.
 */
export const ExitCode = {
  Ok: 0,
  /** Unexpected: the API answered 5xx (or something the CLI does not understand), or the CLI itself failed. */
  Internal: 1,
  /** Bad command line: unknown command or flag, a missing or malformed value. No request was sent. */
  Usage: 2,
  /** 404: no such key (by Tether id, key ARN or alias). */
  NotFound: 3,
  /** 401/403: not signed, bad signature, unknown caller, or a reader attempting a change; or no credentials. */
  Forbidden: 4,
  /** 409: the key's state forbids the action (e.g. re-import of a revoked key). */
  Conflict: 5,
  /** 400/413/415: the API refused the input (the message names the field). */
  InvalidInput: 6,
  /** The API could not be reached (connection refused, DNS, timeout). */
  Unreachable: 7,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code for an HTTP error status the API answered with. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 404) return ExitCode.NotFound;
  if (status === 401 || status === 403) return ExitCode.Forbidden;
  if (status === 409) return ExitCode.Conflict;
  if (status === 400 || status === 413 || status === 415 || status === 422) return ExitCode.InvalidInput;
  return ExitCode.Internal;
}

/** The table printed by `tether --help`, kept next to the codes so the two cannot drift apart. */
export const EXIT_CODE_HELP: readonly (readonly [ExitCode, string])[] = [
  [ExitCode.Ok, "success"],
  [ExitCode.Internal, "unexpected or internal error (the API answered 5xx)"],
  [ExitCode.Usage, "usage error: bad command, flag or value (nothing was sent)"],
  [ExitCode.NotFound, "not found (404)"],
  [ExitCode.Forbidden, "forbidden or not signed (401/403), or no AWS credentials"],
  [ExitCode.Conflict, "conflict: the key's state forbids the action (409)"],
  [ExitCode.InvalidInput, "invalid input (400/413/415)"],
  [ExitCode.Unreachable, "cannot reach the API"],
];
