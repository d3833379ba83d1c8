/**
 * Tether's errors. Adapters translate SDK errors into these so use cases can decide (retry, fetch fresh
 * import parameters, alert) without knowing the SDK. Messages and context fields name keys, regions,
 * states and fields — never key material, wrapped material or import tokens.
 */

/** Root of every Tether error; `(message, options?)` so a `cause` chains. */
export class TetherError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TetherError";
  }
}

/** Input that breaks a rule; `field` names the offending field (dotted path for nested input). */
export class ValidationError extends TetherError {
  readonly field: string;

  constructor(field: string, message: string, options?: ErrorOptions) {
    super(`${field}: ${message}`, options);
    this.name = "ValidationError";
    this.field = field;
  }
}

/** A managed key (or other Tether entity) that does not exist. */
export class NotFoundError extends TetherError {
  readonly entity: string;
  readonly id: string;

  constructor(entity: string, id: string, options?: ErrorOptions) {
    super(`${entity} ${id} not found.`, options);
    this.name = "NotFoundError";
    this.entity = entity;
    this.id = id;
  }
}

/** The request is valid but the managed key's status forbids it (e.g. renewing a revoked key). */
export class StateConflictError extends TetherError {
  readonly keyId: string;
  readonly state: string;
  /** The request field the conflict is about, when one is (e.g. materialRef claimed by another key). */
  readonly field: string | undefined;

  constructor(
    message: string,
    context: { keyId: string; state: string; field?: string | undefined },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "StateConflictError";
    this.keyId = context.keyId;
    this.state = context.state;
    this.field = context.field;
  }
}

/** Where a KMS call went wrong: which key, in which region. */
export interface KmsErrorContext {
  readonly keyId: string;
  readonly region?: string | undefined;
}

/** Base of the errors KMS adapters translate SDK exceptions into. */
export class KmsError extends TetherError {
  readonly keyId: string;
  readonly region: string | undefined;

  constructor(message: string, context: KmsErrorContext, options?: ErrorOptions) {
    super(message, options);
    this.name = "KmsError";
    this.keyId = context.keyId;
    this.region = context.region;
  }
}

/** Which of the three "start the import over" exceptions KMS raised. */
export const ImportTokenProblem = {
  /** ExpiredImportTokenException: the token is older than 24 hours. */
  ExpiredToken: "ExpiredImportTokenException",
  /** InvalidImportTokenException: the token belongs to another key or another call. */
  InvalidToken: "InvalidImportTokenException",
  /** InvalidCiphertextException: KMS could not unwrap (wrong algorithm, or wrapped under another public key). */
  InvalidCiphertext: "InvalidCiphertextException",
} as const;
export type ImportTokenProblem = (typeof ImportTokenProblem)[keyof typeof ImportTokenProblem];

/**
 * The import token or the wrapped material was refused. Never retry with the same parameters: drop any
 * cached parameters for this key and region, fetch fresh ones and wrap again.
 */
export class KmsImportTokenError extends KmsError {
  readonly problem: ImportTokenProblem;

  constructor(problem: ImportTokenProblem, context: KmsErrorContext, options?: ErrorOptions) {
    super(
      `KMS refused the import for key ${context.keyId}${inRegion(context.region)} (${problem}); fetch fresh import parameters.`,
      context,
      options,
    );
    this.name = "KmsImportTokenError";
    this.problem = problem;
  }
}

/**
 * IncorrectKeyMaterialException: the vault's bytes are not the material this key had. Never retried — a
 * key accepts one material forever — and always a critical alert.
 */
export class IncorrectKeyMaterialError extends KmsError {
  constructor(context: KmsErrorContext, options?: ErrorOptions) {
    super(
      `KMS key ${context.keyId}${inRegion(context.region)} rejected the material as not the material it had (IncorrectKeyMaterialException).`,
      context,
      options,
    );
    this.name = "IncorrectKeyMaterialError";
  }
}

/** KMSInvalidStateException: the key's state forbids the call (disabled, pending deletion, ...). */
export class KmsInvalidStateError extends KmsError {
  /** The KeyState if the adapter learned it (e.g. from a DescribeKey after the failure). */
  readonly keyState: string | undefined;

