/**
 * Benchmark 1: what one sweep costs against the number of keys managed, beside a naive sweep (Scan the
 * table, DescribeKey every key) over the same table in the same process run.
 *
 * Due keys (1 %) are real: registered through Tether, so they exist in the KMS emulator with imported
 * material and the sweep's DescribeKey finds them. The other 99 % are seeded straight into the table with
 * the store's own item mappers (BatchWriteItem) and do not exist in KMS: Tether's sweep never asks KMS about
 * a key that is not due, and the naive sweep's DescribeKey of such a key still costs one KMS call (the
 * emulator counts it; it answers NotFoundException), so call counts are exact without 99,000 real keys.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../lib/config.js";
import type { Bed } from "./lib/bed.js";
import { bundleEntry, lambdaNodeOptions } from "./lib/bundle.js";
import { runNode } from "./lib/child.js";
import { forEachBounded, makeDue, seedIdleKeys } from "./lib/seed.js";
import { field, repeat, type Summary } from "./lib/stats.js";
import type { WorkerInput, WorkerOutput } from "./sweep-worker.js";

export interface SweepCostOptions {
  readonly sizes: readonly number[];
  readonly runs: number;
  /** Share of keys due, 0.01 in the issue. */
  readonly dueShare?: number;
  readonly log?: (line: string) => void;
}

export interface SweepSide {
  readonly itemsRead: Summary;
  readonly readCapacityUnits: Summary;
  readonly kmsCalls: Summary;
  readonly wallMs: Summary;
  /** Peak RSS of the worker process (VmHWM; maxRSS where there is no /proc: peakRssSource). */
  readonly peakRssMb: Summary;
  readonly peakRssSource: string;
  /** getrusage's maxRSS of the worker, which on Linux carries over memory of the process that spawned it. */
  readonly ruMaxRssMb: Summary;
  /** RSS of the worker once loaded, before the sweep (runtime, SDK and Tether's code): the fixed part of the peak. */
  readonly loadedRssMb: Summary;
  readonly processed: number;
  readonly itemsByOperation: Record<string, number>;
  readonly outcomes: Record<string, number>;
}

export interface SweepCostRow {
  readonly keys: number;
  readonly due: number;
  readonly seedMs: number;
  readonly tether: SweepSide;
  readonly naive: SweepSide;
  /** naive items read / Tether items read (medians). */
  readonly naiveItemsRatio: number;
  /** Tether items read / keys due (median). */
  readonly itemsPerDueKey: number;
  /** Tether items read from the due-work index only / keys due. */
  readonly indexItemsPerDueKey: number;
}

const IDLE_AHEAD_MS = 200 * 24 * 60 * 60 * 1000;

export async function benchSweepCost(bed: Bed, options: SweepCostOptions): Promise<SweepCostRow[]> {
  const log = options.log ?? (() => {});
  const dueShare = options.dueShare ?? 0.01;
  const setup = bed.deps({ unlimited: true });
  const dueKeys: string[] = [];
  let idle = 0;
  const rows: SweepCostRow[] = [];
  // Each sweep runs from a bundle, with the functions' NODE_OPTIONS, as the sweep Lambda runs: its peak RSS
  // is then the sweep's, not that of a TypeScript loader compiling the sources in the process (README).
  const bundleDir = await mkdtemp(join(tmpdir(), "tether-sweep-worker-"));
  try {
    const worker = await bundleEntry("bench/sweep-worker.ts", bundleDir, "sweep-worker");
    const nodeOptions = await lambdaNodeOptions();
    for (const size of [...options.sizes].sort((a, b) => a - b)) {
      const due = Math.max(1, Math.round(size * dueShare));
      const seedStarted = performance.now();
      if (due > dueKeys.length) {
        const keys = await bed.registerMany(
          due - dueKeys.length,
          { validityPeriod: "P30D", renewBefore: "P7D" },
          setup,
        );
        dueKeys.push(...keys.map((key) => key.id));
      }
      const idleWanted = size - due;
      if (idleWanted > idle) {
        await seedIdleKeys(
          setup.dynamodbClient,
          bed.tableName,
          "eu-west-1",
          idleWanted - idle,
          new Date(bed.now().getTime() + IDLE_AHEAD_MS),
        );
        idle = idleWanted;
      }
      const seedMs = performance.now() - seedStarted;
      log(`sweep-cost: ${size} keys seeded (${due} due) in ${(seedMs / 1000).toFixed(1)} s`);

      const side = async (mode: WorkerInput["mode"]) => {
        const runs = await repeat(options.runs, async () => {
          const dueAt = new Date(bed.now().getTime() - 1000);
          await forEachBounded(dueKeys.slice(0, due), 16, (id) =>
            makeDue(setup.dynamodbClient, bed.tableName, id, "eu-west-1", dueAt),
          );
          await bed.aws.kms.admin.resetStats();
          const input: WorkerInput = {
            mode,
            env: bed.env,
            vaultDir: bed.vaultDir,
            offsetMs: bed.now().getTime() - Date.now(),
            limit: due,
            concurrency: loadConfig(bed.env).sweepConcurrency,
          };
          const output = JSON.parse(
            await runNode([...nodeOptions, worker, JSON.stringify(input)], {
              ...process.env,
              AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
            }),
          ) as WorkerOutput;
          const stats = await bed.aws.kms.admin.stats();
          const kmsCalls = Object.values(stats.calls).reduce(
            (sum, byOperation) => sum + Object.values(byOperation).reduce((a, b) => a + b, 0),
            0,
          );
          return { ...output, kmsCalls };
        });
        const last = runs[runs.length - 1] as (typeof runs)[number];
        return {
          itemsRead: field(runs, (r) => r.itemsRead),
          readCapacityUnits: field(runs, (r) => r.readCapacityUnits),
          kmsCalls: field(runs, (r) => r.kmsCalls),
          wallMs: field(runs, (r) => r.wallMs),
          peakRssMb: field(runs, (r) => r.peakRssMb),
          peakRssSource: last.peakRssSource,
          ruMaxRssMb: field(runs, (r) => r.ruMaxRssMb),
          loadedRssMb: field(runs, (r) => r.loadedRssMb),
          processed: last.processed,
          itemsByOperation: last.itemsByOperation,
          outcomes: last.outcomes,
        } satisfies SweepSide;
      };
      const tether = await side("tether");
      log(
        `sweep-cost: ${size} keys: Tether read ${tether.itemsRead.median} items in ${tether.wallMs.median.toFixed(0)} ms`,
      );
      const naive = await side("naive");
      log(
        `sweep-cost: ${size} keys: naive read ${naive.itemsRead.median} items in ${naive.wallMs.median.toFixed(0)} ms`,
      );
      const indexItems = tether.itemsByOperation["Query:due"] ?? 0;
      rows.push({
        keys: size,
        due,
        seedMs,
        tether,
        naive,
        naiveItemsRatio: naive.itemsRead.median / tether.itemsRead.median,
        itemsPerDueKey: tether.itemsRead.median / due,
        indexItemsPerDueKey: indexItems / due,
      });
    }
  } finally {
    setup.close();
    await rm(bundleDir, { recursive: true, force: true });
  }
  return rows;
}
