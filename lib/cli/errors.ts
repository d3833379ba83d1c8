import { ExitCode, exitCodeForStatus } from "./exit-codes.js";

/** Root of the CLI's errors: each knows the exit code it ends the process with. */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode, options?: ErrorOptions) {
    super(message, options);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** A bad command line, found before any request is sent. */
export class UsageError extends CliError {
  /** The command whose usage to point at (e.g. "keys list"), when known. */
  readonly command: string | undefined;

  constructor(message: string, command?: string, options?: ErrorOptions) {
    super(message, ExitCode.Usage, options);
    this.name = "UsageError";
    this.command = command;
  }
}

/** The API answered with an error status. Carries what the API said, never the request. */
export class ApiError extends CliError {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly requestId: string | undefined;

  constructor(
    status: number,
    detail: { code: string; message: string; field?: string | undefined; requestId?: string | undefined },
    options?: ErrorOptions,
  ) {
    super(detail.message, exitCodeForStatus(status), options);
    this.name = "ApiError";
    this.status = status;
    this.code = detail.code;
    this.field = detail.field;
    this.requestId = detail.requestId;
  }
}

/** The API could not be reached at all: refused, unresolvable, or no answer before the timeout. */
export class ApiUnreachableError extends CliError {
  readonly apiUrl: string;

  constructor(message: string, apiUrl: string, options?: ErrorOptions) {
    super(message, ExitCode.Unreachable, options);
    this.name = "ApiUnreachableError";
    this.apiUrl = apiUrl;
  }
}

/** No AWS credentials to sign with. */
export class CredentialsError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.Forbidden, options);
    this.name = "CredentialsError";
  }
}
