/**
 * Benchmark 3: time to restore.
 *
 * Event path: the emulator's expiry event → the local bus → the kms-events rules read from serverless.yml
 * → a function target running what functions/kms-events.ts runs (parseKmsEvent, handleKmsSignal) with the
 * measured deps → the key is Enabled again, and a ciphertext made before the expiry decrypts (same
 * material). Each trial is one fresh key; after it the key leaves Tether and its material is deleted, so
 * no later clock move expires it again.
 *
 * Sweep path: the emulator loses every imported material of the Region (no event), the Region's sentinel
 * too; the probe opens the regional-loss incident, which makes every key there due, and one sweep by a cold
 * process (no cached import parameters) restores them (default attributionGrace: a proven regional loss
 * does not wait for it) and closes the incident.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EncryptCommand,
  KMSClient,
} from "@aws-sdk/client-kms";
import { loadServerlessDefinition } from "../infra/local/runner/serverless-definition.js";
import { parseAwsRegion } from "../lib/domain/ids.js";
import { parseKmsEvent } from "../lib/kms/kms-events.js";
import type { LifecycleDeps } from "../lib/lifecycle/ports.js";
import { handleKmsSignal } from "../lib/lifecycle/region/kms-signal.js";
import { probeSentinels } from "../lib/lifecycle/scheduled/sentinels.js";
import { sweep } from "../lib/lifecycle/scheduled/sweep.js";
import { DynamoSentinelRepository } from "../lib/store/dynamo-sentinel-repository.js";
import { type Bed, CREDENTIALS, REGION } from "./lib/bed.js";
import { PROJECT_DIR } from "./lib/child.js";
import { timedImports } from "./lib/instrument.js";
import { percentile, type Summary, summarize } from "./lib/stats.js";

const POLICY = { validityPeriod: "PT1H", renewBefore: "PT5M" };
const EXPIRE_MS = 61 * 60 * 1000;
/** GetParametersForImport runs at 0.8/s under Tether's limiter: trials this far apart never wait on it. */
const TRIAL_SPACING_MS = 1300;
const PLAINTEXT = "tether restore benchmark";

export interface RestoreOptions {
  readonly trials: number;
  readonly sweepKeys: number;
  readonly sweepRuns: number;
  readonly log?: (line: string) => void;
}

export interface TimeSplit {
  /** Emulator expiry to handler start: the emulator's expiry processing and the bus's delivery. */
  readonly deliveryMs: Summary;
  /** KMS round trips from Tether's client (HTTP + emulator). */
  readonly kmsRoundTripMs: Summary;
  /** Time inside the emulator's request handling (its own log, whole milliseconds). */
  readonly emulatorMs: Summary;
  readonly dynamoRoundTripMs: Summary;
  /** Handler time not waiting on KMS or DynamoDB: Tether's code (and the file vault). */
  readonly tetherOwnMs: Summary;
}

export interface RestoreResult {
  readonly event: {
    readonly trials: number;
    readonly totalMs: Summary;
    readonly p99Ms: number;
    readonly split: TimeSplit;
    /** tetherOwnMs / totalMs and emulatorMs / totalMs (medians of per-trial shares). */
    readonly tetherShare: number;
    readonly emulatorShare: number;
    readonly sameMaterial: number;
  };
  readonly sweep: {
    readonly keys: number;
    readonly runs: number;
    /** Sweep start to each key's import answered (all runs pooled). */
    readonly perKeyMs: Summary;
    readonly p99Ms: number;
    readonly sweepWallMs: Summary;
    readonly restored: number;
    readonly sameMaterial: number;
  };
}

