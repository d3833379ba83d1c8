/**
 * Errors of the local event bus. Each carries the AWS error code (`__type`) it is reported as on the wire,
 * so the HTTP layer never has to guess, and the HTTP status AWS answers with.
 */
export class EventBusError extends Error {
  /** The AWS error code, e.g. `ValidationException`. */
  readonly code: string = "InternalException";
  readonly statusCode: number = 500;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EventBusError";
  }
}

/** A request-level constraint failed (too many entries, entries over the size limit, ...). */
export class ValidationError extends EventBusError {
  override readonly code = "ValidationException";
  override readonly statusCode = 400;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ValidationError";
  }
}

/** The body is not JSON, or a member has the wrong JSON type for the operation's shape. */
export class SerializationError extends EventBusError {
  override readonly code = "SerializationException";
  override readonly statusCode = 400;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SerializationError";
  }
}

/** `X-Amz-Target` names an operation this stand-in does not implement (or no operation at all). */
export class UnknownOperationError extends EventBusError {
  override readonly code = "UnknownOperationException";
  override readonly statusCode = 400;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UnknownOperationError";
  }
}

/** The request carries no SigV4 `Authorization` header, so it has no credential scope (and no region). */
export class MissingAuthenticationTokenError extends EventBusError {
  override readonly code = "MissingAuthenticationTokenException";
  override readonly statusCode = 403;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MissingAuthenticationTokenError";
  }
}

/** An event pattern that EventBridge would refuse at PutRule. */
export class InvalidEventPatternError extends EventBusError {
  override readonly code = "InvalidEventPatternException";
  override readonly statusCode = 400;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidEventPatternError";
  }
}

/** A rule or event bus that does not exist. */
export class ResourceNotFoundError extends EventBusError {
  override readonly code = "ResourceNotFoundException";
  override readonly statusCode = 400;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ResourceNotFoundError";
  }
}

/** The request body is larger than the local bus reads. */
export class RequestTooLargeError extends EventBusError {
  override readonly code = "RequestEntityTooLargeException";
  override readonly statusCode = 413;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RequestTooLargeError";
  }
}
