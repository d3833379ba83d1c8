/**
 * The rules that stay in lifecycle, on in-memory ports (memory-ports.ts): lease contention and the order
 * a region run writes in, which is what makes a crash anywhere resumable (audit first, then the record; an
 * import announced before it is made, settled by what KMS shows at the next run).
 */
import { describe, expect, it } from "vitest";
import {
  AuditDetailType,
  type AuditEvent,
  KmsThrottledError,
  LeaseNotAcquiredError,
} from "../../../lib/domain/index.js";
import { BUSY_RETRIES, withLease } from "../../../lib/lifecycle/helpers/lease.js";
import { reconcileRegion, reconcileWhenFree } from "../../../lib/lifecycle/region/reconcile-region.js";
import { ARN, memoryWorld, REGION } from "./memory-ports.js";

const SWEEP = { actor: "tether:sweep", correlationId: "c-1" };
const imported = (events: readonly AuditEvent[]) =>
  events.filter((e) => e.detailType === AuditDetailType.KeyMaterialImported);

describe("lease contention", () => {
  it("a Region held by another worker is busy: nothing read, nothing imported, the holder's lease kept", async () => {
    const world = memoryWorld();
    world.keys.steal(world.key.id, REGION);
    expect(await reconcileRegion(world.deps, world.key.id, REGION, SWEEP)).toEqual({ kind: "busy" });
    expect(world.kms.imports).toHaveLength(0);
    expect(world.audit.events).toHaveLength(0);
    expect(world.keys.leases.get(`${world.key.id}:${REGION}`)?.owner).toBe("other-worker");
  });

  it("two runs at once on one Region: one acts, the other is busy; the lease is free afterwards", async () => {
    const world = memoryWorld();
    const outcomes = await Promise.all([
      reconcileRegion(world.deps, world.key.id, REGION, SWEEP),
      reconcileRegion(world.deps, world.key.id, REGION, SWEEP),
    ]);
    expect(outcomes.map((o) => o.kind).sort()).toEqual(["busy", "imported"]);
    expect(world.kms.imports).toHaveLength(1);
    expect(imported(world.audit.events)).toHaveLength(1);
    expect(world.keys.leases.size).toBe(0);
  });

  it("withLease tries again while busy and runs the work once the holder let go", async () => {
    const world = memoryWorld();
    world.keys.steal(world.key.id, REGION);
    let tries = 0;
    const acquire = world.keys.acquireLease.bind(world.keys);
    world.keys.acquireLease = async (...args) => {
      if (++tries === 3) world.keys.leases.clear();
      return acquire(...args);
    };
    const leased = await withLease(world.deps, world.key.id, REGION, async (lease) => lease.owner, {
      retries: BUSY_RETRIES,
      waitMs: 1,
      purpose: "test",
    });
    expect(leased).toEqual({ acquired: true, value: expect.stringMatching(/^worker-1:test:/) });
    expect(tries).toBe(3);
    expect(world.keys.leases.size).toBe(0);
  });

  it("withLease gives up after its retries, and releases the lease when the work throws", async () => {
    const world = memoryWorld();
    world.keys.steal(world.key.id, REGION);
    let tries = 0;
    const acquire = world.keys.acquireLease.bind(world.keys);
    world.keys.acquireLease = async (...args) => {
      tries++;
      return acquire(...args);
    };
    const busy = await withLease(world.deps, world.key.id, REGION, async () => "never", {
      retries: 2,
      waitMs: 1,
    });
    expect(busy).toEqual({ acquired: false });
    expect(tries).toBe(3);
    world.keys.leases.clear();
    await expect(
      withLease(world.deps, world.key.id, REGION, async () => {
        throw new Error("work failed");
      }),
    ).rejects.toThrow("work failed");
    expect(world.keys.leases.size).toBe(0);
  });

  it("a lease lost mid-run ends it as lease-lost: the import is announced but nothing is recorded after", async () => {
    const world = memoryWorld();
    world.kms.afterImport = () => world.keys.steal(world.key.id, REGION);
    expect(await reconcileWhenFree(world.deps, world.key.id, REGION, SWEEP)).toEqual({ kind: "lease-lost" });
    expect(world.kms.imports).toHaveLength(1);
    // The audit event of the import was written (audit first), the record keeps the intent for the next run.
    expect(imported(world.audit.events)).toHaveLength(1);
    expect(world.keys.region(world.key.id, REGION)?.importInFlight).toBeDefined();
    expect(world.keys.leases.get(`${world.key.id}:${REGION}`)?.owner).toBe("other-worker");
  });
});

