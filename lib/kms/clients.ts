import { KMSClient, type KMSClientConfig } from "@aws-sdk/client-kms";
import type { FinalizeRequestMiddleware, MetadataBearer } from "@smithy/types";
import { accountOfKeyId } from "../domain/key-arn.js";
import { AccountNotRegisteredError, type MemberActor } from "../domain/member-account.js";
import type { AccountRegistry, MemberCredentials, MemberRole } from "../lifecycle/ports.js";
import type { RateLimiter } from "./rate-limiter.js";

/** One KMS client per Region, created on first use and reused (Lambda keeps them across invocations). */
export interface KmsClients {
  /** The client of the deployment's own account (the functions' own credentials) in `region`. */
  forRegion(region: string): KMSClient;
  /**
   * The client for keys of `accountId` in `region`: the deployment's own for its account, a member's role
   * session for a registered member. Absent: every key is reached with forRegion (no member accounts).
   * @throws AccountNotRegisteredError for any other account (nothing is sent)
   */
  forAccount?(region: string, accountId: string): Promise<KMSClient>;
}

/** How clients reach member accounts (README, "Member accounts"). */
export interface MemberRouting {
  /** The deployment's own account id (config, or STS GetCallerIdentity once). */
  readonly hubAccountId: () => Promise<string>;
  /** The registry of members: a member's role and external id. */
  readonly registry: Pick<AccountRegistry, "get">;
  /** Sessions in members, cached and renewed before expiry (StsMemberCredentials). */
  readonly credentials: MemberCredentials;
  /** Which function acts: the session is named after it (`tether-sweep`), so the member's CloudTrail says. */
  readonly actor: MemberActor;
  /** How long a member's registration is trusted before it is read again. Default 60 s. */
  readonly registryTtlMs?: number | undefined;
  readonly now?: (() => Date) | undefined;
}

export interface KmsClientsOptions {
  /** Endpoint override (the local KMS emulator); absent on AWS. */
  readonly endpoint?: string | undefined;
  /** SDK attempts per call, including the first; throttling retries back off with jitter. Default 4. */
  readonly maxAttempts?: number | undefined;
  /** Paces every attempt of every call (see {@link paceAttempts}); absent = no client-side limit. */
  readonly rateLimiter?: RateLimiter | undefined;
  /** Anything else the SDK takes (credentials, request handler) — tests use it. */
  readonly clientConfig?: Omit<KMSClientConfig, "region" | "endpoint" | "maxAttempts"> | undefined;
  /** Member accounts: absent, forAccount is not offered and every key is the deployment account's. */
  readonly members?: MemberRouting | undefined;
}

/**
 * Builds the per-Region clients. The SDK's standard retry strategy gives exponential backoff with full
 * jitter on ThrottlingException and transient errors, so Tether does not write its own.
 */
export function kmsClients(options: KmsClientsOptions = {}): KmsClients {
  const clients = new Map<string, KMSClient>();
  const build = (region: string, config: KmsClientsOptions["clientConfig"], account?: string): KMSClient => {
    const client = new KMSClient({
      ...config,
      region,
      maxAttempts: options.maxAttempts ?? 4,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    });
    if (options.rateLimiter !== undefined) paceAttempts(client, region, options.rateLimiter, account);
    return client;
  };
  const forRegion = (region: string): KMSClient => {
    let client = clients.get(region);
    if (client === undefined) {
      client = build(region, options.clientConfig);
      clients.set(region, client);
    }
    return client;
  };
  const members = options.members;
  if (members === undefined) return { forRegion };
  return { forRegion, forAccount: memberClients(members, forRegion, build, options.clientConfig) };
}

/**
 * forAccount over member routing: the deployment's account → its own client; a registered member → a client
 * per member and Region whose credentials are the member role's session for this function (assumed when
 * first signed with, renewed before expiry by StsMemberCredentials; a refusal is its MemberAccessError);
 * anything else → AccountNotRegisteredError. A member's registration is read at most once per TTL (a member
 * removed stops being reached within it); an account not registered is read again each time.
 */