export async function benchRestore(bed: Bed, options: RestoreOptions): Promise<RestoreResult> {
  const log = options.log ?? (() => {});
  const setup = bed.deps({ unlimited: true });
  const measured = bed.deps({});
  const kms = new KMSClient({ region: REGION, endpoint: bed.aws.endpoints.kms, credentials: CREDENTIALS });
  const definition = await loadServerlessDefinition(`${PROJECT_DIR}serverless.yml`, {
    stage: "bench",
    region: REGION,
    accountId: "111122223333",
    params: {},
  });
  const rules = definition.functions.find((f) => f.name === "kms-events")?.eventRules ?? [];
  if (rules.length === 0) throw new Error("serverless.yml has no kms-events rule");

  let handlerStarted = 0;
  let handlerEnded = 0;
  let kmsAtHandlerEnd = 0;
  // Every DynamoDB call of the measured deps as [start, end]: calls overlap (and some run after the
  // handler has answered, such as the audit outbox), so their union inside the handler is what it waited.
  const dynamoCalls: Array<readonly [number, number]> = [];
  measured.dynamodbClient.middlewareStack.add(
    (next) => async (args) => {
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        dynamoCalls.push([started, performance.now()]);
      }
    },
    { step: "initialize", name: "benchRestoreDynamoIntervals" },
  );
  let waiting: { keyArn: string; resolve: (outcome: string) => void } | undefined;
  for (const [i, rule] of rules.entries()) {
    bed.aws.events.putRule({
      name: `bench-kms-events-${i}`,
      eventBusName: rule.eventBus,
      eventPattern: rule.pattern,
      targets: [
        {
          id: "kms-events",
          kind: "function",
          invoke: async (event) => {
            const signal = parseKmsEvent(event);
            if (signal === null) return { kind: "ignored" };
            const mine =
              waiting !== undefined && signal.keyArn === waiting.keyArn && signal.kind === "material-expired";
            if (mine) handlerStarted = performance.now();
            const outcome = await handleKmsSignal(measured.deps, signal, {
              correlationId: String((event as { id?: unknown }).id),
              isTether: measured.config.isTether,
            });
            if (mine) {
              handlerEnded = performance.now();
              // KMS calls of one restore run one after the other, so their sum is the time waited on KMS.
              kmsAtHandlerEnd = measured.kms.totalMs;
              waiting?.resolve(outcome.kind === "handled" ? outcome.outcome.kind : outcome.kind);
            }
            return outcome;
          },
        },
      ],
    });
  }

  try {
    await bed.aws.kms.admin.setQuotas(false);
    const trials: Array<{
      total: number;
      delivery: number;
      kms: number;
      emulator: number;
      dynamo: number;
      own: number;
      same: boolean;
    }> = [];
    for (let trial = 0; trial < options.trials; trial++) {
      const trialStart = performance.now();
      const [key] = await bed.registerMany(1, POLICY, setup);
      if (key === undefined) throw new Error("registration returned no key");
      const keyArn = key.regions[0]?.keyArn as string;
      const sealed = await kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from(PLAINTEXT) }));
      measured.kms.reset();
      measured.dynamo.reset();
      dynamoCalls.length = 0;
      const done = new Promise<string>((resolve) => {
        waiting = { keyArn, resolve };
      });
      const emulatorMark = bed.emulatorMs.length;
      const t0 = performance.now();
      await bed.advance(EXPIRE_MS);
      const outcome = await done;
      const end = performance.now();
      const emulator = bed.emulatorMs.slice(emulatorMark).reduce((a, b) => a + b, 0);
      waiting = undefined;
      if (outcome !== "restored")
        throw new Error(`trial ${trial}: the expiry event ended in ${outcome}, not restored`);
      const described = await kms.send(new DescribeKeyCommand({ KeyId: keyArn }));
      const opened = await kms.send(
        new DecryptCommand({ KeyId: keyArn, CiphertextBlob: sealed.CiphertextBlob }),
      );
      const same =
        described.KeyMetadata?.KeyState === "Enabled" &&
        Buffer.from(opened.Plaintext ?? []).toString() === PLAINTEXT;
      const handlerMs = handlerEnded - handlerStarted;
      const dynamo = unionMs(dynamoCalls, handlerStarted, handlerEnded);
      trials.push({
        total: end - t0,
        delivery: handlerStarted - t0,
        kms: kmsAtHandlerEnd,
        emulator,
        dynamo,
        own: Math.max(0, handlerMs - kmsAtHandlerEnd - dynamo),
        same,
      });
      // Out of Tether and out of KMS's expiry schedule, so the next trial's clock move leaves it alone.
      await measured.deps.keys.remove(key.id);
      await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyArn }));
      const left = TRIAL_SPACING_MS - (performance.now() - trialStart);
      if (left > 0) await sleep(left);
    }
    const totals = trials.map((t) => t.total).sort((a, b) => a - b);
    const share = (pick: (t: (typeof trials)[number]) => number) =>
      summarize(trials.map((t) => pick(t) / t.total)).median;
    log(`restore: event path median ${summarize(totals).median.toFixed(1)} ms over ${trials.length} trials`);

    const sweepResult = await restoreBySweep(bed, setup, kms, options);
    return {
      event: {
        trials: trials.length,
        totalMs: summarize(totals),
        p99Ms: percentile(totals, 99),
        split: {
          deliveryMs: summarize(trials.map((t) => t.delivery)),
          kmsRoundTripMs: summarize(trials.map((t) => t.kms)),
          emulatorMs: summarize(trials.map((t) => t.emulator)),
          dynamoRoundTripMs: summarize(trials.map((t) => t.dynamo)),
          tetherOwnMs: summarize(trials.map((t) => t.own)),
        },
        tetherShare: share((t) => t.own),
        emulatorShare: share((t) => t.emulator),
        sameMaterial: trials.filter((t) => t.same).length,
      },
      sweep: sweepResult,
    };
  } finally {
    for (const [i, rule] of rules.entries())
      bed.aws.events.removeRule(`bench-kms-events-${i}`, rule.eventBus);
    kms.destroy();
    setup.close();
    measured.close();
  }
}

