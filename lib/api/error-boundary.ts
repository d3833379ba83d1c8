import {
  IdempotencyAlreadyInProgressError,
  IdempotencyValidationError,
} from "@aws-lambda-powertools/idempotency";
import {
  CheckValueMismatchError,
  KmsInvalidStateError,
  NotFoundError,
  StateConflictError,
  ValidationError,
  VaultError,
  VersionConflictError,
} from "../domain/errors.js";
import { MemberAccessError } from "../domain/member-account.js";
import {
  InvalidMaterialError,
  InvalidMaterialRefError,
  MaterialAlreadyExistsError,
  MaterialNotFoundError,
  UnsupportedWrappingError,
} from "../vault/errors.js";
import { ErrorCode } from "./error-code.js";
import { HttpError } from "./http-error.js";
import type { RouteResult } from "./route.js";

export interface BoundaryLog {
  info(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

const GENERIC_MESSAGE = "Internal error. Quote the requestId when you report it.";

/**
 * The one place an error becomes an HTTP answer. Domain errors are the caller's to know (their messages
 * name fields, keys and states, never material or tokens); anything else is a 500 with a generic message
 * and the request id, and the whole error goes to the log line that carries the same id.
 */
export function errorResult(error: unknown, requestId: string, log: BoundaryLog): RouteResult {
  const known = classify(error);
  if (known === undefined) {
    log.error("request failed", { requestId, error });
    return body(500, ErrorCode.InternalError, GENERIC_MESSAGE, requestId);
  }
  log.info("request refused", {
    requestId,
    status: known.status,
    code: known.code,
    errorName: error instanceof Error ? error.name : typeof error,
    // The answer hides this one's message (see classifyVaultError); the log keeps it.
    ...(known.logError === true ? { error } : {}),
  });
  return body(known.status, known.code, known.message, requestId, known.field, known.headers);
}

interface Known {
  readonly status: number;
  readonly code: ErrorCode;
  readonly message: string;
  readonly field?: string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Log the whole error with the refusal (its message is not in the answer). */
  readonly logError?: boolean;
}

function classify(error: unknown): Known | undefined {
  if (error instanceof HttpError) {
    return {
      status: error.status,
      code: error.code,
      message: error.message,
      field: error.field,
      headers: error.headers,
    };
  }
  if (error instanceof ValidationError) {
    return { status: 400, code: ErrorCode.ValidationError, message: error.message, field: error.field };
  }
  if (error instanceof NotFoundError)
    return { status: 404, code: ErrorCode.NotFound, message: error.message };
  if (error instanceof StateConflictError) {
    return { status: 409, code: ErrorCode.Conflict, message: error.message, field: error.field };
  }
  if (error instanceof CheckValueMismatchError) {
    return { status: 409, code: ErrorCode.Conflict, message: error.message, field: "checkValue" };
  }
  if (error instanceof KmsInvalidStateError) {
    return { status: 409, code: ErrorCode.Conflict, message: error.message };
  }
  if (error instanceof MemberAccessError) {
    // The member's role cannot be assumed now (missing, trust or external id changed, STS throttling).
    return { status: 409, code: ErrorCode.Conflict, message: error.message, field: "account" };
  }
  if (error instanceof VersionConflictError) {
    return { status: 409, code: ErrorCode.Conflict, message: `${error.message} Read it again and retry.` };
  }
  const vault = classifyVaultError(error);
  if (vault !== undefined) return vault;
  // Powertools idempotency: https://docs.powertools.aws.dev/lambda/typescript/latest/features/idempotency/
  if (error instanceof IdempotencyValidationError) {
    return {
      status: 409,
      code: ErrorCode.Conflict,
      message:
        "This Idempotency-Key was used with a different request body; use a new key for a new request.",
      field: "Idempotency-Key",
    };
  }
  if (error instanceof IdempotencyAlreadyInProgressError) {
    return {
      status: 409,
      code: ErrorCode.Conflict,
      message: "A request with this Idempotency-Key is still in progress; retry later for its answer.",
      field: "Idempotency-Key",
    };
  }
  return undefined;
}

/**
 * Every error the Vault port documents (lib/vault/port.ts, DOCUMENTED_VAULT_ERRORS) is the caller's to
 * know: the reference, the material or the key spec they named is at fault, or the vault cannot serve it
 * now. Messages of the named classes are Tether's own (they name references and key specs, never
 * material); any other vault error gets a fixed message, since an adapter's wording may describe the
 * vault's own setup.
 */
function classifyVaultError(error: unknown): Known | undefined {
  if (error instanceof MaterialAlreadyExistsError) {
    return { status: 409, code: ErrorCode.Conflict, message: error.message, field: "materialRef" };
  }
  if (error instanceof InvalidMaterialRefError || error instanceof MaterialNotFoundError) {
    return { status: 400, code: ErrorCode.ValidationError, message: error.message, field: "materialRef" };
  }
  if (error instanceof InvalidMaterialError || error instanceof UnsupportedWrappingError) {
    return {
      status: 400,
      code: ErrorCode.ValidationError,
      message: `The material under materialRef cannot serve this key: ${error.message}`,
      field: "materialRef",
    };
  }
  if (error instanceof VaultError) {
    return {
      status: 409,
      code: ErrorCode.Conflict,
      message: `The vault could not serve the material under materialRef (${error.name}); nothing was changed. Retry later; the requestId finds the log line.`,
      field: "materialRef",
      logError: true,
    };
  }
  return undefined;
}

function body(
  status: number,
  code: ErrorCode,
  message: string,
  requestId: string,
  field?: string,
  headers?: Readonly<Record<string, string>>,
): RouteResult {
  const line = message.replace(/\s+/g, " ").trim();
  return {
    status,
    body: { error: { code, message: line, ...(field === undefined ? {} : { field }), requestId } },
    ...(headers === undefined ? {} : { headers }),
  };
}
