/**
 * Time from a region-wide loss to Tether acting on it, default settings, in emulator time: before (no
 * sentinels: each key's loss is found at its next reconcile, `reconcileInterval` PT6H, then waits
 * `attributionGrace` PT15M) and after (a sentinel per Region and the one-minute probe). Not computed: the
 * sweep (`rate(5 minutes)`, serverless.yml's default `sweepRate`) and the probe (`rate(1 minute)`) run as
 * their schedules would, against the local AWS, while the emulator's clock moves a minute at a time.
 *
 * The loss happens just after every key's reconcile and just after a probe: the worst case of both.
 *
 *   npx tsx bench/regional-loss.ts [--keys=5] [--out=bench/results/regional-loss]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DescribeKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { AlertReason } from "../lib/domain/alerts.js";
import { AuditDetailType } from "../lib/domain/audit-types.js";
import { parseAwsRegion } from "../lib/domain/ids.js";
import type { ManagedKey } from "../lib/domain/managed-key.js";
import type { LifecycleDeps } from "../lib/lifecycle/ports.js";
import { probeSentinels } from "../lib/lifecycle/scheduled/sentinels.js";
import { sweep } from "../lib/lifecycle/scheduled/sweep.js";
import { DynamoSentinelRepository } from "../lib/store/dynamo-sentinel-repository.js";
import { CREDENTIALS, REGION, startBed } from "./lib/bed.js";
import { BENCH_DIR } from "./lib/child.js";

const MINUTE = 60_000;
/** serverless.yml: the sweep's default `sweepRate` and the probe's schedule. */
const SWEEP_EVERY_MIN = 5;
/** Give up after this much emulator time (the default interval plus grace is 6 h 15 min). */
const LIMIT_MIN = 8 * 60;

export interface LossTimeline {
  readonly sentinels: boolean;
  readonly keys: number;
  /** Loss → the first thing Tether said about it: the incident's alert, or the first key's unexplained-loss alert. */
  readonly detectedAfterMs: number | undefined;
  /** What that first word was. */
  readonly detectedBy: string | undefined;
  /** Loss → the first key restored, and → the last. */
  readonly firstRestoredAfterMs: number | undefined;
  readonly allRestoredAfterMs: number | undefined;
  readonly sweeps: number;
  readonly probes: number;
  /** Wall time the scenario took (registration excluded). */
  readonly wallMs: number;
}

export interface RegionalLossResult {
  readonly keys: number;
  readonly sweepEveryMin: number;
  readonly before: LossTimeline;
  readonly after: LossTimeline;
}

async function scenario(
  sentinels: boolean,
  keyCount: number,
  log: (line: string) => void,
): Promise<LossTimeline> {
  const bed = await startBed();
  const setup = bed.deps({ unlimited: true });
  const built = bed.deps({});
  const kms = new KMSClient({ region: REGION, endpoint: bed.aws.endpoints.kms, credentials: CREDENTIALS });
  try {
    const deps: LifecycleDeps = sentinels
      ? {
          ...built.deps,
          sentinels: new DynamoSentinelRepository({
            client: built.dynamodbClient,
            tableName: bed.tableName,
            clock: bed.now,
          }),
          sentinelRegions: [parseAwsRegion(REGION)],
        }
      : built.deps;
    // Default policy (reconcileInterval PT6H, attributionGrace PT15M, restoreAfterLoss).
    const keys = await bed.registerMany(keyCount, {}, setup);
    let sweeps = 0;
    let probes = 0;
    const runSweep = async () => {
      sweeps++;
      return sweep(deps, { correlationId: `bench-regional-sweep-${sweeps}` });
    };
    const runProbe = async () => {
      probes++;
      return probeSentinels(deps, `bench-regional-probe-${probes}`);
    };
    // The schedules have run: the sentinel exists and was probed intact; every key was just reconciled.
    await runSweep();
    if (sentinels) await runProbe();
    const lostAt = bed.now().getTime();
    await bed.aws.kms.admin.loseRegion(REGION);
    const started = performance.now();
    let detectedAt: number | undefined;
    let detectedBy: string | undefined;
    let firstRestoredAt: number | undefined;
    let allRestoredAt: number | undefined;
    const restored = new Set<string>();
    for (let minute = 1; minute <= LIMIT_MIN && allRestoredAt === undefined; minute++) {
      await bed.advance(MINUTE);
      if (sentinels) {
        const report = await runProbe();
        if (report.opened.length > 0 && detectedAt === undefined) {
          detectedAt = bed.now().getTime();
          detectedBy = AlertReason.RegionalLossDetected;
        }
      }
      if (minute % SWEEP_EVERY_MIN !== 0) continue;
      await runSweep();
      if (detectedAt === undefined && (await anyUnexplained(built.deps, keys))) {
        detectedAt = bed.now().getTime();
        detectedBy = AlertReason.UnexplainedMaterialLoss;
      }
      for (const key of keys) {
        const arn = key.regions[0]?.keyArn as string;
        if (restored.has(arn)) continue;
        const out = await kms.send(new DescribeKeyCommand({ KeyId: arn }));
        if (out.KeyMetadata?.KeyState === "Enabled") restored.add(arn);
      }
      if (restored.size > 0) firstRestoredAt ??= bed.now().getTime();
      if (restored.size === keys.length) allRestoredAt = bed.now().getTime();
    }
    const since = (at: number | undefined) => (at === undefined ? undefined : at - lostAt);
    const timeline: LossTimeline = {
      sentinels,
      keys: keys.length,
      detectedAfterMs: since(detectedAt),
      detectedBy,
      firstRestoredAfterMs: since(firstRestoredAt),
      allRestoredAfterMs: since(allRestoredAt),
      sweeps,
      probes,
      wallMs: Math.round(performance.now() - started),
    };
    log(
      `regional-loss: ${sentinels ? "after (sentinel + probe)" : "before (no sentinel)"}: ${JSON.stringify(timeline)}`,
    );
    return timeline;
  } finally {
    kms.destroy();
    setup.close();
    built.close();
    await bed.close();
  }
}

