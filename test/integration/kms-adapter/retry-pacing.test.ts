/**
 * The client-side rate limiter paces every HTTP attempt, the SDK's retries included: throttled calls are
 * retried by the SDK (standard retry strategy, 4 attempts), and each retry must wait for the limiter as
 * the first try did. The local KMS answers ThrottlingException on request (its fault interface) and counts
 * the requests that reached it (its stats), so limiter acquisitions are compared with real attempts.
 */
import { CreateKeyCommand, type KMSClient } from "@aws-sdk/client-kms";
import { afterEach, describe, expect, it } from "vitest";
import { KmsThrottledError } from "../../../lib/domain/errors.js";
import { parseAwsRegion } from "../../../lib/domain/ids.js";
import { type KmsClients, kmsClients, PACING_MIDDLEWARE, paceAttempts } from "../../../lib/kms/clients.js";
import { KmsAdapter } from "../../../lib/kms/kms-adapter.js";
import { RateLimiter } from "../../../lib/kms/rate-limiter.js";
import type { Vault } from "../../../lib/lifecycle/ports.js";
import { useKmsEmulator } from "../../support/kms-testbed.js";

const REGION = parseAwsRegion("eu-west-1");
const CREDENTIALS = { accessKeyId: "AKIDLOCAL", secretAccessKey: "local-secret" };

/** A RateLimiter that records each turn it gives, as `Region/Operation`. */
class CountingLimiter extends RateLimiter {
  readonly turns: string[] = [];

  override acquire(region: string, operation: string): Promise<void> {
    this.turns.push(`${region}/${operation}`);
    return super.acquire(region, operation);
  }
}

/** DescribeKey never reaches the vault. */
const noVault = new Proxy({} as Vault, {
  get(_, property) {
    throw new Error(`the vault is not used here (${String(property)})`);
  },
});

describe("KMS rate limiter and SDK retries", () => {
  const local = useKmsEmulator(REGION);
  const clientsToClose: KmsClients[] = [];

  afterEach(async () => {
    for (const clients of clientsToClose.splice(0)) clients.forRegion(REGION).destroy();
    await local.emulator.admin.clearFaults();
  });

  async function newKey(): Promise<string> {
    const created = await local.kms.send(new CreateKeyCommand({}));
    return created.KeyMetadata?.KeyId as string;
  }

  /** The adapter as lib/composition-root.ts builds it: the limiter given to the adapter, not to kmsClients. */
  function adapterWith(limiter: RateLimiter, options: { limiterOnClients?: boolean } = {}) {
    const clients = kmsClients({
      endpoint: local.emulator.url,
      clientConfig: { credentials: CREDENTIALS },
      ...(options.limiterOnClients === true ? { rateLimiter: limiter } : {}),
    });
    clientsToClose.push(clients);
    return new KmsAdapter({ clients, vault: noVault, rateLimiter: limiter });
  }

  async function describeKeyAttempts(): Promise<number> {
    const stats = await local.emulator.admin.stats();
    return stats.calls[REGION]?.DescribeKey ?? 0;
  }

  it("waits for the limiter on every attempt of a call the SDK retries after throttles", async () => {
    const keyId = await newKey();
    const limiter = new CountingLimiter({ quotas: { DescribeKey: 50 } });
    const kms = adapterWith(limiter);
    await local.emulator.admin.resetStats();
    await local.emulator.admin.injectFault({
      operation: "DescribeKey",
      region: REGION,
      error: "ThrottlingException",
      count: 2,
    });

    const observed = await kms.describeKey(REGION, keyId);

    expect(observed).toMatchObject({ found: true, keyState: "Enabled" });
    const stats = await local.emulator.admin.stats();
    expect(stats.throttles[REGION]?.DescribeKey).toBe(2);
    expect(await describeKeyAttempts()).toBe(3);
    expect(limiter.turns).toEqual([
      `${REGION}/DescribeKey`,
      `${REGION}/DescribeKey`,
      `${REGION}/DescribeKey`,
    ]);
  });

  it("paces all four attempts of a call that stays throttled, then reports the throttle", async () => {
    const keyId = await newKey();
    const limiter = new CountingLimiter({ quotas: { DescribeKey: 50 } });
    const kms = adapterWith(limiter);
    await local.emulator.admin.resetStats();
    await local.emulator.admin.injectFault({
      operation: "DescribeKey",
      region: REGION,
      error: "ThrottlingException",
      probability: 1,
    });

    await expect(kms.describeKey(REGION, keyId)).rejects.toBeInstanceOf(KmsThrottledError);

    expect(await describeKeyAttempts()).toBe(4);
    expect(limiter.turns).toHaveLength(4);
  });

  it("takes one turn per attempt when the same limiter is given to kmsClients and to the adapter", async () => {
    const keyId = await newKey();
    const limiter = new CountingLimiter({ quotas: { DescribeKey: 50 } });
    const kms = adapterWith(limiter, { limiterOnClients: true });
    await local.emulator.admin.resetStats();
    await local.emulator.admin.injectFault({
      operation: "DescribeKey",
      region: REGION,
      error: "ThrottlingException",
      count: 1,
    });

    await kms.describeKey(REGION, keyId);
    await kms.describeKey(REGION, keyId);

    expect(await describeKeyAttempts()).toBe(3);
    expect(limiter.turns).toHaveLength(3);
  });

  it("waits after the SDK's retry middleware and before signing, so each attempt is signed when it leaves", () => {
    const clients = kmsClients({
      endpoint: local.emulator.url,
      clientConfig: { credentials: CREDENTIALS },
      rateLimiter: new RateLimiter({ quotas: {} }),
    });
    clientsToClose.push(clients);
    const order = (clients.forRegion(REGION) as KMSClient).middlewareStack
      .identify()
      .map((entry) => entry.split(" ")[0]);
    const retry = order.indexOf("retryMiddleware");
    const pacing = order.indexOf(PACING_MIDDLEWARE);
    const signing = order.indexOf("httpSigningMiddleware");
    expect(retry).toBeGreaterThanOrEqual(0);
    expect(pacing).toBeGreaterThan(retry);
    expect(signing).toBeGreaterThan(pacing);
  });

  it("refuses to pace one client with two limiters (its calls would wait twice)", () => {
    const limiter = new RateLimiter({ quotas: {} });
    const clients = kmsClients({
      endpoint: local.emulator.url,
      clientConfig: { credentials: CREDENTIALS },
      rateLimiter: limiter,
    });
    clientsToClose.push(clients);
    const client = clients.forRegion(REGION);
    expect(() => paceAttempts(client, REGION, limiter)).not.toThrow();
    expect(() => paceAttempts(client, REGION, new RateLimiter({ quotas: {} }))).toThrow(
      /another rate limiter/,
    );
  });
});
