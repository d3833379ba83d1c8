import type { ExpirationModel, KeySpec, KeyState, KeyUsage } from "./kms-constants.js";

/**
 * KMS key origins as DescribeKey reports them. Tether manages EXTERNAL keys only.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_KeyMetadata.html
 */
export const KeyOrigin = {
  AWS_KMS: "AWS_KMS",
  EXTERNAL: "EXTERNAL",
  AWS_CLOUDHSM: "AWS_CLOUDHSM",
  EXTERNAL_KEY_STORE: "EXTERNAL_KEY_STORE",
} as const;
export type KeyOrigin = (typeof KeyOrigin)[keyof typeof KeyOrigin];

/**
 * A value AWS may add after this code was written; kept as a string so the decision table can say
 * "unknown" instead of the adapter failing. `string & {}` keeps editor completion for the known values.
 */
type OrUnknown<T extends string> = T | (string & {});

/** What one DescribeKey in one region said, translated by the KMS adapter. */
export type ObservedKeyState = KeyNotFound | KeyFound;

/** DescribeKey answered NotFoundException. */
export interface KeyNotFound {
  readonly found: false;
}

export interface KeyFound {
  readonly found: true;
  readonly keyState: OrUnknown<KeyState>;
  readonly origin: OrUnknown<KeyOrigin>;
  readonly enabled: boolean;
  /** Absent while the key has no material (PendingImport) and for non-EXTERNAL keys. */
  readonly expirationModel?: OrUnknown<ExpirationModel> | undefined;
  /** The earliest expiry of the key's materials; absent when none expires. */
  readonly validTo?: Date | undefined;
  readonly keySpec?: OrUnknown<KeySpec> | undefined;
  readonly keyUsage?: OrUnknown<KeyUsage> | undefined;
  readonly currentKeyMaterialId?: string | undefined;
  /** Set while the key is PendingDeletion. */
  readonly deletionDate?: Date | undefined;
}
