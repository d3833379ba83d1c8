import { KMSClient, type KMSClientConfig } from "@aws-sdk/client-kms";
import type { FinalizeRequestMiddleware, MetadataBearer } from "@smithy/types";
import { accountOfKeyArn } from "../domain/key-arn.js";
import type { RateLimiter } from "./rate-limiter.js";

/** One KMS client per Region, created on first use and reused (Lambda keeps them across invocations). */
export interface KmsClients {
  forRegion(region: string): KMSClient;
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
}

/**
 * Builds the per-Region clients. The SDK's standard retry strategy gives exponential backoff with full
 * jitter on ThrottlingException and transient errors, so Tether does not write its own.
 */
export function kmsClients(options: KmsClientsOptions = {}): KmsClients {
  const clients = new Map<string, KMSClient>();
  return {
    forRegion(region) {
      let client = clients.get(region);
      if (client === undefined) {
        client = new KMSClient({
          ...options.clientConfig,
          region,
          maxAttempts: options.maxAttempts ?? 4,
          ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        });
        if (options.rateLimiter !== undefined) paceAttempts(client, region, options.rateLimiter);
        clients.set(region, client);
      }
      return client;
    },
  };
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
    await limiter.acquire(region, operationOf(context.commandName), accountOfKeyArn(keyId) ?? account);
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
