/**
 * `npm run bench:mass-restore -- --keys=100 --drain=on`: "regional loss of N keys" (issue 16). One scenario
 * per process (Tether's functions read their configuration once, so one local stack per process); the
 * results directory collects one JSON per scenario and `summary.md` is rewritten from all of them.
 *
 * The whole local stack of `npm start` (bench/README.md, "Mass restore"): Tether's functions behind the
 * rules and schedules of serverless.yml, the schedules at their deployed rates (probe every 60 s, sweep
 * every 300 s), AWS's default KMS quotas on in the emulator (GetParametersForImport 1/s, ImportKeyMaterial
 * 15/s, ...), every time on the wall clock (the emulator's clock is not moved: its quotas count real
 * seconds). N keys are registered through the admin API; their Region then loses its imported material
 * (the emulator's `lose-material`, the sentinel with it). Measured from that instant: the probe's incident,
 * the first and the last key back in `Enabled` (DescribeKey every second), and each sweep run (what started
 * it, what it restored). `--drain=off` runs the same stack with the two drain rules taken out of a copy of
 * serverless.yml: the scheduled sweep alone, as before issue 16.
 *
 * Options: --keys=N (default 100), --drain=on|off (default on), --warm=on|off (default on: Tether's
 * TETHER_WARM_IMPORT_PARAMETERS for every function of the stack; on, every key holds a stored, usable set
 * before the loss), --tokens=kept|invalidated (default kept: the emulator's `lose-material` option
 * `invalidateImportTokens`, the cold path when invalidated), --critical-share=<0..1> (default 0: that share
 * of the keys registered with the policy's `priority` critical, spread evenly, the rest normal),
 * --quota-share=<0..1> (default: serverless.yml's kmsQuotaShare, 0.8: the share of AWS's KMS quotas Tether
 * allows itself, TETHER_KMS_QUOTA_SHARE),
 * --out=<dir> (default bench/results/mass-restore), --timeout-minutes=M (default 60).
 *
 * Setup is not measured and runs apart from AWS's quotas: the keys are registered (and, warm on, their
 * import parameters warmed) through a composition root of their own with the emulator's quotas off and a
 * client-side rate of 1,000/s for every KMS operation, its own budget (TETHER_KMS_BUDGET=local), so 1,000
 * keys take a minute or two instead of 21 at 0.8 GetParametersForImport/s. AWS's default quotas go on just
 * before the loss; from the loss on, Tether's functions run with their deployed settings.
 */
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DescribeKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { parse, stringify } from "yaml";
import { SHARED_PRIME_ENV } from "../infra/local/kms/wrapping-key-pool.js";
import {
  LOCAL_SERVICE_CREDENTIALS,
  type LocalInvocation,
  PROJECT_ROOT,
  startLocalStack,
} from "../infra/local/runner/index.js";
import { createLifecycleDeps } from "../lib/composition-root.js";
import { loadConfig } from "../lib/config.js";
import type { TetherKeyId } from "../lib/domain/ids.js";
import { Priority } from "../lib/domain/import-policy.js";
import { parametersUsable } from "../lib/domain/warm-parameters.js";
import { chooseWrapping } from "../lib/domain/wrapping.js";
import type { DrainReport } from "../lib/lifecycle/scheduled/drain.js";
import { registerKey } from "../lib/lifecycle/use-cases/register.js";
import { vaultFromEnv } from "../lib/vault/from-config.js";
import { machine } from "./report.js";

const REGION = "eu-west-1";
const IMPORT_QUOTA_PER_SECOND = 15;
const PARAMETERS_QUOTA_PER_SECOND = 1;
const QUOTA_SHARE = 0.8;
const DEPLOYED_INTERVALS_MS = { probe: 60_000, sweep: 300_000 } as const;

export interface Scenario {
  readonly keys: number;
  readonly drain: boolean;
  /** "not wired": a run from before warm import parameters and priority were on main (warm parameters off). */
  readonly warm: boolean | "not wired";
  readonly tokens?: "kept" | "invalidated";
  readonly criticalShare: number | "not wired";
  /** The stage parameter kmsQuotaShare (TETHER_KMS_QUOTA_SHARE); absent: serverless.yml's default, 0.8. */
  readonly quotaShare?: number;
}

