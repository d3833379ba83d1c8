/**
 * Issue 20, item 4: the sweep drains its due work per account-Region partition, so one account's trouble never
 * holds up another's. Two member accounts' keys in one table, against the local AWS over HTTP: every
 * ImportKeyMaterial of account A is throttled by the emulator (after a delay, as a KMS under pressure answers),
 * and B's renewals all finish while A's first one is still being retried, though A's keys come first in the
 * due-work index. With one global due list (or the partitions drained one at a time) B waited behind A.
 *
 * Each account's keys are created with its own credentials and its calls go to an adapter signing as it
 * (bench/lib/member-kms.ts), until the KMS adapter routes by account.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bed, type BenchDeps, startBed } from "../../../bench/lib/bed.js";
import {
  accountRoutedKms,
  type BenchAccount,
  listedMembers,
  registerAccounts,
  registerKeysPerAccount,
} from "../../../bench/lib/member-kms.js";
import { accountOfKeyId } from "../../../lib/domain/key-arn.js";
import { ImportParametersCache } from "../../../lib/kms/import-parameters.js";
import { RateLimiter } from "../../../lib/kms/rate-limiter.js";
import type { KmsPort, LifecycleDeps } from "../../../lib/lifecycle/ports.js";
import { sweep } from "../../../lib/lifecycle/scheduled/sweep.js";

const POLICY = { validityPeriod: "PT2H", renewBefore: "PT1H" };
const ADVANCE_MS = 61 * 60 * 1000;

let bed: Bed;
let members: BenchAccount[];
const cache = new ImportParametersCache();
const opened: BenchDeps[] = [];

beforeAll(async () => {
  bed = await startBed();
  members = await registerAccounts(bed.aws.kms.admin, 2);
  // A's keys first: they are due first, ahead of B's, in the due-work index.
  await registerKeysPerAccount(bed, members, [2, 4], POLICY, cache);
}, 120_000);
afterAll(async () => {
  for (const d of opened) d.close();
  await bed?.close();
});

/** The sweep's deps: one limiter, a KMS adapter per account; every import's end recorded with its account. */
function sweepDeps(ended: string[]): LifecycleDeps {
  const limiter = new RateLimiter({ quotas: { ImportKeyMaterial: 12, GetParametersForImport: 0.8 } });
  const hub = bed.deps({ parametersCache: cache, rateLimiter: limiter });
  opened.push(hub);
  const ports = new Map<string, KmsPort>();
  for (const member of members) {
    const own = bed.deps({
      parametersCache: cache,
      kmsCredentials: member.credentials,
      rateLimiter: limiter,
    });
    opened.push(own);
    ports.set(member.accountId, own.deps.kms);
  }
  const routed = accountRoutedKms(ports, hub.deps.kms);
  const kms: KmsPort = new Proxy(routed, {
    get(target, name) {
      const own = Reflect.get(target, name) as unknown;
      if (name !== "importMaterial" || typeof own !== "function") return own;
      return async (request: Parameters<KmsPort["importMaterial"]>[0]) => {
        try {
          return await target.importMaterial(request);
        } finally {
          ended.push(accountOfKeyId(request.keyId) ?? "?");
        }
      };
    },
  });
  return { ...hub.deps, kms, accounts: listedMembers(members) };
}

describe("the sweep per account-Region partition", () => {
  it("renews one account's keys while another account's partition is throttled", async () => {
    const [a, b] = members as [BenchAccount, BenchAccount];
    await bed.advance(ADVANCE_MS);
    await bed.aws.kms.admin.injectFault({
      account: a.accountId,
      operation: "ImportKeyMaterial",
      error: "ThrottlingException",
      probability: 1,
      latencyMs: 400,
    });
    const ended: string[] = [];
    try {
      const report = await sweep(sweepDeps(ended), {
        correlationId: "partitioned-sweep-test",
        limit: 100,
        // One worker per partition: with one global list, B's keys would wait for A's two throttled ones.
        concurrency: 1,
        partitionConcurrency: 2,
      });
      expect(report.partitions).toEqual([
        { partition: `${a.accountId}/eu-west-1`, due: 2, processed: 2 },
        { partition: `${b.accountId}/eu-west-1`, due: 4, processed: 4 },
      ]);
      expect(report.outcomes.renewed).toBe(4);
      // B's four imports all ended before A's first (each of A's attempts throttled after 400 ms, retried).
      expect(ended.slice(0, 4)).toEqual(Array(4).fill(b.accountId));
      expect(ended.slice(4)).toEqual([a.accountId, a.accountId]);
      const stats = await bed.aws.kms.admin.stats();
      expect(stats.throttles["eu-west-1"]?.ImportKeyMaterial).toBeGreaterThanOrEqual(2);
    } finally {
      await bed.aws.kms.admin.clearFaults();
    }
  }, 60_000);
});
