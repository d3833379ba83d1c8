/**
 * The ports of member accounts (README, "Member accounts"), re-exported by lib/lifecycle/ports.ts: the registry of members
 * (lib/store/dynamo-account-registry.ts), the credentials each function uses in a member and the check made on
 * add (lib/accounts/, over STS and KMS).
 */
import type { CheckStep, MemberAccount, MemberActor } from "../domain/member-account.js";

/** The registered member accounts, one table item each. */
export interface AccountRegistry {
  /** @throws StateConflictError (field roleArn) when the account is registered already */
  add(account: MemberAccount): Promise<void>;
  get(accountId: string): Promise<MemberAccount | undefined>;
  /** Every member, by account id. */
  list(): Promise<MemberAccount[]>;
  /** Whether it was registered. */
  remove(accountId: string): Promise<boolean>;
  /**
   * Notes that acting in the member failed (STS's `code`) at `at`; true for the one caller that should
   * alert: the first since `quietMs` (every function and instance together). False for an account not
   * registered. Absent: every failure may alert.
   */
  noteAccessFailure?(accountId: string, code: string, at: Date, quietMs: number): Promise<boolean>;
}

/** Temporary credentials in a member account, as the AWS SDK takes them. */
export interface MemberSessionCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** What is needed to act in a member: its role and the external id its trust requires. */
export type MemberRole = Pick<MemberAccount, "accountId" | "roleArn" | "externalId">;

/**
 * Credentials per member and acting function: assumed once, cached, renewed before they expire (session name
 * `tether-<function>`). A provider is what an SDK client's `credentials` option takes.
 */
export interface MemberCredentials {
  /** @returns a provider; calling it may throw MemberAccessError (the role could not be assumed) */
  providerFor(member: MemberRole, actor: MemberActor): () => Promise<MemberSessionCredentials>;
}

/**
 * The check on add: assume the member role now (no cache), then DescribeKey the probe key or ListKeys in
 * `region` (absent: the adapter's home Region).
 */
export interface MemberAccess {
  check(
    member: MemberRole,
    probe: { keyArn?: string | undefined; region?: string | undefined },
  ): Promise<{ assumeRole: CheckStep; kms?: CheckStep | undefined }>;
}
