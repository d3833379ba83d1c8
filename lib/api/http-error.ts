import { TetherError } from "../domain/errors.js";
import type { ErrorCode } from "./error-code.js";

/**
 * A refusal decided at the HTTP edge (403, 404 of a route, 405, 413, 415, 409 of an idempotency key):
 * status, code and message are meant for the caller as they are.
 */
export class HttpError extends TetherError {
  readonly status: number;
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    extra: { field?: string; headers?: Record<string, string> } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "HttpError";
    this.status = status;
    this.code = code;
    this.field = extra.field;
    this.headers = extra.headers ?? {};
  }
}