describe("crash resumption order", () => {
  it("the intent is written before the import, and the audit before the record", async () => {
    const world = memoryWorld();
    const order: string[] = [];
    world.keys.beforeSaveRegion = (record) =>
      order.push(record.importInFlight === undefined ? "record" : "intent");
    world.kms.beforeImport = () => order.push("import");
    world.audit.beforeRecord = (events) => order.push(`audit:${events.map((e) => e.detailType).join(",")}`);
    expect(await reconcileRegion(world.deps, world.key.id, REGION, SWEEP)).toMatchObject({
      kind: "imported",
    });
    expect(order).toEqual(["intent", "import", `audit:${AuditDetailType.KeyMaterialImported}`, "record"]);
  });

  it("a crash after the import and before its record: the next run records it once, under the intent's event id", async () => {
    const world = memoryWorld();
    world.audit.beforeRecord = () => {
      throw new Error("crash before the audit write");
    };
    await expect(reconcileRegion(world.deps, world.key.id, REGION, SWEEP)).rejects.toThrow("crash");
    const intent = world.keys.region(world.key.id, REGION)?.importInFlight;
    expect(intent).toBeDefined();
    expect(world.keys.leases.size).toBe(0);

    world.audit.beforeRecord = () => undefined;
    world.advance(60_000);
    expect(await reconcileRegion(world.deps, world.key.id, REGION, SWEEP)).toMatchObject({ kind: "none" });
    expect(world.kms.imports).toHaveLength(1);
    const events = imported(world.audit.events);
    expect(events.map((e) => e.id)).toEqual([intent?.eventId]);
    expect(world.logs).toContain("info an earlier import completed before a crash; recording it");
    const record = world.keys.region(world.key.id, REGION);
    expect(record?.importInFlight).toBeUndefined();
    expect(record?.lastImportedAt).toEqual(intent?.startedAt);
  });

  it("a timeout that may have imported keeps the intent; the next run finds it done and does not import again", async () => {
    const world = memoryWorld();
    world.kms.afterImport = () => {
      throw new Error("socket timeout");
    };
    expect(await reconcileRegion(world.deps, world.key.id, REGION, SWEEP)).toEqual({
      kind: "failed",
      errorName: "Error",
    });
    const intent = world.keys.region(world.key.id, REGION)?.importInFlight;
    expect(intent).toBeDefined();
    world.kms.afterImport = () => undefined;
    world.advance(60_000);
    expect((await reconcileRegion(world.deps, world.key.id, REGION, SWEEP)).kind).toBe("none");
    expect(world.kms.imports).toHaveLength(1);
    expect(imported(world.audit.events).map((e) => e.id)).toEqual([intent?.eventId]);
  });

  it("a refusal KMS explained means nothing was imported: the intent is forgotten and the next run imports afresh", async () => {
    const world = memoryWorld();
    world.kms.beforeImport = () => {
      throw new KmsThrottledError({ keyId: ARN, region: REGION, operation: "ImportKeyMaterial" });
    };
    expect(await reconcileRegion(world.deps, world.key.id, REGION, SWEEP)).toEqual({
      kind: "failed",
      errorName: "KmsThrottledError",
    });
    const failed = world.keys.region(world.key.id, REGION);
    expect(failed?.importInFlight).toBeUndefined();
    expect(failed?.consecutiveFailures).toBe(1);
    expect(world.audit.events.map((e) => e.detailType)).toEqual([AuditDetailType.ImportFailed]);

    world.kms.beforeImport = () => undefined;
    world.advance(
      failed?.nextCheckAt === undefined ? 0 : failed.nextCheckAt.getTime() - Date.parse("2025-06-01"),
    );
    expect((await reconcileRegion(world.deps, world.key.id, REGION, SWEEP)).kind).toBe("imported");
    expect(world.kms.imports).toHaveLength(1);
    expect(world.keys.region(world.key.id, REGION)?.consecutiveFailures).toBe(0);
  });

  it("an import the crash left undone (KMS shows no material) is forgotten and made afresh, under a new event id", async () => {
    const world = memoryWorld();
    world.kms.beforeImport = () => {
      throw new Error("crash before the import reached KMS");
    };
    await reconcileRegion(world.deps, world.key.id, REGION, SWEEP);
    const intent = world.keys.region(world.key.id, REGION)?.importInFlight;
    expect(intent).toBeDefined();
    world.kms.beforeImport = () => undefined;
    world.advance(10 * 60_000);
    expect((await reconcileRegion(world.deps, world.key.id, REGION, SWEEP)).kind).toBe("imported");
    expect(world.logs).toContain("warn an earlier import did not complete; deciding afresh");
    const events = imported(world.audit.events);
    expect(events).toHaveLength(1);
    expect(events[0]?.id).not.toBe(intent?.eventId);
  });

  it("a lease already lost when the intent is written: nothing imported, lease-lost", async () => {
    const world = memoryWorld();
    world.keys.beforeSaveRegion = () => {
      throw new LeaseNotAcquiredError("gone");
    };
    expect(await reconcileRegion(world.deps, world.key.id, REGION, SWEEP)).toEqual({ kind: "lease-lost" });
    expect(world.kms.imports).toHaveLength(0);
  });
});
