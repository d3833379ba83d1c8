import { AssumeRoleCommand, type AssumeRoleCommandOutput, type STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity } from "@smithy/types";
import { VaultError } from "../errors.js";

/** Refresh this long before the role's credentials expire, so no call starts with credentials about to lapse. */
export const CREDENTIAL_REFRESH_MARGIN_MS = 5 * 60 * 1000;

export interface AssumedRoleOptions {
  readonly sts: STSClient;
  readonly roleArn: string;
  readonly externalId: string;
  readonly sessionName: string;
  /** Kept on the session and in the vault account's CloudTrail, even through role chaining. */
  readonly sourceIdentity?: string;
  /** A session policy (JSON): the session may do only what both it and the role's policies allow. */
  readonly policy?: string;
  /** Seconds the session lasts (STS default 3600, minimum 900). */
  readonly durationSeconds?: number;
  readonly now?: () => Date;
}

/**
 * Credentials of a role in the vault account, from STS AssumeRole with an external id, cached until
 * {@link CREDENTIAL_REFRESH_MARGIN_MS} before they expire; concurrent callers share one AssumeRole.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
 * @returns a credential provider for an SDK client's `credentials`
 */
export function assumedRoleCredentials(options: AssumedRoleOptions): () => Promise<AwsCredentialIdentity> {
  const now = options.now ?? (() => new Date());
  let cached: AwsCredentialIdentity | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;
  const fresh = (c: AwsCredentialIdentity | undefined): c is AwsCredentialIdentity =>
    c !== undefined &&
    (c.expiration === undefined || c.expiration.getTime() - CREDENTIAL_REFRESH_MARGIN_MS > now().getTime());
  const assume = async (): Promise<AwsCredentialIdentity> => {
    let out: AssumeRoleCommandOutput;
    try {
      out = await options.sts.send(
        new AssumeRoleCommand({
          RoleArn: options.roleArn,
          ExternalId: options.externalId,
          RoleSessionName: options.sessionName,
          ...(options.sourceIdentity === undefined ? {} : { SourceIdentity: options.sourceIdentity }),
          ...(options.policy === undefined ? {} : { Policy: options.policy }),
          DurationSeconds: options.durationSeconds ?? 3600,
        }),
      );
    } catch (error) {
      throw new VaultError(
        `Tether could not assume the vault account's role ${options.roleArn} (${errorName(error)}); check the role's trust policy (sts:AssumeRole and sts:SetSourceIdentity for Tether's roles) and TETHER_SM_EXTERNAL_ID.`,
        { cause: error },
      );
    }
    const c = out.Credentials as Record<string, unknown> | undefined;
    if (
      c === undefined ||
      typeof c.AccessKeyId !== "string" ||
      typeof c.SecretAccessKey !== "string" ||
      typeof c.SessionToken !== "string"
    ) {
      throw new VaultError(`STS AssumeRole for ${options.roleArn} returned no credentials.`);
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      ...(c.Expiration instanceof Date ? { expiration: c.Expiration } : {}),
    };
  };
  return async () => {
    if (fresh(cached)) return cached;
    pending ??= assume().finally(() => {
      pending = undefined;
    });
    cached = await pending;
    return cached;
  };
}

/** An SDK error's name (AccessDenied, ...), never its message, which may quote a request. */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "unknown error";
}