function memberClients(
  members: MemberRouting,
  own: (region: string) => KMSClient,
  build: (region: string, config: KmsClientsOptions["clientConfig"], account?: string) => KMSClient,
  clientConfig: KmsClientsOptions["clientConfig"],
): (region: string, accountId: string) => Promise<KMSClient> {
  const ttlMs = members.registryTtlMs ?? 60_000;
  const now = members.now ?? (() => new Date());
  const roles = new Map<string, { role: MemberRole; readAt: number }>();
  const clients = new Map<string, { client: KMSClient; role: MemberRole }>();
  const roleOf = async (accountId: string): Promise<MemberRole | undefined> => {
    const cached = roles.get(accountId);
    if (cached !== undefined && now().getTime() - cached.readAt < ttlMs) return cached.role;
    const member = await members.registry.get(accountId);
    if (member === undefined) {
      roles.delete(accountId);
      return undefined;
    }
    const role = { accountId, roleArn: member.roleArn, externalId: member.externalId };
    roles.set(accountId, { role, readAt: now().getTime() });
    return role;
  };
  return async (region, accountId) => {
    const hub = await members.hubAccountId();
    if (accountId === hub) return own(region);
    const role = await roleOf(accountId);
    if (role === undefined) throw new AccountNotRegisteredError({ accountId, hubAccountId: hub });
    const key = `${accountId}/${region}`;
    const existing = clients.get(key);
    // Same role and external id: keep the client (and its session); re-registered otherwise: a new one.
    if (existing !== undefined && sameRole(existing.role, role)) return existing.client;
    existing?.client.destroy();
    const provider = members.credentials.providerFor(role, members.actor);
    const client = build(
      region,
      {
        ...clientConfig,
        // The provider is the one cache, judging expiry by the functions' clock (locally the emulator's, which
        // tests and the demo move by days); the SDK's own cache judges by the system clock. So the SDK is told
        // each session is ending now: it asks the provider on every request, which answers from its cache.
        credentials: async () => ({ ...(await provider()), expiration: new Date() }),
      },
      accountId,
    );
    clients.set(key, { client, role });
    return client;
  };
}

function sameRole(a: MemberRole, b: MemberRole): boolean {
  return a.roleArn === b.roleArn && a.externalId === b.externalId;
}

/** The name of the pacing middleware in a client's middleware stack. */
export const PACING_MIDDLEWARE = "tetherKmsPacing";

/** The limiter each paced client waits for, so pacing is installed once per client. */
const pacedBy = new WeakMap<KMSClient, RateLimiter>();

/**
 * Makes every HTTP attempt of every call on `client` wait for `limiter`'s turn for (`region`, operation):
 * the first try and each of the SDK's retries alike. Pacing once per call, before the SDK, let the retries
 * of throttled calls go out unpaced, so under load one throttle brought more (KMS request quotas are per
 * account and Region and shared: https://docs.aws.amazon.com/kms/latest/developerguide/throttling.html).
 *
 * The middleware runs in the finalizeRequest step after the SDK's retryMiddleware, which calls the rest of
 * the stack once per attempt, and before httpSigningMiddleware, so a request that waited a long time is
 * signed when it leaves, not when it started waiting (a SigV4 signature is only good for five minutes:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html).
 *
 * Each attempt waits in the budget of the account that owns the key (KMS counts quotas per account and
 * Region: https://docs.aws.amazon.com/kms/latest/developerguide/limits.html): the account the request's key
 * ARN names, else `account` (the client's own, for a member account's client), else the deployment's own.
 *
 * Installing it again with the same limiter does nothing.
 * @throws Error when `client` is already paced by another limiter (its calls would wait twice)
 */
export function paceAttempts(
  client: KMSClient,
  region: string,
  limiter: RateLimiter,
  account?: string,
): void {
  const current = pacedBy.get(client);
  if (current === limiter) return;
  if (current !== undefined) {
    throw new Error(`The KMS client for ${region} is already paced by another rate limiter.`);
  }
  const pace: FinalizeRequestMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
    const keyId = (args.input as { KeyId?: unknown }).KeyId;
    await limiter.acquire(region, operationOf(context.commandName), accountOfKeyId(keyId) ?? account);
    return next(args);
  };
  client.middlewareStack.addRelativeTo(pace, {
    name: PACING_MIDDLEWARE,
    relation: "before",
    toMiddleware: "httpSigningMiddleware",
  });
  pacedBy.set(client, limiter);
}

/** `ImportKeyMaterialCommand` → `ImportKeyMaterial`, the operation name the quotas are listed by. */
function operationOf(commandName: string | undefined): string {
  const name = commandName ?? "";
  return name.endsWith("Command") ? name.slice(0, -"Command".length) : name;
}