export interface MassRestoreResult {
  readonly scenario: Scenario;
  readonly machine: ReturnType<typeof machine>;
  readonly loadBefore: number;
  readonly loadAfter: number;
  readonly registerMs: number;
  /** Warm on: ms to warm every key's import parameters before the loss (not measured time). */
  readonly warmSetupMs?: number;
  /** Keys whose Region record held a set usable at the loss (checked just before it). */
  readonly warmAtLoss?: number;
  /**
   * Critical share > 0: wall ms from the loss to the last critical and the first normal key's accepted
   * ImportKeyMaterial (the emulator's CloudTrail record, to the ms; the key is Enabled from then on).
   */
  readonly critical?: {
    readonly count: number;
    readonly lastCriticalEnabledMs: number | undefined;
    readonly firstNormalEnabledMs: number | undefined;
    /** Every critical key's import was accepted before the first normal key's. */
    readonly allCriticalFirst: boolean;
  };
  /** Wall ms from the loss to: the incident opened, the first and the last key Enabled. */
  readonly incidentMs: number | undefined;
  readonly firstEnabledMs: number | undefined;
  readonly allEnabledMs: number | undefined;
  readonly enabled: number;
  /** N / 15 s: ImportKeyMaterial's quota, every key with warm parameters. */
  readonly idealMs: number;
  /** idealMs / allEnabledMs. */
  readonly ofIdeal: number | undefined;
  /** idealMs / (allEnabledMs - incidentMs): the restore alone, without the probe's detection delay. */
  readonly ofIdealAfterIncident?: number | undefined;
  /** DescribeKey calls the benchmark's own poll made (included in kms.calls). */
  readonly pollDescribeKeyCalls?: number;
  /** N / (1/s × the share): GetParametersForImport at Tether's share, every key with fresh parameters. */
  readonly parametersBoundMs: number;
  readonly runs: Array<{
    trigger: string;
    drainRun?: number;
    startMs: number;
    endMs: number;
    due: number;
    processed: number;
    deferred: number;
    restored: number;
    incidentsClosed: readonly string[];
  }>;
  readonly kms: { calls: Record<string, number>; throttles: Record<string, number> };
}

function option(name: string, fallback: string): string {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found === undefined ? fallback : found.slice(name.length + 3);
}

function onOff(name: string, fallback: "on" | "off"): boolean {
  const value = option(name, fallback);
  if (value !== "on" && value !== "off") throw new Error(`--${name} must be on or off, not ${value}`);
  return value === "on";
}

/** The result file's name: the scenario's options, so each scenario keeps its own JSON. */
export function scenarioFile(s: Scenario): string {
  const warm = s.warm === "not wired" ? "" : `-warm-${s.warm ? "on" : "off"}`;
  const tokens = s.tokens === "invalidated" ? "-tokens-invalidated" : "";
  const critical =
    typeof s.criticalShare === "number" && s.criticalShare > 0 ? `-critical-${s.criticalShare}` : "";
  const share = s.quotaShare === undefined ? "" : `-share-${s.quotaShare}`;
  return `n${s.keys}-drain-${s.drain ? "on" : "off"}${warm}${tokens}${critical}${share}.json`;
}

