/**
 * `npm run bench:cli-start`: how long `tether --help` takes to print, the packaged CLI (dist/cli/tether.mjs,
 * plain Node) against today's repository CLI (bin/tether.js, through tsx), alternating in one process run
 * so both see the same machine load. Builds the package first. Prints and writes bench/results/cli-start.json.
 *
 * Options: --runs=N (default 15 each), --out=FILE.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCli } from "../scripts/build-cli.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

const GNU_TIME = "/usr/bin/time";

export interface HelpRun {
  /** Wall time from spawn to exit, ms. */
  readonly wallMs: number;
  /** User + system CPU time of the process (GNU time), ms; undefined without /usr/bin/time. */
  readonly cpuMs: number | undefined;
}

/**
 * One `node <args> --help`: wall time, and CPU time when /usr/bin/time is there (on a loaded machine the
 * CPU time says more: it does not count the wait for a core).
 * @throws unless it printed the help and exited 0
 */
export async function timeHelp(args: readonly string[]): Promise<HelpRun> {
  const withTime = existsSync(GNU_TIME);
  const command = withTime ? GNU_TIME : process.execPath;
  const argv = [...(withTime ? ["-f", "TETHER_CPU %U %S", process.execPath] : []), ...args, "--help"];
  const started = performance.now();
  let out = "";
  let err = "";
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(command, argv, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once("error", reject);
    child.once("exit", resolve);
  });
  const wallMs = performance.now() - started;
  if (code !== 0 || !out.includes("Usage: tether keys"))
    throw new Error(`${args.join(" ")} --help failed (${code}): ${err}`);
  const cpu = /TETHER_CPU ([\d.]+) ([\d.]+)/.exec(err);
  return { wallMs, cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : undefined };
}

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { min: sorted[0] ?? Number.NaN, median: at(0.5), p90: at(0.9) };
}

export async function benchCliStart(runs: number) {
  const dir = await buildCli();
  const bundle = [join(dir, "tether.mjs")];
  const tsx = [join(ROOT, "bin/tether.js")];
  // One warm-up each (file cache), not counted.
  await timeHelp(bundle);
  await timeHelp(tsx);
  const runsOf = { bundle: [] as HelpRun[], tsx: [] as HelpRun[] };
  for (let i = 0; i < runs; i++) {
    runsOf.bundle.push(await timeHelp(bundle));
    runsOf.tsx.push(await timeHelp(tsx));
  }
  const summary = (list: HelpRun[]) => ({
    wallMs: stats(list.map((r) => r.wallMs)),
    cpuMs: list.every((r) => r.cpuMs !== undefined) ? stats(list.map((r) => r.cpuMs as number)) : undefined,
  });
  const bundleStats = summary(runsOf.bundle);
  const tsxStats = summary(runsOf.tsx);
  return {
    at: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    loadAverage1m: loadavg()[0],
    runs,
    bundle: bundleStats,
    tsx: tsxStats,
    /** How many times faster the bundle is, by median wall time. */
    speedup: tsxStats.wallMs.median / bundleStats.wallMs.median,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runs = Number(process.argv.find((a) => a.startsWith("--runs="))?.slice(7) ?? 15);
  const out =
    process.argv.find((a) => a.startsWith("--out="))?.slice(6) ?? join(ROOT, "bench/results/cli-start.json");
  const result = await benchCliStart(runs);
  type Stats = { min: number; median: number; p90: number };
  const f = (s: Stats) =>
    `median ${s.median.toFixed(0)} ms, min ${s.min.toFixed(0)} ms, p90 ${s.p90.toFixed(0)} ms`;
  const line = (name: string, r: { wallMs: Stats; cpuMs: Stats | undefined }) =>
    `  ${name}: wall ${f(r.wallMs)}${r.cpuMs ? `; CPU ${f(r.cpuMs)}` : ""}`;
  console.log(
    `tether --help, ${runs} runs each, Node ${result.node}, ${result.cpus} CPUs, load ${result.loadAverage1m?.toFixed(1)}`,
  );
  console.log(line("packaged (node dist/cli/tether.mjs)", result.bundle));
  console.log(line("repository (bin/tether.js via tsx) ", result.tsx));
  console.log(`  the package starts ${result.speedup.toFixed(1)}× faster (median wall time)`);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
}
