/**
 * CI's smoke run of the benchmarks: every benchmark at a tiny size, to prove they still work. It asserts
 * that they complete and that their numbers are sane and agree with each other — never anything about
 * speed (machines are noisy; the figures are for `npm run bench`).
 */
import { describe, expect, it } from "vitest";
import type { Summary } from "../../bench/lib/stats.js";
import { toMarkdown } from "../../bench/report.js";
import { runBench, SMOKE_PLAN } from "../../bench/run.js";

const sane = (summary: Summary) => {
  expect(Number.isFinite(summary.median)).toBe(true);
  expect(summary.min).toBeLessThanOrEqual(summary.median);
  expect(summary.median).toBeLessThanOrEqual(summary.max);
};

describe("benchmarks (smoke size)", () => {
  it("run end to end and produce consistent figures", { timeout: 120_000 }, async () => {
    const results = await runBench(SMOKE_PLAN, "vitest smoke", () => {});

    const [sweepRow] = results.sweepCost;
    expect(sweepRow).toBeDefined();
    if (sweepRow === undefined) return;
    expect(sweepRow.tether.processed).toBe(sweepRow.due);
    expect(sweepRow.tether.outcomes.none).toBe(sweepRow.due);
    expect(sweepRow.tether.itemsRead.median).toBeGreaterThan(0);
    expect(sweepRow.tether.itemsByOperation["Query:due"]).toBe(sweepRow.due);
    expect(sweepRow.tether.kmsCalls.median).toBe(sweepRow.due);
    expect(sweepRow.naive.processed).toBe(sweepRow.keys);
    expect(sweepRow.naive.kmsCalls.median).toBe(sweepRow.keys);
    expect(sweepRow.naive.itemsRead.median).toBeGreaterThanOrEqual(sweepRow.keys);
    expect(Number.isFinite(sweepRow.naiveItemsRatio)).toBe(true);
    for (const side of [sweepRow.tether, sweepRow.naive]) {
      sane(side.wallMs);
      expect(side.peakRssMb.median).toBeGreaterThan(0);
    }

    expect(results.massRenewal.length).toBe(SMOKE_PLAN.shares.length + 1);
    for (const row of results.massRenewal) {
      expect(row.renewed.median + row.failed.median).toBe(row.keys);
      expect(row.importCalls.median).toBeGreaterThanOrEqual(row.renewed.median);
      expect(row.importsPerSecond.median).toBeGreaterThan(0);
      sane(row.importsPerSecond);
      expect(Number.isFinite(row.shareOfIdeal)).toBe(true);
      expect(row.shareOfAllowed).toBeCloseTo(row.shareOfIdeal / row.quotaShare, 6);
    }

    const restore = results.restore;
    expect(restore).toBeDefined();
    if (restore === undefined) return;
    expect(restore.event.trials).toBe(SMOKE_PLAN.trials);
    expect(restore.event.sameMaterial).toBe(SMOKE_PLAN.trials);
    sane(restore.event.totalMs);
    expect(restore.event.p99Ms).toBeGreaterThanOrEqual(restore.event.totalMs.median);
    expect(restore.event.split.kmsRoundTripMs.median).toBeGreaterThan(0);
    expect(restore.event.tetherShare).toBeGreaterThanOrEqual(0);
    expect(restore.event.tetherShare + restore.event.emulatorShare).toBeLessThanOrEqual(1.0001);
    expect(restore.sweep.restored).toBe(SMOKE_PLAN.sweepKeys * SMOKE_PLAN.sweepRuns);
    expect(restore.sweep.sameMaterial).toBe(SMOKE_PLAN.sweepKeys * SMOKE_PLAN.sweepRuns);

    expect(results.coldStart.map((row) => row.name)).toEqual(["api", "sweep", "kms-events"]);
    for (const row of results.coldStart) {
      expect(row.zipKb).toBeGreaterThan(0);
      expect(row.zipKb).toBeLessThan(row.bundleKb);
      expect(row.bare.clients.length).toBeGreaterThan(0);
      sane(row.initMs);
      sane(row.initCpuMs);
      sane(row.bare.initCpuMs);
      expect(Number.isFinite(row.initRatio)).toBe(true);
      expect(Number.isFinite(row.initCpuRatio)).toBe(true);
      // A client is either evaluated at init (and in the bare handler) or loaded on first use, not both.
      expect(row.lazyClients.filter((client) => row.bare.clients.includes(client))).toEqual([]);
    }

    const markdown = toMarkdown(results);
    expect(markdown).toContain("### 1. Sweep cost");
    expect(markdown).toContain("### 4. Cold start");
  });
});
