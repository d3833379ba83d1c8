/** The soak's markdown report and the machine it ran on. */
import { cpus, freemem, loadavg, totalmem } from "node:os";
import type { LoadReport, Percentiles } from "./load.js";

export interface MachineView {
  readonly nproc: number;
  readonly cpu: string;
  readonly node: string;
  readonly loadavg: number[];
  readonly memFreeMb: number;
  readonly memTotalMb: number;
}

export function machine(): MachineView {
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? "?",
    node: process.version,
    loadavg: loadavg().map((n) => Math.round(n * 100) / 100),
    memFreeMb: Math.round(freemem() / 1024 / 1024),
    memTotalMb: Math.round(totalmem() / 1024 / 1024),
  };
}

export interface SoakContext {
  readonly command: string;
  readonly environment: Record<string, string | undefined>;
  readonly sharedPrimes: boolean;
  /** dynalite and the KMS emulator each ran in a child process of their own. */
  readonly childProcesses?: boolean;
  readonly register: string;
  readonly before: MachineView;
  readonly after: MachineView;
  readonly note: string;
  readonly finishedAt: string;
}

const row = (name: string, p: Percentiles) =>
  `| ${name} | ${p.count} | ${p.p50} | ${p.p90} | ${p.p99} | ${p.max} |`;

const histogram = (statuses: Record<string, number>) =>
  Object.entries(statuses)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([s, n]) => `${s}: ${n}`)
    .join(", ");