async function anyUnexplained(deps: LifecycleDeps, keys: readonly ManagedKey[]): Promise<boolean> {
  for (const key of keys) {
    const page = await deps.history.history(key.id, { limit: 20 });
    const found = page.items.some(
      (e) =>
        e.detailType === AuditDetailType.TetherAlert &&
        "reasonCode" in e &&
        e.reasonCode === AlertReason.UnexplainedMaterialLoss,
    );
    if (found) return true;
  }
  return false;
}

export async function benchRegionalLoss(
  options: { keys: number },
  log: (line: string) => void,
): Promise<RegionalLossResult> {
  const before = await scenario(false, options.keys, log);
  const after = await scenario(true, options.keys, log);
  return { keys: options.keys, sweepEveryMin: SWEEP_EVERY_MIN, before, after };
}

function minutes(ms: number | undefined): string {
  if (ms === undefined) return "not within the limit";
  const s = Math.round(ms / 1000);
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  if (h > 0) return `${h} h ${m} min ${sec} s`;
  return m > 0 ? `${m} min ${sec} s` : `${sec} s`;
}

export function regionalLossMarkdown(result: RegionalLossResult, command: string, at: Date): string {
  const row = (name: string, t: LossTimeline) =>
    `| ${name} | ${minutes(t.detectedAfterMs)} (${t.detectedBy ?? "-"}) | ${minutes(t.firstRestoredAfterMs)} | ${minutes(t.allRestoredAfterMs)} | ${t.sweeps} / ${t.probes} | ${(t.wallMs / 1000).toFixed(1)} s |`;
  return [
    `# Time from a region-wide loss to the incident (emulator time)`,
    "",
    `\`${command}\`, ${at.toISOString()}; ${result.keys} keys, default policy, sweep every ${result.sweepEveryMin} min, loss just after every key's reconcile and just after a probe (the worst case).`,
    "",
    "| | loss → detected | → first key restored | → all restored | sweeps / probes | wall |",
    "|---|---|---|---|---|---|",
    row("before: no sentinel", result.before),
    row("after: sentinel + probe every 60 s", result.after),
    "",
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
  const keys = Number(arg("keys") ?? 5);
  const out = arg("out") ?? join(BENCH_DIR, "results", "regional-loss");
  const command = `npx tsx bench/regional-loss.ts --keys=${keys}`;
  const result = await benchRegionalLoss({ keys }, (line) => console.log(line));
  await mkdir(out, { recursive: true });
  const at = new Date();
  await writeFile(join(out, "latest.json"), `${JSON.stringify({ command, at, result }, null, 2)}\n`);
  const md = regionalLossMarkdown(result, command, at);
  await writeFile(join(out, "latest.md"), md);
  console.log(md);
}