async function restoreBySweep(
  bed: Bed,
  setup: ReturnType<Bed["deps"]>,
  kms: KMSClient,
  options: RestoreOptions,
): Promise<RestoreResult["sweep"]> {
  // The Region's sentinel proves the loss regional (as deployed: TETHER_SENTINELS defaults to on): the
  // probe opens the incident and makes every key there due, and the sweep restores them with the default
  // attributionGrace (PT15M) unspent, no per-key alert.
  const withSentinel = (b: ReturnType<Bed["deps"]>): LifecycleDeps => ({
    ...b.deps,
    sentinels: new DynamoSentinelRepository({
      client: b.dynamodbClient,
      tableName: bed.tableName,
      clock: bed.now,
    }),
    sentinelRegions: [parseAwsRegion(REGION)],
  });
  const keys = await bed.registerMany(
    options.sweepKeys,
    { validityPeriod: "P30D", renewBefore: "P7D" },
    setup,
  );
  const arns = new Set(keys.map((k) => k.regions[0]?.keyArn as string));
  await sweep(withSentinel(setup), { correlationId: "bench-sentinel" }); // creates the sentinel
  await probeSentinels(withSentinel(setup), "bench-probe-intact");
  const sealed = new Map<string, Uint8Array>();
  for (const key of keys) {
    const arn = key.regions[0]?.keyArn as string;
    const out = await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from(PLAINTEXT) }));
    sealed.set(arn, out.CiphertextBlob as Uint8Array);
  }
  const perKey: number[] = [];
  const walls: number[] = [];
  let restored = 0;
  let same = 0;
  for (let run = 0; run < options.sweepRuns; run++) {
    await bed.aws.kms.admin.loseRegion(REGION);
    // The probe's next run: the incident opens and every key of the Region is due now.
    const probe = await probeSentinels(withSentinel(setup), `bench-probe-${run}`);
    if (probe.opened.length !== 1) throw new Error(`the probe opened ${probe.opened.length} incidents`);
    // A cold sweep process: its own deps, no import parameters cached.
    const cold = bed.deps({});
    const t0 = performance.now();
    // The keys' imports only (the sentinel's own, when the incident closes, is not a key restored).
    const timed = timedImports(cold.deps.kms, (ms, keyId) => {
      if (arns.has(keyId)) perKey.push(ms - t0);
    });
    try {
      const report = await sweep(
        { ...withSentinel(cold), kms: timed },
        { correlationId: `bench-loss-${run}`, limit: keys.length, concurrency: cold.config.sweepConcurrency },
      );
      walls.push(performance.now() - t0);
      restored += report.outcomes.restored ?? 0;
    } finally {
      cold.close();
    }
    for (const [arn, blob] of sealed) {
      const opened = await kms.send(new DecryptCommand({ KeyId: arn, CiphertextBlob: blob }));
      if (Buffer.from(opened.Plaintext ?? []).toString() === PLAINTEXT) same++;
    }
  }
  const sorted = [...perKey].sort((a, b) => a - b);
  return {
    keys: keys.length,
    runs: options.sweepRuns,
    perKeyMs: summarize(sorted),
    p99Ms: percentile(sorted, 99),
    sweepWallMs: summarize(walls),
    restored,
    sameMaterial: same,
  };
}

/** Milliseconds of [from, to] covered by at least one of `intervals`. */
function unionMs(intervals: ReadonlyArray<readonly [number, number]>, from: number, to: number): number {
  const clipped = intervals
    .map(([start, end]) => [Math.max(start, from), Math.min(end, to)] as const)
    .filter(([start, end]) => end > start)
    .sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let reach = from;
  for (const [start, end] of clipped) {
    if (end <= reach) continue;
    covered += end - Math.max(start, reach);
    reach = end;
  }
  return covered;
}
