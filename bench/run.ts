/**
 * `npm run bench`: every benchmark against the local AWS started in this process; writes
 * bench/results/latest.json and latest.md and prints the table.
 * `npm run bench:smoke` (--smoke): every benchmark at a tiny size, results to the temp directory; asserts
 * nothing about speed (test/bench/smoke.test.ts checks the numbers are sane).
 *
 * Options: --smoke; --only=sweep,renewal,restore,cold; --sizes=1000,10000,100000; --runs=3;
 * --renewal-keys=1000; --renewal-runs=1; --cold-keys=10; --trials=50; --init-runs=20; --out=<dir>.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchColdStart } from "./cold-start.js";
import { startBed } from "./lib/bed.js";
import { BENCH_DIR } from "./lib/child.js";
import { benchColdRenewal, benchMassRenewal } from "./mass-renewal.js";
import { type BenchResults, machine, toMarkdown } from "./report.js";
import { benchRestore } from "./restore.js";
import { benchSweepCost } from "./sweep-cost.js";

export interface BenchPlan {
  readonly only: readonly string[];
  readonly sizes: readonly number[];
  readonly runs: number;
  readonly renewalKeys: number;
  readonly renewalRuns: number;
  readonly shares: readonly number[];
  readonly coldKeys: number;
  readonly trials: number;
  readonly sweepKeys: number;
  readonly sweepRuns: number;
  readonly initRuns: number;
}

export const FULL_PLAN: BenchPlan = {
  only: ["sweep", "renewal", "restore", "cold"],
  sizes: [1000, 10_000, 100_000],
  runs: 3,
  renewalKeys: 1000,
  renewalRuns: 1,
  shares: [0.8, 1],
  coldKeys: 10,
  trials: 50,
  sweepKeys: 10,
  sweepRuns: 3,
  initRuns: 20,
};

export const SMOKE_PLAN: BenchPlan = {
  only: FULL_PLAN.only,
  sizes: [100],
  runs: 1,
  renewalKeys: 3,
  renewalRuns: 1,
  shares: [1],
  coldKeys: 1,
  trials: 2,
  sweepKeys: 1,
  sweepRuns: 1,
  initRuns: 1,
};

/** Runs the plan. Benchmarks that are not in `only` are left out of the results. */
export async function runBench(
  plan: BenchPlan,
  command: string,
  log: (line: string) => void,
): Promise<BenchResults> {
  const startedAt = new Date();
  const notes: string[] = [];
  const results = { sweepCost: [], massRenewal: [], restore: undefined, coldStart: [] } as Pick<
    BenchResults,
    "sweepCost" | "massRenewal" | "restore" | "coldStart"
  > & {
    sweepCost: BenchResults["sweepCost"];
    massRenewal: BenchResults["massRenewal"];
    restore: BenchResults["restore"];
    coldStart: BenchResults["coldStart"];
  };
  const withBed = async <T>(work: (bed: Awaited<ReturnType<typeof startBed>>) => Promise<T>): Promise<T> => {
    const bed = await startBed();
    try {
      return await work(bed);
    } finally {
      await bed.close();
    }
  };
  if (plan.only.includes("sweep")) {
    results.sweepCost = await withBed((bed) =>
      benchSweepCost(bed, { sizes: plan.sizes, runs: plan.runs, log }),
    );
  }
  if (plan.only.includes("renewal")) {
    results.massRenewal = await withBed((bed) =>
      benchMassRenewal(bed, { keys: plan.renewalKeys, runs: plan.renewalRuns, shares: plan.shares, log }),
    );
    if (plan.coldKeys > 0)
      results.massRenewal.push(await withBed((bed) => benchColdRenewal(bed, plan.coldKeys, log)));
  }
  if (plan.only.includes("restore")) {
    results.restore = await withBed((bed) =>
      benchRestore(bed, { trials: plan.trials, sweepKeys: plan.sweepKeys, sweepRuns: plan.sweepRuns, log }),
    );
  }
  if (plan.only.includes("cold")) results.coldStart = await benchColdStart({ initRuns: plan.initRuns, log });
  return {
    command,
    startedAt: startedAt.toISOString(),
    durationS: (Date.now() - startedAt.getTime()) / 1000,
    machine: machine(),
    ...results,
    notes,
  };
}

function parsePlan(args: readonly string[]): { plan: BenchPlan; smoke: boolean; out: string | undefined } {
  const smoke = args.includes("--smoke");
  const base = smoke ? SMOKE_PLAN : FULL_PLAN;
  const value = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const list = (name: string) =>
    value(name)
      ?.split(",")
      .filter((x) => x.length > 0);
  const num = (name: string, fallback: number) => {
    const v = value(name);
    if (v === undefined) return fallback;
    const parsed = Number(v);
    if (!Number.isFinite(parsed) || parsed < 0) throw new RangeError(`--${name} must be a number`);
    return parsed;
  };
  return {
    smoke,
    out: value("out"),
    plan: {
      only: list("only") ?? base.only,
      sizes: list("sizes")?.map(Number) ?? base.sizes,
      runs: num("runs", base.runs),
      renewalKeys: num("renewal-keys", base.renewalKeys),
      renewalRuns: num("renewal-runs", base.renewalRuns),
      shares: list("shares")?.map(Number) ?? base.shares,
      coldKeys: num("cold-keys", base.coldKeys),
      trials: num("trials", base.trials),
      sweepKeys: num("sweep-keys", base.sweepKeys),
      sweepRuns: num("sweep-runs", base.sweepRuns),
      initRuns: num("init-runs", base.initRuns),
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const args = process.argv.slice(2);
  const { plan, smoke, out } = parsePlan(args);
  const command = `npm run ${smoke ? "bench:smoke" : "bench"}${args
    .filter((a) => a !== "--smoke")
    .map((a) => ` ${a}`)
    .join("")}`;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const results = await runBench(plan, command, log);
  const dir = out ?? (smoke ? join(tmpdir(), "tether-bench-smoke") : join(BENCH_DIR, "results"));
  await mkdir(dir, { recursive: true });
  const markdown = toMarkdown(results);
  await writeFile(join(dir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(dir, "latest.md"), `${markdown}\n`);
  process.stdout.write(`${markdown}\nWritten to ${dir}/latest.{md,json}\n`);
}
