import {
  ImportTokenProblem,
  IncorrectKeyMaterialError,
  type KmsErrorContext,
  KmsImportTokenError,
  KmsInvalidStateError,
  KmsNotFoundError,
  KmsRotationLimitError,
  KmsThrottledError,
} from "../domain/errors.js";

/**
 * Translates the KMS exceptions Tether understands into domain errors and returns anything else untouched,
 * as Powertools' DynamoDB layer does with ConditionalCheckFailedException. Matching is by `name`, which the
 * SDK sets to the wire's `__type`, so it works for every modelled and unmodelled exception alike.
 * The SDK error becomes the `cause`; its message is AWS's, which never carries material or tokens.
 */
export function translateKmsError(error: unknown, context: KmsErrorContext & { operation: string }): unknown {
  const name = error instanceof Error ? error.name : undefined;
  const options = { cause: error };
  switch (name) {
    case "ExpiredImportTokenException":
      return new KmsImportTokenError(ImportTokenProblem.ExpiredToken, context, options);
    case "InvalidImportTokenException":
      return new KmsImportTokenError(ImportTokenProblem.InvalidToken, context, options);
    case "InvalidCiphertextException":
      return new KmsImportTokenError(ImportTokenProblem.InvalidCiphertext, context, options);
    case "IncorrectKeyMaterialException":
      return new IncorrectKeyMaterialError(context, options);
    case "KMSInvalidStateException":
      return new KmsInvalidStateError(context, options);
    case "NotFoundException":
      return new KmsNotFoundError(context, options);
    case "LimitExceededException":
      // RotateKeyOnDemand's LimitExceededException is the per-key rotation limit, not a rate: see
      // https://docs.aws.amazon.com/kms/latest/APIReference/API_RotateKeyOnDemand.html
      if (context.operation === "RotateKeyOnDemand") return new KmsRotationLimitError(context, options);
      return new KmsThrottledError(context, options);
    case "ThrottlingException":
    // Tether's own limiter: the turn would come after the invocation's deadline (lib/kms/rate-limiter.ts).
    case "RateLimitDeadlineError":
      return new KmsThrottledError(context, options);
    default:
      return error;
  }
}

/** Runs one KMS call and throws its translated error. */
export async function callKms<T>(
  context: KmsErrorContext & { operation: string },
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translateKmsError(error, context);
  }
}
