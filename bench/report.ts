/** The results as one JSON document and a markdown table, with the machine they ran on. */
import { cpus } from "node:os";
import type { ColdStartRow } from "./cold-start.js";
import type { Summary } from "./lib/stats.js";
import type { RenewalRow } from "./mass-renewal.js";
import type { RestoreResult } from "./restore.js";
import type { SweepCostRow } from "./sweep-cost.js";

export interface BenchResults {
  readonly command: string;
  readonly startedAt: string;
  readonly durationS: number;
  readonly machine: {
    readonly nproc: number;
    readonly cpu: string;
    readonly node: string;
    readonly platform: string;
  };
  readonly sweepCost: SweepCostRow[];
  readonly massRenewal: RenewalRow[];
  readonly restore: RestoreResult | undefined;
  readonly coldStart: ColdStartRow[];
  readonly notes: string[];
}

export function machine(): BenchResults["machine"] {
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

const n = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : String(value));
/** `median (min–max)` */
const s = (summary: Summary, digits = 0) =>
  summary.min === summary.max
    ? n(summary.median, digits)
    : `${n(summary.median, digits)} (${n(summary.min, digits)}–${n(summary.max, digits)})`;
const pass = (ok: boolean) => (ok ? "met" : "**missed**");

export function toMarkdown(r: BenchResults): string {
  const lines: string[] = [];
  lines.push(
    `Ran \`${r.command}\` on ${r.startedAt} in ${n(r.durationS)} s — ${r.machine.nproc} × ${r.machine.cpu}, Node ${r.machine.node}, ${r.machine.platform}.`,
  );
  lines.push("Figures: median (min–max) over the runs shown; ratios are of medians.", "");
  if (r.sweepCost.length > 0) {
    lines.push("### 1. Sweep cost vs keys managed (1 % due)", "");
    lines.push(
      "| keys | due | runs | Tether items read | naive items read | naive/Tether | Tether items per due key (index only) | Tether KMS calls | naive KMS calls | Tether wall ms | naive wall ms | Tether peak RSS MB | naive peak RSS MB |",
    );
    lines.push("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const row of r.sweepCost) {
      lines.push(
        `| ${row.keys} | ${row.due} | ${row.tether.itemsRead.runs} | ${s(row.tether.itemsRead)} | ${s(row.naive.itemsRead)} | ${n(row.naiveItemsRatio, 1)}x | ${n(row.itemsPerDueKey, 2)} (${n(row.indexItemsPerDueKey, 2)}) | ${s(row.tether.kmsCalls)} | ${s(row.naive.kmsCalls)} | ${s(row.tether.wallMs)} | ${s(row.naive.wallMs)} | ${s(row.tether.peakRssMb)} | ${s(row.naive.peakRssMb)} |`,
      );
    }
    const biggest = r.sweepCost[r.sweepCost.length - 1];
    if (biggest !== undefined) {
      lines.push(
        "",
        `Targets at ${biggest.keys} keys: items read ≤ 2x keys due: ${pass(biggest.itemsPerDueKey <= 2)} (${n(biggest.itemsPerDueKey, 2)}x; due-index reads alone ${n(biggest.indexItemsPerDueKey, 2)}x); naive reads ≥ 50x at 100,000 keys: ${biggest.keys >= 100_000 ? pass(biggest.naiveItemsRatio >= 50) : "not run at 100,000"} (${n(biggest.naiveItemsRatio, 1)}x at ${biggest.keys}); peak RSS < 256 MB: ${pass(biggest.tether.peakRssMb.max < 256)}.`,
      );
    }
    lines.push("");
  }
  if (r.massRenewal.length > 0) {
    lines.push("### 2. Mass renewal under KMS's default quotas", "");
    lines.push(
      "| scenario | keys | runs | imports/s | ideal/s (AWS quota) | of ideal | of the share Tether is allowed | renewed | failed | throttles absorbed | GetParametersForImport calls | ImportKeyMaterial calls | wall ms |",
    );
    lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const row of r.massRenewal) {
      lines.push(
        `| ${row.label} | ${row.keys} | ${row.wallMs.runs} | ${s(row.importsPerSecond, 2)} | ${row.idealPerSecond} | ${n(row.shareOfIdeal * 100)} % | ${n(row.shareOfAllowed * 100)} % of ${n(row.idealPerSecond * row.quotaShare, 1)}/s | ${s(row.renewed)} | ${s(row.failed)} | ${s(row.throttlesAbsorbed)} | ${s(row.parametersCalls)} | ${s(row.importCalls)} | ${s(row.wallMs)} |`,
      );
    }
    lines.push(
      "",
      `Targets (≥ 90 % of ideal, zero failed): ${r.massRenewal.map((row) => `${row.label}: ${pass(row.shareOfIdeal >= 0.9 && row.failed.max === 0)}${row.quotaShare < 1 ? ` (the share caps it at ${n(row.quotaShare * 100)} % by design; ${n(row.shareOfAllowed * 100)} % of the share)` : ""}`).join("; ")}.`,
      "",
    );
  }
  if (r.restore !== undefined) {
    const e = r.restore.event;
    const w = r.restore.sweep;
    lines.push("### 3. Time to restore", "");
    lines.push("| path | trials | median ms | p99 ms | min–max ms | same material |");
    lines.push("|---|---:|---:|---:|---:|---:|");
    lines.push(
      `| expiry event → bus → kms-events → Enabled | ${e.trials} | ${n(e.totalMs.median, 1)} | ${n(e.p99Ms, 1)} | ${n(e.totalMs.min, 1)}–${n(e.totalMs.max, 1)} | ${e.sameMaterial}/${e.trials} |`,
    );
    lines.push(
      `| regional loss → one sweep (${w.keys} keys × ${w.runs} runs, from sweep start) | ${w.keys * w.runs} | ${n(w.perKeyMs.median, 1)} | ${n(w.p99Ms, 1)} | ${n(w.perKeyMs.min, 1)}–${n(w.perKeyMs.max, 1)} | ${w.sameMaterial}/${w.keys * w.runs} |`,
    );
    lines.push("", "Event path, where the time goes (median ms per trial):", "");
    lines.push(
      "| delivery (expiry → handler) | KMS round trips | of which inside the emulator | DynamoDB round trips | Tether's own code (audit PutEvents and CPU waits included) | Tether share | emulator share |",
    );
    lines.push("|---:|---:|---:|---:|---:|---:|---:|");
    lines.push(
      `| ${s(e.split.deliveryMs, 1)} | ${s(e.split.kmsRoundTripMs, 1)} | ${s(e.split.emulatorMs)} | ${s(e.split.dynamoRoundTripMs, 1)} | ${s(e.split.tetherOwnMs, 1)} | ${n(e.tetherShare * 100)} % | ${n(e.emulatorShare * 100)} % |`,
    );
    lines.push(
      "",
      `Sweep path: one sweep took ${s(w.sweepWallMs)} ms for ${w.keys} keys; ${w.restored} of ${w.keys * w.runs} restored.`,
      "",
    );
  }
  if (r.coldStart.length > 0) {
    lines.push("### 4. Cold start (esbuild as serverless-esbuild, custom.esbuild of serverless.yml)", "");
    lines.push(
      "| function | code KB | zip KB (code) | zip KB (code + map, as packaged) | init ms | bare init ms | init / bare | init CPU ms | bare init CPU ms | CPU / bare | bare zip KB | SDK clients at init | loaded on first use |",
    );
    lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
    const short = (clients: readonly string[]) =>
      clients.length === 0 ? "—" : clients.map((c) => c.replace("@aws-sdk/client-", "")).join(", ");
    for (const row of r.coldStart) {
      lines.push(
        `| ${row.name} | ${n(row.bundleKb)} | ${n(row.zipKb)} | ${n(row.zipWithMapKb)} | ${s(row.initMs, 1)} | ${s(row.bare.initMs, 1)} | ${n(row.initRatio, 2)}x | ${s(row.initCpuMs, 1)} | ${s(row.bare.initCpuMs, 1)} | ${n(row.initCpuRatio, 2)}x | ${n(row.bare.zipKb)} | ${short(row.bare.clients)} | ${short(row.lazyClients)} |`,
      );
    }
    lines.push(
      "",
      `Targets (init ≤ 1.25x bare, zip ≤ 300 KB): ${r.coldStart.map((row) => `${row.name}: init ${pass(row.initRatio <= 1.25)}, zip ${pass(row.zipKb <= 300)}`).join("; ")}.`,
      "",
    );
  }
  if (r.notes.length > 0) lines.push("Notes:", "", ...r.notes.map((note) => `- ${note}`), "");
  return lines.join("\n");
}