async function main(): Promise<void> {
  const keys = Number(option("keys", "100"));
  const drain = onOff("drain", "on");
  const warm = onOff("warm", "on");
  const tokens = option("tokens", "kept");
  if (tokens !== "kept" && tokens !== "invalidated") {
    throw new Error(`--tokens must be kept or invalidated, not ${tokens}`);
  }
  const criticalShare = Number(option("critical-share", "0"));
  if (!(criticalShare >= 0 && criticalShare <= 1)) throw new Error("--critical-share must be a number 0..1");
  const shareOption = option("quota-share", "");
  const quotaShare = shareOption === "" ? undefined : Number(shareOption);
  if (quotaShare !== undefined && !(quotaShare > 0 && quotaShare <= 1)) {
    throw new Error("--quota-share must be a number greater than 0 and at most 1");
  }
  const out = resolve(option("out", join(PROJECT_ROOT, "bench/results/mass-restore")));
  const timeoutMs = Number(option("timeout-minutes", "60")) * 60_000;
  if (!Number.isInteger(keys) || keys < 1) throw new Error("--keys must be a positive whole number");
  const scenario: Scenario = {
    keys,
    drain,
    warm,
    tokens,
    criticalShare,
    ...(quotaShare === undefined ? {} : { quotaShare }),
  };
  const result = await runScenario(scenario, timeoutMs);
  await mkdir(out, { recursive: true });
  await writeFile(join(out, scenarioFile(scenario)), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(join(out, "summary.md"), await summarize(out));
  console.log(await summarize(out));
  // The stack's timers and sockets are closed; nothing else keeps the process.
  process.exit(0);
}

/**
 * A copy of serverless.yml for the scenario, or undefined when it is the file as it is: `drain` off takes the
 * sweep's drain rules (its eventBridge events) out, the scheduled sweep alone; `warm` off sets the stage
 * parameter `warmImportParameters` to off (the runner hands every function serverless.yml's environment,
 * so the process's own TETHER_WARM_IMPORT_PARAMETERS would be overwritten).
 */
async function stackFile(
  drain: boolean,
  warm: boolean,
  quotaShare: number | undefined,
): Promise<string | undefined> {
  if (drain && warm && quotaShare === undefined) return undefined;
  const doc = parse(await readFile(join(PROJECT_ROOT, "serverless.yml"), "utf8")) as {
    params: { default: Record<string, unknown> };
    functions: Record<string, { events?: Array<Record<string, unknown>> }>;
  };
  if (!drain) {
    const sweep = doc.functions.sweep;
    if (sweep?.events === undefined) throw new Error("serverless.yml has no sweep events");
    sweep.events = sweep.events.filter((e) => e.eventBridge === undefined);
  }
  if (!warm) {
    if (doc.params.default.warmImportParameters === undefined) {
      throw new Error("serverless.yml has no warmImportParameters parameter");
    }
    doc.params.default.warmImportParameters = "off";
  }
  if (quotaShare !== undefined) {
    if (doc.params.default.kmsQuotaShare === undefined)
      throw new Error("serverless.yml has no kmsQuotaShare");
    doc.params.default.kmsQuotaShare = String(quotaShare);
  }
  const file = join(tmpdir(), `tether-bench-mass-restore-${process.pid}.yml`);
  await writeFile(file, stringify(doc));
  return file;
}

/** TETHER_KMS_RATES for the setup's composition root: every KMS operation at 1,000/s (quotas are off then). */
function setupRates(): string {
  return Object.keys(loadConfig({ ...process.env, TETHER_KMS_RATES: "" }).kmsQuotas)
    .map((operation) => `${operation}=1000`)
    .join(",");
}

/** Runs `work` over 0..count-1, `width` at a time. */
async function inParallel(count: number, width: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

async function runScenario(scenario: Scenario, timeoutMs: number): Promise<MassRestoreResult> {
  const { keys, drain } = scenario;
  const warm = scenario.warm === true;
  const criticalShare = typeof scenario.criticalShare === "number" ? scenario.criticalShare : 0;
  process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
  // The emulator's RSA key generation for each GetParametersForImport is its cost, not AWS's (seconds of CPU
  // per RSA_4096 pair on a busy machine): shared-prime pairs, still one distinct pair per call
  // (infra/local/kms/wrapping-key-pool.ts). Benchmark material is not secret.
  process.env[SHARED_PRIME_ENV] ??= "1";
  const serverlessFile = await stackFile(drain, warm, scenario.quotaShare);
  const invocations: LocalInvocation[] = [];
  const stack = await startLocalStack({
    memory: true,
    ports: { api: 0, kms: 0, dynamodb: 0, events: 0 },
    regions: [REGION],
    scheduleIntervalsMs: DEPLOYED_INTERVALS_MS,
    ...(serverlessFile === undefined ? {} : { serverlessFile }),
    onInvocation: (invocation) => invocations.push(invocation),
  });
  // What the stack handed its functions (serverless.yml's environment, in this process).
  if (process.env.TETHER_WARM_IMPORT_PARAMETERS !== (warm ? "on" : "off")) {
    await stack.close();
    throw new Error(
      `the stack runs with TETHER_WARM_IMPORT_PARAMETERS=${process.env.TETHER_WARM_IMPORT_PARAMETERS}`,
    );
  }
  const kms = new KMSClient({
    endpoint: stack.endpoints.kms,
    region: REGION,
    credentials: LOCAL_SERVICE_CREDENTIALS,
  });
  try {
    await stack.sweepNow(); // the sentinel
    // Setup, not measured: registered (and warmed) through a composition root of its own, as the api Lambda
    // would: the local stack runs every function in one process, whose KMS adapter would otherwise hand the
    // sweep the import parameters the registrations fetched from its memory — kinder than AWS, where the
    // sweep's Lambda has none of them. Its client-side rates are lifted and its budget is its own: the
    // emulator's quotas are off until just before the loss (they start off), so setup is not paced at
    // 0.8 GetParametersForImport/s.
    await stack.localAws.kms.admin.setQuotas(false);
    const registrar = createLifecycleDeps(
      loadConfig({
        ...process.env,
        TETHER_KMS_BUDGET: "local",
        TETHER_KMS_RATES: setupRates(),
        TETHER_WARM_IMPORT_PARAMETERS: warm ? "on" : "off",
      }),
      { vault: vaultFromEnv(process.env), credentials: LOCAL_SERVICE_CREDENTIALS },
    );
    // Spread evenly: key i is critical when the running share crosses a whole number at i.
    const isCritical = (i: number) => Math.floor((i + 1) * criticalShare) > Math.floor(i * criticalShare);
    const registerStart = Date.now();
    const registered: Array<{ id: TetherKeyId; arn: string; critical: boolean }> = [];
    await inParallel(keys, 8, async (i) => {
      const critical = isCritical(i);
      const { key } = await registerKey(registrar, {
        mode: "create",
        region: REGION,
        keySpec: "SYMMETRIC_DEFAULT",
        materialRef: `mass/${i}`,
        generateMaterial: true,
        ...(critical ? { policy: { priority: Priority.Critical } } : {}),
        actor: "bench:mass-restore",
        correlationId: `register-${i}`,
      });
      registered.push({ id: key.id, arn: (key.regions[0] as { keyArn: string }).keyArn, critical });
    });
    const registerMs = Date.now() - registerStart;
    const arns = registered.map((r) => r.arn);
    const criticalArns = new Set(registered.filter((r) => r.critical).map((r) => r.arn));

    // Warm on: registration stores the set its import fetched with the Region record
    // (test/integration/lifecycle/warm-parameters.test.ts). The sweep's warm step's port call runs now for
    // every key anyway (KmsAdapter.warmImportParameters: keeps a usable stored set, fetches and stores one
    // where there is none), then each record is read back to check it holds a set usable at the loss.
    let warmSetupMs: number | undefined;
    let warmAtLoss: number | undefined;
    if (warm) {
      const warmStart = Date.now();
      const warmPort = registrar.kms.warmImportParameters?.bind(registrar.kms);
      if (warmPort === undefined) throw new Error("the KMS adapter has no warm port with warming on");
      const supported = await registrar.vault.supportedWrappings?.("SYMMETRIC_DEFAULT");
      await inParallel(registered.length, 8, async (i) => {
        const { id } = registered[i] as { id: TetherKeyId };
        const key = await registrar.keys.get(id);
        const record = key?.regions[0];
        if (key === undefined || record === undefined)
          throw new Error(`key ${id} not found after registration`);
        await warmPort({
          managedKeyId: key.id,
          region: record.region,
          keyId: record.keyArn,
          wrapping: chooseWrapping(key.keySpec, key.policy.wrapping, supported),
          warmUntil: record.nextCheckAt,
        });
      });
      warmSetupMs = Date.now() - warmStart;
      warmAtLoss = 0;
      const at = new Date();
      for (const { id } of registered) {
        const key = await registrar.keys.get(id);
        const record = key?.regions[0];
        if (
          key !== undefined &&
          parametersUsable(
            record?.storedParameters,
            chooseWrapping(key.keySpec, key.policy.wrapping, supported),
            at,
          )
        ) {
          warmAtLoss++;
        }
      }
      if (warmAtLoss !== keys) throw new Error(`only ${warmAtLoss} of ${keys} keys hold usable parameters`);
    }

    await stack.runSchedule("probe"); // the sentinel seen intact
    await stack.localAws.kms.admin.setQuotas({});
    await stack.localAws.kms.admin.resetStats();
    const loadBefore = loadavg()[0] ?? 0;

    const lostAt = Date.now();
    await stack.localAws.kms.admin.loseRegion(REGION, {
      invalidateImportTokens: scenario.tokens === "invalidated",
    });
    const enabledAt = new Map<string, number>();
    let pollDescribeKeyCalls = 0;
    while (enabledAt.size < keys && Date.now() - lostAt < timeoutMs) {
      await new Promise((r) => setTimeout(r, 1_000));
      const waiting = arns.filter((arn) => !enabledAt.has(arn));
      for (let i = 0; i < waiting.length; i += 50) {
        await Promise.all(
          waiting.slice(i, i + 50).map(async (arn) => {
            pollDescribeKeyCalls++;
            const meta = (await kms.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata;
            if (meta?.KeyState === "Enabled") enabledAt.set(arn, Date.now());
          }),
        );
      }
    }
    // The run that closes the incident ends after the last key is back: wait for it (its report counts).
    while (
      !invocations.some(
        (i) =>
          i.function === "sweep" && (i.result as DrainReport | undefined)?.incidentsClosed?.includes(REGION),
      ) &&
      Date.now() - lostAt < timeoutMs
    ) {
      await new Promise((r) => setTimeout(r, 500));
    }
    const loadAfter = loadavg()[0] ?? 0;
    const stats = await stack.localAws.kms.admin.stats();
    const times = [...enabledAt.values()].map((t) => t - lostAt).sort((a, b) => a - b);
    const incident = invocations.find(
      (i) => i.function === "probe" && ((i.result as { opened?: string[] })?.opened ?? []).length > 0,
    );
    const allEnabledMs = enabledAt.size === keys ? times.at(-1) : undefined;
    const idealMs = (keys / IMPORT_QUOTA_PER_SECOND) * 1000;
    const incidentMs = incident === undefined ? undefined : incident.endedMs - lostAt;
    let critical: MassRestoreResult["critical"];
    if (criticalArns.size > 0) {
      // The poll sees a key Enabled to the second at best, and a 100-key restore takes seconds: the order is
      // read from the emulator's own record of each accepted ImportKeyMaterial (its CloudTrail, to the ms).
      const importedAt = new Map<string, number>();
      for (const entry of (await stack.localAws.kms.admin.cloudTrail()).records) {
        const detail = entry.detail as { errorCode?: string; resources?: Array<{ ARN?: string }> };
        const at = Date.parse(entry.eventTime);
        const arn = detail.resources?.[0]?.ARN;
        if (entry.eventName !== "ImportKeyMaterial" || detail.errorCode !== undefined || at < lostAt)
          continue;
        if (arn !== undefined && !importedAt.has(arn)) importedAt.set(arn, at - lostAt);
      }
      const criticalTimes = [...criticalArns].map((arn) => importedAt.get(arn));
      const normalTimes = arns
        .filter((a) => !criticalArns.has(a))
        .map((arn) => importedAt.get(arn))
        .filter((t): t is number => t !== undefined);
      const lastCritical = criticalTimes.includes(undefined)
        ? undefined
        : Math.max(...(criticalTimes as number[]));
      const firstNormal = normalTimes.length === 0 ? undefined : Math.min(...normalTimes);
      critical = {
        count: criticalArns.size,
        lastCriticalEnabledMs: lastCritical,
        firstNormalEnabledMs: firstNormal,
        allCriticalFirst:
          lastCritical !== undefined && (firstNormal === undefined || lastCritical < firstNormal),
      };
    }
    return {
      scenario,
      machine: machine(),
      loadBefore,
      loadAfter,
      registerMs,
      ...(warmSetupMs === undefined ? {} : { warmSetupMs }),
      ...(warmAtLoss === undefined ? {} : { warmAtLoss }),
      ...(critical === undefined ? {} : { critical }),
      incidentMs,
      firstEnabledMs: times[0],
      allEnabledMs,
      enabled: enabledAt.size,
      idealMs,
      ofIdeal: allEnabledMs === undefined ? undefined : idealMs / allEnabledMs,
      ofIdealAfterIncident:
        allEnabledMs === undefined || incidentMs === undefined
          ? undefined
          : idealMs / (allEnabledMs - incidentMs),
      pollDescribeKeyCalls,
      parametersBoundMs: (keys / (PARAMETERS_QUOTA_PER_SECOND * QUOTA_SHARE)) * 1000,
      runs: invocations
        .filter((i) => i.function === "sweep" && i.endedMs >= lostAt && i.result !== undefined)
        .map((i) => {
          const r = i.result as DrainReport;
          return {
            trigger: i.trigger,
            ...(r.drain === undefined ? {} : { drainRun: r.drain.run }),
            startMs: i.startedMs - lostAt,
            endMs: i.endedMs - lostAt,
            due: r.due,
            processed: r.processed,
            deferred: r.deferred,
            restored: r.outcomes.restored ?? 0,
            incidentsClosed: r.incidentsClosed ?? [],
          };
        }),
      kms: { calls: stats.calls[REGION] ?? {}, throttles: stats.throttles[REGION] ?? {} },
    };
  } finally {
    kms.destroy();
    await stack.close();
    if (serverlessFile !== undefined) await rm(serverlessFile, { force: true });
  }
}

const sec = (ms: number | undefined) => (ms === undefined ? "—" : (ms / 1000).toFixed(1));

/** One table over every scenario's JSON in the directory. */
export async function summarize(dir: string): Promise<string> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
  const results = await Promise.all(
    files.map(async (f) => JSON.parse(await readFile(join(dir, f), "utf8")) as MassRestoreResult),
  );
  const order = (r: MassRestoreResult) =>
    [
      r.scenario.keys,
      Number(r.scenario.drain),
      r.scenario.warm === "not wired" ? -1 : Number(r.scenario.warm),
      r.scenario.tokens === "invalidated" ? 1 : 0,
      typeof r.scenario.criticalShare === "number" ? r.scenario.criticalShare : -1,
      r.scenario.quotaShare ?? QUOTA_SHARE,
    ] as const;
  results.sort((a, b) => {
    const x = order(a);
    const y = order(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
    return 0;
  });
  const pct = (f: number | undefined) => (f === undefined ? "—" : `${(f * 100).toFixed(1)} %`);
  const lines = [
    "| keys | drain | warm | tokens at loss | critical share | KMS quota share | loss → incident s | loss → first Enabled s | loss → all Enabled s | incident → all Enabled s | ideal N/15 s | of ideal (from loss / from incident) | critical: loss → last critical / first normal s, all first? | GetParametersForImport-bound N/0.8 s | sweep runs (schedule/drain) | GetParametersForImport calls | ImportKeyMaterial calls | throttles | load 1m before/after |",
    "|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---|---:|---:|---:|---|",
  ];
  for (const r of results) {
    const s = r.scenario;
    const scheduled = r.runs.filter((x) => x.trigger === "schedule").length;
    const drained = r.runs.filter((x) => x.trigger === "rule").length;
    const throttles = Object.values(r.kms.throttles).reduce((a, b) => a + b, 0);
    const restoreMs =
      r.allEnabledMs === undefined || r.incidentMs === undefined ? undefined : r.allEnabledMs - r.incidentMs;
    const critical =
      r.critical === undefined
        ? "—"
        : `${sec(r.critical.lastCriticalEnabledMs)} / ${sec(r.critical.firstNormalEnabledMs)}, ${r.critical.allCriticalFirst ? "yes" : "no"} (${r.critical.count} critical)`;
    lines.push(
      `| ${s.keys} | ${s.drain ? "on" : "off"} | ${s.warm === "not wired" ? "off (before issue 16 item 1)" : s.warm ? "on" : "off"} | ${s.tokens ?? "kept"} | ${typeof s.criticalShare === "number" ? s.criticalShare : "—"} | ${s.quotaShare ?? QUOTA_SHARE} | ${sec(r.incidentMs)} | ${sec(r.firstEnabledMs)} | ${sec(r.allEnabledMs)}${r.allEnabledMs === undefined ? ` (${r.enabled} of ${s.keys})` : ""} | ${sec(restoreMs)} | ${sec(r.idealMs)} | ${pct(r.ofIdeal)} / ${pct(r.ofIdealAfterIncident ?? (restoreMs === undefined ? undefined : r.idealMs / restoreMs))} | ${critical} | ${sec(r.parametersBoundMs)} | ${scheduled}/${drained} | ${r.kms.calls.GetParametersForImport ?? 0} | ${r.kms.calls.ImportKeyMaterial ?? 0} | ${throttles} | ${r.loadBefore.toFixed(1)}/${r.loadAfter.toFixed(1)} |`,
    );
  }
  return [
    "# Mass restore: regional loss of N keys (bench/mass-restore.ts)",
    "",
    "Wall-clock seconds from `lose-material` (AWS's default quotas on in the emulator from just before the loss; probe every 60 s, sweep every 300 s, as deployed). Setup (registration, warming) runs before, with the emulator's quotas off, and is not measured. Rows marked \"before issue 16 item 1\" were measured before warm import parameters and priority were on main.",
    "",
    ...lines,
    "",
  ].join("\n");
}

if (process.argv[1]?.endsWith("mass-restore.ts")) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
