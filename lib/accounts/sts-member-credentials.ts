import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  STSClient,
  type STSClientConfig,
} from "@aws-sdk/client-sts";
import {
  credentialsNeedRefresh,
  MEMBER_SESSION_SECONDS,
  MemberAccessError,
  type MemberActor,
  memberSessionName,
} from "../domain/member-account.js";
import type { MemberCredentials, MemberRole, MemberSessionCredentials } from "../lifecycle/ports.js";

export interface StsMemberCredentialsOptions {
  /** STS's endpoint; locally the KMS emulator's URL (its STS), absent in AWS (the Regional endpoint). */
  readonly endpoint?: string | undefined;
  readonly region: string;
  /** The SDK settings of the hub's own client (credentials: the function's role). */
  readonly clientConfig?: Omit<STSClientConfig, "endpoint" | "region"> | undefined;
  /** The clock expiry is judged by (the functions' clock; locally the emulator's). */
  readonly now?: () => Date;
  /** A test's STS client; otherwise one is built from the options. */
  readonly client?: STSClient | undefined;
}

interface Entry {
  current?: MemberSessionCredentials;
  pending?: Promise<MemberSessionCredentials>;
}

/**
 * Credentials in member accounts over STS AssumeRole: one cached session per member role, external id and
 * acting function, named `tether-<function>` so the member's CloudTrail says which of the hub's functions
 * acted; renewed MEMBER_REFRESH_MARGIN_MS before it expires, one AssumeRole at a time per entry however many
 * callers ask at once. Sessions last MEMBER_SESSION_SECONDS (an hour: a Lambda role assuming another is role
 * chaining, https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html#iam-term-role-chaining).
 * A refusal is a MemberAccessError naming the member and STS's code; nothing is cached then.
 */
export class StsMemberCredentials implements MemberCredentials {
  readonly #client: STSClient;
  readonly #now: () => Date;
  readonly #entries = new Map<string, Entry>();
  #ownAccount: Promise<string> | undefined;

  constructor(options: StsMemberCredentialsOptions) {
    this.#client =
      options.client ??
      new STSClient({
        ...options.clientConfig,
        region: options.region,
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      });
    this.#now = options.now ?? (() => new Date());
  }

  providerFor(member: MemberRole, actor: MemberActor): () => Promise<MemberSessionCredentials> {
    const key = `${member.roleArn}\n${member.externalId}\n${actor}`;
    return () => {
      let entry = this.#entries.get(key);
      if (entry === undefined) {
        entry = {};
        this.#entries.set(key, entry);
      }
      const current = entry.current;
      if (current !== undefined && !credentialsNeedRefresh(current.expiration, this.#now())) {
        return Promise.resolve(current);
      }
      const held = entry;
      held.pending ??= this.assume(member, actor)
        .then((fresh) => {
          held.current = fresh;
          return fresh;
        })
        .finally(() => {
          held.pending = undefined;
        });
      return held.pending;
    };
  }

  /**
   * The account of the hub's own credentials (GetCallerIdentity), asked once per process; a failure is not
   * kept, so the next call asks again.
   * @throws Error (STS's) when STS cannot say
   */
  ownAccountId(): Promise<string> {
    this.#ownAccount ??= this.#client.send(new GetCallerIdentityCommand({})).then(
      (out) => {
        if (out.Account === undefined || !/^\d{12}$/.test(out.Account)) {
          throw new Error("STS GetCallerIdentity answered without a 12-digit Account");
        }
        return out.Account;
      },
      (error: unknown) => {
        this.#ownAccount = undefined;
        throw error;
      },
    );
    return this.#ownAccount;
  }

  /** One AssumeRole, uncached (the check on add). @throws MemberAccessError */
  async assume(member: MemberRole, actor: MemberActor): Promise<MemberSessionCredentials> {
    try {
      const out = await this.#client.send(
        new AssumeRoleCommand({
          RoleArn: member.roleArn,
          RoleSessionName: memberSessionName(actor),
          ExternalId: member.externalId,
          DurationSeconds: MEMBER_SESSION_SECONDS,
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
        throw new MemberAccessError({ accountId: member.accountId, code: "IncompleteCredentials" });
      }
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration,
      };
    } catch (error) {
      if (error instanceof MemberAccessError) throw error;
      const code = error instanceof Error ? error.name : "Error";
      throw new MemberAccessError({ accountId: member.accountId, code }, { cause: error });
    }
  }
}
