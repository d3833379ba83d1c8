/**
 * Sequences kept from the model-based test (lifecycle-model.test.ts): the ones it shrank to when it
 * failed, and hand-picked interleavings around the import protocol's crash points. Each is replayed
 * against the local AWS with every invariant checked after every step, plus a final settle.
 * To add one: paste the "Counterexample" JSON steps the failing run printed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SHARED_PRIME_ENV } from "../../infra/local/kms/wrapping-key-pool.js";
import { type LifecycleTestbed, startLifecycleTestbed } from "../support/lifecycle-testbed.js";
import { commandsOf, figures, runSequence, type Step } from "./lifecycle-model.js";
import { closeModelPorts } from "./model-ports.js";

const H = 3_600_000;

/**
 * `knownBug`: a violation reported and not fixed yet. The case passes only while the sequence still ends
 * in that violation; once lib is fixed it fails, and the field goes.
 */
const CASES: ReadonlyArray<{ name: string; steps: Step[]; knownBug?: { what: string; violation: RegExp } }> =
  [
    {
      // Found by the model run (seed 1677841543, 300 runs, 2 lanes). The reimport's ImportKeyMaterial fails
      // on every SDK attempt with KMSInternalException (not translated, so "may have imported": the intent is
      // kept); the next run sees KMS's ValidTo equal to the intent's, because the registration's import a
      // moment earlier, in the same second, set that very ValidTo, and records "Key Material Renewed" for an
      // import KMS never took (history: 2 imports in eu-west-1, KMS: 1). Fixed: a new import's ValidTo is
      // kept two seconds apart from the one KMS reports (import-policy.ts distinctValidTo).
      name: "an import that failed in the same second as the previous import is not recorded as a renewal",
      steps: [
        {
          t: "kmsFault",
          op: "ImportKeyMaterial",
          error: "KMSInternalException",
          count: 4,
          action: "reimport",
          key: "A",
          advanceMs: 0,
        },
        { t: "settle" },
      ],
    },
    {
      // The same flaw reached by a crash (seed 852528537, 300 runs, 2 lanes): the process dies after the
      // intent is saved and before ImportKeyMaterial is sent; the next run records a renewal that never was.
      name: "a crash before ImportKeyMaterial, in the same second as the previous import, is not recorded as a renewal",
      steps: [
        {
          t: "crash",
          plan: { port: "kms-sdk", method: "ImportKeyMaterial", nth: 1, when: "before" },
          action: "reimport",
          key: "A",
          advanceMs: 0,
        },
        { t: "settle" },
      ],
    },
    {
      // Found by the model run (seed 572254035): an injected ThrottlingException is counted by the emulator
      // both as injected and as a throttle; the SDK's retry then imports once, which must be recorded once.
      name: "a throttled import retried by the SDK is one import, recorded once",
      steps: [
        {
          t: "kmsFault",
          op: "ImportKeyMaterial",
          error: "ThrottlingException",
          count: 1,
          action: "reimport",
          key: "A",
          advanceMs: 0,
        },
      ],
    },
    {
      name: "crash after ImportKeyMaterial answered (answer lost), then a revoke: the import is settled, never repeated",
      steps: [
        { t: "advance", ms: 49 * H },
        {
          t: "crash",
          plan: { port: "kms", method: "importMaterial", nth: 1, when: "after" },
          action: "sweep",
          key: "A",
          advanceMs: 0,
        },
        { t: "revoke", key: "A" },
        { t: "sweep" },
      ],
    },
    {
      name: "crash between the import and the record, then an out-of-band deletion before the next run",
      steps: [
        { t: "advance", ms: 37 * H },
        {
          t: "crash",
          plan: { port: "keys", method: "saveRegion", nth: 2, when: "before" },
          action: "sweep",
          key: "B",
          advanceMs: 0,
        },
        { t: "oob", key: "B", region: "eu-west-1", signal: "never" },
      ],
    },
    {
      name: "crash while writing the audit events of an import: same event ids on the next run, none lost",
      steps: [
        { t: "advance", ms: 37 * H },
        {
          t: "crash",
          plan: { port: "audit", method: "record", nth: 1, when: "after" },
          action: "sweep",
          key: "A",
          advanceMs: 0,
        },
        { t: "busDown", action: "sweep", key: "A", advanceMs: 10 * 60_000 },
      ],
    },
    {
      name: "late expiry and deletion events, reversed and duplicated, after Tether already restored",
      steps: [
        { t: "advance", ms: 49 * H },
        { t: "sweep" },
        { t: "oob", key: "B", region: "eu-west-1", signal: "late" },
        { t: "oob", key: "A", region: "eu-central-1", signal: "late" },
        { t: "sweep" },
        { t: "deliver", order: "reverse", dup: true },
      ],
    },
    {
      name: "revoke while the audit bus is down, regional loss, two sweeps at once, then restore",
      steps: [
        { t: "busDown", action: "revoke", key: "A", advanceMs: 0 },
        { t: "lose", region: "eu-central-1" },
        { t: "sweeps2" },
        { t: "advance", ms: 2 * H },
        { t: "sweeps2" },
        { t: "restore", key: "A" },
      ],
    },
    {
      name: "a policy change racing a sweep in the renew window is not lost",
      steps: [
        { t: "advance", ms: 37 * H },
        { t: "policy", key: "A", restoreOob: false, concurrentSweep: true },
        { t: "oob", key: "A", region: "eu-west-1", signal: "now" },
        { t: "policy", key: "A", restoreOob: true, concurrentSweep: true },
      ],
    },
    {
      name: "a lease left behind by a crash: the KMS event waits for it (busy, delivered again), nothing doubles",
      steps: [
        {
          t: "crash",
          plan: { port: "keys", method: "releaseLease", nth: 1, when: "before" },
          action: "reimport",
          key: "B",
          advanceMs: 0,
        },
        { t: "oob", key: "B", region: "eu-west-1", signal: "late" },
        { t: "deliver", order: "fifo", dup: false },
        { t: "advance", ms: 10 * 60_000 },
        { t: "deliver", order: "fifo", dup: true },
      ],
    },
    {
      // Issue 13: a kill switch on B (restoreAfterOutOfBandDelete false) whose CloudTrail record is late
      // (the event history has it after 3 hours; the EventBridge record comes after the first sweep): the
      // sweep sees an unexplained loss first, the record settles it as out-of-band, never undone. Before
      // the attribution rules the first sweep restored it as a "regional loss".
      name: "a kill switch whose CloudTrail record is late is never undone",
      steps: [
        { t: "trail", delayMs: 3 * H, drop: false },
        { t: "oob", key: "B", region: "eu-west-1", signal: "late" },
        { t: "advance", ms: 2 * H },
        { t: "sweep" },
        { t: "deliver", order: "fifo", dup: false },
        { t: "advance", ms: 2 * H },
        { t: "sweep" },
      ],
    },
    {
      // The same with the record dropped everywhere: a local loss, restored, but only after the grace.
      name: "a kill switch whose CloudTrail record never comes is restored only after the attribution grace",
      steps: [
        { t: "trail", delayMs: 3_000, drop: true },
        { t: "oob", key: "B", region: "eu-west-1", signal: "never" },
        { t: "advance", ms: 2 * H },
        { t: "sweep" },
        { t: "advance", ms: 10 * 60_000 },
        { t: "sweep" },
        { t: "advance", ms: 10 * 60_000 },
        { t: "sweep" },
      ],
    },
    {
      name: "disabled during expiry, enabled later: restored within one sweep, old ciphertexts decrypt",
      steps: [
        { t: "disable", key: "A", region: "eu-west-1" },
        { t: "advance", ms: 49 * H },
        { t: "sweep" },
        { t: "enable", key: "A", region: "eu-west-1" },
      ],
    },
    {
      // Found by the model run in CI's configuration (seed 1992034029, 300 runs, 2 lanes) after the
      // attribution work: a revoke, an operator's restore that crashes before the vault's first check value
      // (the retry finishes it), then an out-of-band delete whose CloudTrail event arrives at once.
      name: "an out-of-band delete right after a crashed and retried restore is not undone",
      steps: [
        { t: "revoke", key: "B" },
        {
          t: "crash",
          plan: { port: "vault", method: "checkValue", nth: 1, when: "before" },
          action: "restore",
          key: "B",
          advanceMs: 0,
        },
        { t: "oob", key: "B", region: "eu-west-1", signal: "now" },
        { t: "settle" },
      ],
    },
    {
      // Found by CI's model run (seed 1826222634): material deleted out of band and no record ever, then the
      // clock passes the recorded ValidTo: an expiry, restored as one; the process dies after KMS took the
      // import and before "Key Material Restored", so only the loss's own event says "expired".
      name: "an out-of-band delete overtaken by the recorded ValidTo is restored as an expiry, even across a crash",
      steps: [
        { t: "oob", key: "B", region: "eu-west-1", signal: "never" },
        {
          t: "crash",
          plan: { port: "kms-sdk", method: "ImportKeyMaterial", nth: 1, when: "after" },
          action: "sweep",
          key: "A",
          advanceMs: 176_400_000,
        },
        { t: "settle" },
      ],
    },
    {
      // Found by the model run with the sentinel-loss fault (seed 1234, 40 runs, 1 lane), shrunk by hand: B's
      // material deleted out of band and attributed (its policy keeps it gone), then the whole Region lost;
      // the incident counted B as pending (restoreAfterLoss) though Tether would never restore it, and never
      // closed. Fixed: an incident's keys are pending only if the policy for their recorded cause restores
      // them (sentinel.ts restoresAfter).
      name: "a regional-loss incident closes when a key there stays gone after an attributed out-of-band delete",
      steps: [
        { t: "oob", key: "B", region: "eu-west-1", signal: "now" },
        { t: "sweep" },
        { t: "lose", region: "eu-west-1", probe: true },
        { t: "sweep" },
        { t: "settle" },
      ],
    },
    {
      // Found by the model run (seed 777, 40 runs, 1 lane): a CloudTrail delete event for B delivered while
      // its material was there (the handling crashed) leaves B's loss recorded as an attributed out-of-band
      // delete; after the regional loss the policy keeps B gone, as the attribution table says. The model's
      // incident check now counts a delete Tether was told of like one it saw.
      name: "a key recorded as deleted out of band stays gone through a regional-loss incident, which still closes",
      steps: [
        {
          t: "crash",
          plan: { port: "vault", method: "checkValue", nth: 1, when: "before" },
          action: "signal",
          key: "B",
          advanceMs: 0,
        },
        { t: "lose", region: "eu-west-1", probe: false },
        { t: "disable", key: "A", region: "eu-west-1" },
      ],
    },
    {
      // Found by the model run after the issue 16 merges (seed 1557715407, 300 runs, 2 lanes): a region-wide
      // loss not yet probed, then an out-of-band DeleteImportedKeyMaterial on a key it already emptied, its
      // CloudTrail record delivered twice; the settle's probe opens the incident and its sweep must close it.
      name: "an out-of-band delete of material a regional loss already took, its record delivered twice",
      steps: [
        { t: "sweep" },
        { t: "lose", region: "eu-west-1", probe: false },
        { t: "oob", key: "A", region: "eu-west-1", signal: "dup" },
      ],
    },
    {
      // Found by the model run (seed 1981782714, 300 runs, 2 lanes): an operator's restore of a revoked key
      // imports and dies before the DescribeKey that confirms it; someone deletes the material out of band
      // and the CloudTrail event arrives at once. The Region still had the revoke as its loss cause (the
      // restore pending), which the rules read as "an operator restored it" before any evidence: the event's
      // run restored it again, undoing the kill switch. Fixed: a delete by someone else after the revoke
      // supersedes the pending restore (attribution.ts deletedSinceRevoke); the policy decides, and an
      // operator restoring again overrides it. (The model's delete events carried the fixture's eventTime, a
      // week old; they now carry the delete's own time, as CloudTrail's do.)
      name: "a crashed restore of a revoked key, then an out-of-band delete",
      steps: [
        { t: "revoke", key: "B" },
        {
          t: "crash",
          plan: { port: "kms-sdk", method: "DescribeKey", nth: 2, when: "before" },
          action: "restore",
          key: "B",
          advanceMs: 0,
        },
        { t: "oob", key: "B", region: "eu-west-1", signal: "now" },
      ],
    },
    {
      // The same without the event, the CloudTrail record three hours late: the sweep cannot tell an
      // import the crash cut short from one deleted since, so the loss is unexplained (critical alert, the
      // grace, lookups) before the operator's restore goes on. Before, the sweep restored at once.
      name: "a crashed restore of a revoked key, then an out-of-band delete nobody reports: the restore waits the grace",
      steps: [
        { t: "trail", delayMs: 3 * H, drop: false },
        { t: "revoke", key: "B" },
        {
          t: "crash",
          plan: { port: "kms-sdk", method: "DescribeKey", nth: 2, when: "before" },
          action: "restore",
          key: "B",
          advanceMs: 0,
        },
        { t: "oob", key: "B", region: "eu-west-1", signal: "never" },
        { t: "advance", ms: 2 * 60_000 },
        { t: "sweep" },
        { t: "advance", ms: 10 * 60_000 },
        { t: "sweep" },
        { t: "advance", ms: 10 * 60_000 },
        { t: "sweep" },
      ],
    },
    {
      // Seed 1981782715 (300 runs, 2 lanes), the incident left open after crashes, shrunk by hand: a
      // regional-loss incident; A restored there (here by an operator's reimport, in the run by a sweep that
      // crashed on B, which kept the incident open); then a stale CloudTrail delete record for A whose run
      // recorded the loss and crashed at DescribeKey, before it could see the material was there. The
      // record said "lost" while KMS had the material, so the incident counted A as pending after every
      // sweep. Fixed: a key KMS showed Enabled at a visit since the incident opened is not pending
      // (sentinel.ts recoveryProgress, presentAtVisit). In the model run, which of two concurrent regions
      // took a crash depended on timing, so it did not reproduce alone.
      name: "a loss recorded by a run that crashed before DescribeKey does not hold a regional-loss incident open",
      steps: [
        { t: "sweep" }, // creates the sentinels (in the run, an earlier sequence had)
        { t: "lose", region: "eu-west-1", probe: true },
        { t: "reimport", key: "A" },
        {
          t: "crash",
          plan: { port: "kms-sdk", method: "DescribeKey", nth: 1, when: "before" },
          action: "signal",
          key: "A",
          advanceMs: 0,
        },
      ],
    },
    {
      // Found by CI's model run (seed 1684469724, 200 runs, 2 lanes; the leading sweep stands for the earlier
      // sequences that had made the sentinels). A crash leaves B's lease behind; the kill switch's event comes
      // while it is held and is refused (busy: delivered again later); two days on, past the recorded ValidTo,
      // B's material is restored as expired. Tether was never told of the delete, so that is allowed (an
      // unattributed delete overtaken by ValidTo); the model had counted the refused event as attributed.
      // Fixed in the model: a delete counts as attributed once kms-events took its event (deliverDelete).
      name: "a kill switch whose event a leftover lease refused, overtaken by ValidTo, is an expiry",
      steps: [
        { t: "sweep" },
        {
          t: "crash",
          plan: { port: "dynamodb", method: "write", nth: 1, when: "after" },
          action: "sweep",
          key: "A",
          advanceMs: 133_200_000,
        },
        { t: "oob", key: "B", region: "eu-west-1", signal: "now" },
        {
          t: "crash",
          plan: { port: "dynamodb", method: "write", nth: 1, when: "before" },
          action: "sweep",
          key: "A",
          advanceMs: 176_400_000,
        },
        { t: "settle" },
      ],
    },
    {
      // Found by a local model run (seed 594313466, 300 runs, 2 lanes; the leading sweep stands for the earlier
      // sequences that had made the sentinels): the Region is lost and no probe has seen it yet; an operator
      // restores B (one throttle on the way), then pulls B's kill switch, with no CloudTrail record. The
      // probe then opens the incident and the sweep restores B with the Region. Tether cannot tell material
      // imported in the minute a loss goes unseen from material the loss took; the model now says so (the
      // "unseen" window of its regional-loss rule) and the README names the limit. The lose step now runs
      // the minute's probe first, as the schedule would have.
      name: "a kill switch in the minute a regional loss went unseen, on material restored in it, goes with the Region",
      steps: [
        { t: "sweep" },
        { t: "lose", region: "eu-west-1", probe: false },
        {
          t: "kmsFault",
          op: "ImportKeyMaterial",
          error: "ThrottlingException",
          count: 1,
          action: "restore",
          key: "B",
          advanceMs: 0,
        },
        { t: "oob", key: "B", region: "eu-west-1", signal: "never" },
        { t: "settle" },
      ],
    },
  ];

let bed: LifecycleTestbed;
const sharedPrimes = process.env[SHARED_PRIME_ENV];
beforeAll(async () => {
  // Cheap RSA wrapping keys in this file's emulator, as in the model runs (model-run.ts).
  process.env[SHARED_PRIME_ENV] = "1";
  bed = await startLifecycleTestbed();
});
afterAll(async () => {
  console.log(`[reliability] regressions: ${JSON.stringify(figures)}`);
  if (bed !== undefined) closeModelPorts(bed);
  await bed?.close();
  if (sharedPrimes === undefined) delete process.env[SHARED_PRIME_ENV];
  else process.env[SHARED_PRIME_ENV] = sharedPrimes;
});

describe("kept sequences", () => {
  for (const { name, steps, knownBug } of CASES) {
    if (knownBug === undefined) {
      it(name, async () => runSequence(bed, commandsOf(steps)), 120_000);
      continue;
    }
    it(`${name} [known bug: ${knownBug.what}]`, async () => {
      console.warn(`[reliability] known bug, the sequence still violates an invariant: ${knownBug.what}`);
      await expect(runSequence(bed, commandsOf(steps))).rejects.toThrow(knownBug.violation);
    }, 120_000);
  }
});
