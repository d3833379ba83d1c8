import { ValidationError } from "./errors.js";
import { type AwsRegion, parseAwsRegion } from "./ids.js";

/** A KMS key ARN taken apart: `arn:<partition>:kms:<region>:<account>:key/<key id>`. */
export interface KmsKeyArn {
  readonly arn: string;
  readonly partition: string;
  readonly region: AwsRegion;
  readonly accountId: string;
  /** `1234abcd-12ab-34cd-56ef-1234567890ab`, or `mrk-` + 32 hex digits for a Multi-Region key. */
  readonly keyId: string;
  readonly multiRegion: boolean;
}

/**
 * Key ids: a UUID for single-Region keys, `mrk-` + 32 hex for Multi-Region keys (primary and replicas
 * share it). https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html
 */
const KEY_ARN =
  /^arn:(aws(?:-[a-z]+)*):kms:([a-z0-9-]+):(\d{12}):key\/((?:mrk-[0-9a-f]{32})|(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}))$/;

/**
 * Parses a KMS key ARN (not an alias ARN).
 * @throws ValidationError (field as given) when it is not a KMS key ARN
 */
export function parseKmsKeyArn(value: unknown, field = "keyArn"): KmsKeyArn {
  const match = typeof value === "string" ? KEY_ARN.exec(value) : null;
  if (match === null) {
    throw new ValidationError(
      field,
      "must be a KMS key ARN: arn:<partition>:kms:<region>:<account>:key/<key id>",
    );
  }
  const [arn, partition, region, accountId, keyId] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    arn,
    partition,
    region: parseAwsRegion(region, field),
    accountId,
    keyId,
    multiRegion: keyId.startsWith("mrk-"),
  };
}

const ARN_ACCOUNT = /^arn:aws(?:-[a-z]+)*:kms:[a-z0-9-]+:(\d{12}):/;

/**
 * The account a KMS key id names: the account of a key or alias ARN, undefined for a bare key id or alias
 * name (those mean the caller's own account to KMS).
 */
export function accountOfKeyId(keyId: unknown): string | undefined {
  return typeof keyId === "string" ? ARN_ACCOUNT.exec(keyId)?.[1] : undefined;
}