  constructor(context: KmsErrorContext & { keyState?: string | undefined }, options?: ErrorOptions) {
    super(
      `KMS key ${context.keyId}${inRegion(context.region)} is in a state that forbids this call${context.keyState ? ` (${context.keyState})` : ""}.`,
      context,
      options,
    );
    this.name = "KmsInvalidStateError";
    this.keyState = context.keyState;
  }
}

/** ThrottlingException: over a KMS request quota; retry later with backoff. */
export class KmsThrottledError extends KmsError {
  readonly operation: string;

  constructor(context: KmsErrorContext & { operation: string }, options?: ErrorOptions) {
    super(
      `KMS throttled ${context.operation} for key ${context.keyId}${inRegion(context.region)}.`,
      context,
      options,
    );
    this.name = "KmsThrottledError";
    this.operation = context.operation;
  }
}

/**
 * LimitExceededException from RotateKeyOnDemand: the key had its 25 on-demand rotations. Not retryable;
 * the way on is a key swap.
 */
export class KmsRotationLimitError extends KmsError {
  constructor(context: KmsErrorContext, options?: ErrorOptions) {
    super(
      `KMS key ${context.keyId}${inRegion(context.region)} reached the limit of on-demand rotations.`,
      context,
      options,
    );
    this.name = "KmsRotationLimitError";
  }
}

/** NotFoundException: KMS has no such key in that region. */
export class KmsNotFoundError extends KmsError {
  constructor(context: KmsErrorContext, options?: ErrorOptions) {
    super(`KMS key ${context.keyId} not found${inRegion(context.region)}.`, context, options);
    this.name = "KmsNotFoundError";
  }
}

/** The vault could not do what was asked (unreachable, locked, no material under the reference, ...). */
export class VaultError extends TetherError {
  readonly materialRef: string | undefined;

  constructor(message: string, context: { materialRef?: string | undefined } = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = "VaultError";
    this.materialRef = context.materialRef;
  }
}

/**
 * The vault's check value differs from the one recorded at registration: it would hand over other bytes.
 * Nothing is imported; critical alert. The check values themselves stay out of the message.
 */
export class CheckValueMismatchError extends TetherError {
  readonly keyId: string;
  readonly materialRef: string;

  constructor(context: { keyId: string; materialRef: string }, options?: ErrorOptions) {
    super(
      `The vault's material under "${context.materialRef}" does not match the check value recorded for key ${context.keyId}.`,
      options,
    );
    this.name = "CheckValueMismatchError";
    this.keyId = context.keyId;
    this.materialRef = context.materialRef;
  }
}

/** Another worker holds the lease on this key (or region); try later, don't wait. */
export class LeaseNotAcquiredError extends TetherError {
  readonly leaseId: string;

  constructor(leaseId: string, options?: ErrorOptions) {
    super(`Lease ${leaseId} is held by another worker.`, options);
    this.name = "LeaseNotAcquiredError";
    this.leaseId = leaseId;
  }
}

/** Optimistic concurrency: the record changed since it was read; re-read and decide again. */
export class VersionConflictError extends TetherError {
  readonly keyId: string;
  readonly expectedVersion: number;

  constructor(context: { keyId: string; expectedVersion: number }, options?: ErrorOptions) {
    super(`Managed key ${context.keyId} changed since version ${context.expectedVersion} was read.`, options);
    this.name = "VersionConflictError";
    this.keyId = context.keyId;
    this.expectedVersion = context.expectedVersion;
  }
}

function inRegion(region: string | undefined): string {
  return region === undefined ? "" : ` in ${region}`;
}

/**
 * How an unexpected input value appears in an error message: a short identifier-like string is quoted,
 * anything else (bytes passed by mistake where a key spec was expected, long or odd text) is described by
 * its type only — so a miswired call can never put key material into an error or a log line.
 */
export function quoteUnknown(value: unknown): string {
  if (typeof value === "string" && /^[A-Za-z0-9_.:/-]{0,64}$/.test(value)) return JSON.stringify(value);
  if (typeof value === "string") return `(a string of ${value.length} characters, not shown)`;
  if (value instanceof Uint8Array) return "(bytes, not shown)";
  return `(a ${value === null ? "null" : typeof value}, not shown)`;
}

/**
 * An error's name for logs, alerts and outcomes (ThrottlingException, VersionConflictError, ...), never its
 * message, which may quote a request; "UnknownError" for a thrown value that is not an Error.
 */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "UnknownError";
}
