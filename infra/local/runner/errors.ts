/** The local stack could not start or is misconfigured; the message says what to change. */
export class LocalStackError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LocalStackError";
  }
}

/** serverless.yml holds something the local runner cannot read or does not support. */
export class ServerlessDefinitionError extends LocalStackError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ServerlessDefinitionError";
  }
}
