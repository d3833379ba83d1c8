/**
 * Errors of the local KMS emulator. `KmsApiError` is what a KMS client sees on the wire: its `awsType`
 * becomes `__type` in the JSON error body, spelled as AWS spells it (e.g. `NotFoundException`).
 */

/** Base class of every error the emulator throws, so `cause` chains through `ErrorOptions`. */
export class KmsEmulatorError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KmsEmulatorError";
  }
}

/** HTTP status codes AWS KMS uses for its error types (all others are 400). */
const STATUS_BY_TYPE: Readonly<Record<string, number>> = {
  KMSInternalException: 500,
  DependencyTimeoutException: 503,
};

/** An error answered to the KMS client as `{"__type": awsType, "message": message}`. */
export class KmsApiError extends KmsEmulatorError {
  readonly awsType: string;
  readonly status: number;

  constructor(awsType: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KmsApiError";
    this.awsType = awsType;
    this.status = STATUS_BY_TYPE[awsType] ?? 400;
  }
}

/** Error types the emulator answers with, spelled as on the wire. */
export const KmsErrorType = {
  AlreadyExists: "AlreadyExistsException",
  Disabled: "DisabledException",
  DependencyTimeout: "DependencyTimeoutException",
  ExpiredImportToken: "ExpiredImportTokenException",
  IncorrectKey: "IncorrectKeyException",
  IncorrectKeyMaterial: "IncorrectKeyMaterialException",
  InvalidAliasName: "InvalidAliasNameException",
  InvalidArn: "InvalidArnException",
  InvalidCiphertext: "InvalidCiphertextException",
  InvalidImportToken: "InvalidImportTokenException",
  InvalidKeyUsage: "InvalidKeyUsageException",
  InvalidMarker: "InvalidMarkerException",
  KmsInternal: "KMSInternalException",
  KmsInvalidMac: "KMSInvalidMacException",
  KmsInvalidSignature: "KMSInvalidSignatureException",
  KmsInvalidState: "KMSInvalidStateException",
  LimitExceeded: "LimitExceededException",
  MalformedPolicyDocument: "MalformedPolicyDocumentException",
  MissingAuthenticationToken: "MissingAuthenticationTokenException",
  NotAuthorized: "NotAuthorizedException",
  NotFound: "NotFoundException",
  SerializationException: "SerializationException",
  Tag: "TagException",
  Throttling: "ThrottlingException",
  UnknownOperation: "UnknownOperationException",
  UnsupportedOperation: "UnsupportedOperationException",
  Validation: "ValidationException",
} as const;
export type KmsErrorType = (typeof KmsErrorType)[keyof typeof KmsErrorType];

/** Shorthand for `new KmsApiError(type, message)`. */
export function kmsError(type: KmsErrorType, message: string, options?: ErrorOptions): KmsApiError {
  return new KmsApiError(type, message, options);
}
