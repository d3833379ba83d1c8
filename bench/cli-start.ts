/**
 * `npm run bench:cli-start`: how long `tether --help` takes to print, the packaged CLI (dist/cli/tether.mjs,
 * plain Node) against today's repository CLI (bin/tether.js, through tsx), alternating in one process run
 * so both see the same machine load. Builds the package first. Prints and writes bench/results/cli-start.json.
 *
 * Options: --runs=N (default 15 each), --out=FILE.
 */
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCli } from "../scripts/build-cli.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Wall time from spawn to exit of one `node <args> --help`, in ms; fails unless it printed the help. */
export async function timeHelp(args: readonly string[]): Promise<number> {
  const started = performance.now();
  let out = "";
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [...args, "--help"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once("error", reject);
    child.once("exit", resolve);
  });
  const ms = performance.now() - started;
  if (code !== 0 || !out.includes("Usage: tether keys"))
    throw new Error(`${args.join(" ")} --help failed (${code})`);
  return ms;
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
  const times = { bundle: [] as number[], tsx: [] as number[] };
  for (let i = 0; i < runs; i++) {
    times.bundle.push(await timeHelp(bundle));
    times.tsx.push(await timeHelp(tsx));
  }
  const bundleStats = stats(times.bundle);
  const tsxStats = stats(times.tsx);
  return {
    at: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    loadAverage1m: loadavg()[0],
    runs,
    bundleMs: bundleStats,
    tsxMs: tsxStats,
    /** How many times faster the bundle is, by median. */
    speedup: tsxStats.median / bundleStats.median,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runs = Number(process.argv.find((a) => a.startsWith("--runs="))?.slice(7) ?? 15);
  const out =
    process.argv.find((a) => a.startsWith("--out="))?.slice(6) ?? join(ROOT, "bench/results/cli-start.json");
  const result = await benchCliStart(runs);
  const f = (s: { min: number; median: number; p90: number }) =>
    `median ${s.median.toFixed(0)} ms, min ${s.min.toFixed(0)} ms, p90 ${s.p90.toFixed(0)} ms`;
  console.log(
    `tether --help, ${runs} runs each, Node ${result.node}, ${result.cpus} CPUs, load ${result.loadAverage1m?.toFixed(1)}`,
  );
  console.log(`  packaged (node dist/cli/tether.mjs): ${f(result.bundleMs)}`);
  console.log(`  repository (bin/tether.js via tsx):  ${f(result.tsxMs)}`);
  console.log(`  the package starts ${result.speedup.toFixed(1)}× faster (median)`);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
}