export function soakMarkdown(context: SoakContext, r: LoadReport): string {
  const m = r.memory;
  const series = (process: string, name: string, s: typeof m.rssMb) =>
    `| ${process} | ${name} | ${s.first} | ${s.last} | ${s.min} | ${s.max} | ${s.slopeMbPerMin} |`;
  const lines = [
    "# Soak: admin API under load while sweeps and KMS events run (local stack, quotas on)",
    "",
    `Finished ${context.finishedAt}. ${r.keys} keys, ${r.concurrency} concurrent admin clients, ` +
      `${r.seconds} s of load then ${r.drainSeconds} s to drain (requests in flight, late events, a last ` +
      `sweep, the bus), emulator quotas on (AWS defaults). Keys registered (${context.register}) in ${r.registerSeconds} s.`,
    `Machine: ${context.before.nproc} × ${context.before.cpu}, Node ${context.before.node}; load average ` +
      `${context.before.loadavg.join(" / ")} before, ${context.after.loadavg.join(" / ")} after.`,
    ...(context.note === "" ? [] : ["", context.note]),
    "",
    "## Outcome",
    "",
    `- Requests: ${r.requests}; statuses: ${histogram(r.statuses)}.`,
    `- Unexpected answers (other than 2xx, 409, 429): **${r.unexpected}**.`,
    ...r.unexpectedSamples.map(
      (u) => `  - ${u.operation} → ${u.status} after ${u.ms} ms: \`${u.body.replaceAll("`", "'")}\``,
    ),
    `- Sweeps: ${r.sweeps} (failed: **${r.sweepErrors}**); region outcomes: ${JSON.stringify(r.sweepOutcomes)}.`,
    `- KMS events (out-of-band deletions, CloudTrail): ${r.kmsEvents}, of which ${r.kmsEventsDuplicated} delivered twice and ${r.kmsEventsLate} delivered 2–5 s late.`,
    `- Leases still held after the run: **${r.stuckLeases}**.`,
    `- KMS calls during the run: ${JSON.stringify(r.kms.calls)}; throttled by the quotas: ${JSON.stringify(r.kms.throttles)}.`,
    "",
    "## Latency (ms, client side, loopback)",
    "",
    "| requests | count | p50 | p90 | p99 | max |",
    "|---|---:|---:|---:|---:|---:|",
    row("all", { count: r.requests, ...r.latencyMs }),
    row("reads (list, show, history)", r.latencyByKind.read),
    row("writes (reimport, policy, revoke, restore)", r.latencyByKind.write),
    "",
    "Per minute:",
    "",
    "| minute | count | p50 | p90 | p99 | max | statuses |",
    "|---:|---:|---:|---:|---:|---:|---|",
    ...r.perMinute.map(
      (w) =>
        `| ${w.minute} | ${w.count} | ${w.p50} | ${w.p90} | ${w.p99} | ${w.max} | ${histogram(w.statuses)} |`,
    ),
    "",
    "Statuses per operation:",
    "",
    "| operation | statuses |",
    "|---|---|",
    ...Object.entries(r.statusesByOperation).map(([op, s]) => `| ${op} | ${histogram(s)} |`),
    "",
    `## Memory (${m.samples} samples${m.gcBeforeSample ? ", each after a full GC" : ""}; MB)`,
    "",
    ...(context.childProcesses === true
      ? [
          "dynalite and the KMS emulator each run in a child process of their own and are sampled apart. The",
          "main process holds Tether's functions, the API Gateway stand-in, the event bus and the load's clients.",
        ]
      : [
          "The whole local stack runs in this one process: Tether's functions, the API stand-in, dynalite (its",
          "table is in memory and grows with every history event written), the KMS emulator and the event bus.",
        ]),
    "",
    "| process | series | first | last | min | max | slope MB/min |",
    "|---|---|---:|---:|---:|---:|---:|",
    series(context.childProcesses === true ? "Tether (main)" : "all (one process)", "RSS", m.rssMb),
    series("", "V8 heap used", m.heapUsedMb),
    series("", "external", m.externalMb),
    ...Object.entries(m.children ?? {}).flatMap(([name, c]) => [
      series(`${name} (pid ${c.pid})`, "RSS", c.rssMb),
      series("", "V8 heap used", c.heapUsedMb),
      series("", "external", c.externalMb),
    ]),
    "",
    `DynamoDB requests during the run: ${JSON.stringify(r.dynamodb.requests)}. One Query costs dynalite ` +
      `${r.dynamodb.perQueryKb.heap} KB of heap and ${r.dynamodb.perQueryKb.external} KB of external memory for ` +
      `good (measured after the run over ${r.dynamodb.calibrationQueries} Queries of an empty partition), so the ` +
      `run's ${r.dynamodb.requests.Query ?? 0} Queries account for about ${r.dynamodb.estimatedMb.heap} MB of heap and ` +
      `${r.dynamodb.estimatedMb.external} MB of external memory; growth over the run (last − first sample): heap ` +
      `${Math.round((m.heapUsedMb.last - m.heapUsedMb.first) * 10) / 10} MB, external ` +
      `${Math.round((m.externalMb.last - m.externalMb.first) * 10) / 10} MB.`,
    "",
    `Events the local buses held at the end (a bounded history, kept in the main process): ` +
      `${JSON.stringify(r.eventBusHistory?.events ?? {})}, ${r.eventBusHistory?.jsonMb ?? "?"} MB as JSON.`,
    `Tether's table at the end: ${r.table.items} items, ${r.table.mb} MB of names and values.`,
    ...(r.tableMemory === undefined
      ? []
      : (() => {
          // dynalite's own process when it ran apart.
          const before = r.tableMemory.before.children?.dynalite ?? r.tableMemory.before;
          const after = r.tableMemory.after.children?.dynalite ?? r.tableMemory.after;
          const where = r.tableMemory.before.children?.dynalite === undefined ? "" : " in dynalite's process";
          return [
            `Deleting it released ${Math.round((before.heapUsedMb - after.heapUsedMb) * 10) / 10} MB of heap and ` +
              `${Math.round((before.externalMb - after.externalMb) * 10) / 10} MB of external memory${where} ` +
              `(heap ${before.heapUsedMb} → ${after.heapUsedMb} MB, external ` +
              `${before.externalMb} → ${after.externalMb} MB, RSS ${before.rssMb} → ${after.rssMb} MB).`,
          ];
        })()),
    "",
    `Command: \`${context.command}\` with ${JSON.stringify(context.environment)}` +
      (context.sharedPrimes ? "; emulator wrapping keys from shared primes." : "."),
    "",
  ];
  return `${lines.join("\n")}\n`;
}
