import { describe, expect, it } from "vitest";
import {
  AlertReason,
  ATTRIBUTION_LOOKUP_INTERVAL_MS,
  type AttributionInput,
  attributeLoss,
  deletedSinceRevoke,
  LossCause,
  type LossEvidence,
  type ManagedKey,
  parseImportPolicy,
  type RegionRecord,
  recordUnexplainedLoss,
  SentinelHealth,
  staleExpiryEvent,
} from "../../../lib/domain/index.js";
import { at, DAY, HOUR, importedRegion, makeKey, NOW, primaryOf } from "./support.js";

const MINUTE = 60_000;
const OFFICER = "arn:aws:iam::111122223333:user/security-officer";
const TETHER = "arn:aws:iam::111122223333:role/tether-sweep";

const outOfBand: LossEvidence = {
  kind: "out-of-band",
  eventName: "DeleteImportedKeyMaterial",
  principal: OFFICER,
  at: at(-5 * MINUTE),
  sourceIp: "203.0.113.7",
};
const byTether: LossEvidence = {
  kind: "tether",
  eventName: "DeleteImportedKeyMaterial",
  principal: TETHER,
  at: at(-5 * MINUTE),
};

const DEFAULT = makeKey();
/** Imported 10 days ago, ValidTo in 20 days, now found gone. */
const gone = (key: ManagedKey, fields: Partial<RegionRecord> = {}): RegionRecord => ({
  ...importedRegion(key, at(-10 * DAY), at(20 * DAY)),
  materialExpected: false,
  ...fields,
});
const input = (fields: Partial<AttributionInput> = {}): AttributionInput => ({
  region: gone(DEFAULT),
  sentinel: SentinelHealth.Intact,
  evidence: { kind: "none" },
  policy: DEFAULT.policy,
  now: NOW,
  ...fields,
});

describe("attributeLoss: DESIGN.md's table, row by row", () => {
  it.each([
    {
      name: "Tether's own revoke recorded (the key active again: an operator restored it): restore",
      input: input({ region: gone(DEFAULT, { lossCause: LossCause.RevokedByTether }) }),
      expected: { cause: "revoked", action: "restore", lossCause: LossCause.RevokedByTether },
    },
    {
      name: "CloudTrail: Tether's own principal deleted it, no revoke recorded: never restored automatically",
      input: input({ evidence: byTether }),
      expected: { cause: "revoked", action: "alert-only", alert: { severity: "critical" } },
    },
    {
      name: "past the recorded ValidTo: expired, restore",
      input: input({ region: gone(DEFAULT, { importedValidTo: at(-HOUR) }) }),
      expected: { cause: "expired", action: "restore", lossCause: LossCause.Expired },
    },
    {
      name: "an expiry event recorded: expired, restore",
      input: input({ region: gone(DEFAULT, { lossCause: LossCause.Expired }) }),
      expected: { cause: "expired", action: "restore" },
    },
    {
      name: "the sentinel lost its material too: regional loss, restore, no per-key alert",
      input: input({ sentinel: SentinelHealth.Lost }),
      expected: {
        cause: "regional-loss",
        action: "restore",
        lossCause: LossCause.RegionalLoss,
      },
    },
    {
      name: "CloudTrail: someone else deleted it (default policy): out-of-band, critical alert, not restored",
      input: input({ evidence: outOfBand }),
      expected: {
        cause: "out-of-band",
        action: "alert-only",
        lossCause: LossCause.DeletedOutOfBand,
        alert: { severity: "critical", reason: AlertReason.DeletedOutOfBand },
        deletedBy: { principal: OFFICER, sourceIp: "203.0.113.7" },
      },
    },
    {
      name: "out-of-band with restoreAfterOutOfBandDelete: restore, warning naming the principal",
      input: input({
        evidence: outOfBand,
        policy: parseImportPolicy({ restoreAfterOutOfBandDelete: true }),
      }),
      expected: { cause: "out-of-band", action: "restore", alert: { severity: "warning" } },
    },
    {
      name: "out-of-band recorded earlier with its principal: still attributed",
      input: input({
        region: gone(DEFAULT, {
          lossCause: LossCause.DeletedOutOfBand,
          deletedBy: OFFICER,
          deletedAt: at(-HOUR),
        }),
      }),
      expected: { cause: "out-of-band", action: "alert-only", deletedBy: { principal: OFFICER } },
    },
    {
      name: "nothing explains it, sentinel intact, first sight: unexplained, wait one lookup interval",
      input: input(),
      expected: {
        cause: "unexplained",
        action: "wait",
        lossCause: undefined,
        waitUntil: at(ATTRIBUTION_LOOKUP_INTERVAL_MS),
        graceEndsAt: at(15 * MINUTE),
        alert: { severity: "critical", reason: AlertReason.UnexplainedMaterialLoss },
      },
    },
    {
      name: "unexplained, 14.5 minutes in: wait until the grace ends, not beyond",
      input: input({ region: gone(DEFAULT, { unexplainedSince: at(-14.5 * MINUTE) }) }),
      expected: { cause: "unexplained", action: "wait", waitUntil: at(0.5 * MINUTE) },
    },
    {
      name: "unexplained, no sentinel known: still unexplained, never regional",
      input: input({ sentinel: SentinelHealth.Unknown }),
      expected: { cause: "unexplained", action: "wait" },
    },
    {
      name: "the grace has ended with nothing found: local loss, restore, alert says not attributed",
      input: input({ region: gone(DEFAULT, { unexplainedSince: at(-15 * MINUTE) }) }),
      expected: {
        cause: "local-loss",
        action: "restore",
        lossCause: LossCause.LocalLoss,
        alert: { severity: "warning", reason: AlertReason.LossNotAttributed },
      },
    },
    {
      name: "local loss with restoreAfterLoss false: critical alert, not restored",
      input: input({
        region: gone(DEFAULT, { unexplainedSince: at(-HOUR) }),
        policy: parseImportPolicy({ restoreAfterLoss: false }),
      }),
      expected: {
        cause: "local-loss",
        action: "alert-only",
        alert: { severity: "critical", reason: AlertReason.LossNotAttributed },
      },
    },
    {
      name: "attributionGrace PT0S: look once, then act at once",
      input: input({ policy: parseImportPolicy({ attributionGrace: "PT0S" }) }),
      expected: { cause: "local-loss", action: "restore" },
    },
    {
      name: "the CloudTrail record arrives after the grace ended (not restored yet): out-of-band wins",
      input: input({
        region: gone(DEFAULT, { lossCause: LossCause.LocalLoss, unexplainedSince: at(-HOUR) }),
        evidence: outOfBand,
      }),
      expected: { cause: "out-of-band", action: "alert-only" },
    },
    {
      name: "never imported: import",
      input: input({ region: primaryOf(DEFAULT) }),
      expected: { cause: "never-imported", action: "restore", lossCause: undefined },
    },
  ])("$name", ({ input: given, expected }) => {
    expect(attributeLoss(given)).toMatchObject(expected);
  });

  it("raises no per-key alert for a regional loss (the incident has one)", () => {
    expect(attributeLoss(input({ sentinel: SentinelHealth.Lost })).alert).toBeUndefined();
  });

  it("names the principal, the time and the source IP in the alert", () => {
    const { alert } = attributeLoss(input({ evidence: outOfBand }));
    expect(alert?.summary).toContain(OFFICER);
    expect(alert?.summary).toContain(at(-5 * MINUTE).toISOString());
    expect(alert?.summary).toContain("203.0.113.7");
  });
});

// Every combination of the inputs the rules look at, and the rules that must hold for each.
const CAUSES = [undefined, ...Object.values(LossCause)];
const VALID_TOS = [undefined, at(-HOUR), NOW, at(MINUTE), at(20 * DAY)];
const SENTINELS = Object.values(SentinelHealth);
const EVIDENCE: LossEvidence[] = [{ kind: "none" }, byTether, outOfBand];
const FIRST_SEEN = [undefined, at(-MINUTE), at(-15 * MINUTE), at(-DAY)];
const POLICIES = [
  {},
  { restoreAfterLoss: false },
  { restoreAfterOutOfBandDelete: true },
  { restoreAfterLoss: false, restoreAfterOutOfBandDelete: true },
  { attributionGrace: "PT0S" },
  { attributionGrace: "PT24H", expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" },
].map((policy) => parseImportPolicy(policy));

describe("attributeLoss over every combination", () => {
  it("keeps every rule", () => {
    let count = 0;
    const seen = new Set<string>();
    for (const policy of POLICIES)
      for (const lossCause of CAUSES)
        for (const importedValidTo of VALID_TOS)
          for (const everImported of [true, false])
            for (const sentinel of SENTINELS)
              for (const evidence of EVIDENCE)
                for (const unexplainedSince of FIRST_SEEN) {
                  const region: RegionRecord = {
                    ...primaryOf(DEFAULT),
                    materialExpected: false,
                    lastImportedAt: everImported ? at(-10 * DAY) : undefined,
                    importedValidTo: everImported ? importedValidTo : undefined,
                    lossCause,
                    unexplainedSince,
                  };
                  const result = attributeLoss({ region, sentinel, evidence, policy, now: NOW });
                  count++;
                  seen.add(`${result.cause}/${result.action}`);
                  const fail = (rule: string) =>
                    expect.fail(`${rule}: ${JSON.stringify({ policy, region, sentinel, evidence, result })}`);
                  const oob = evidence.kind === "out-of-band" || lossCause === LossCause.DeletedOutOfBand;

                  // An out-of-band delete is never undone unless the policy says so.
                  if (
                    result.cause === "out-of-band" &&
                    result.action === "restore" &&
                    !policy.restoreAfterOutOfBandDelete
                  )
                    fail("out-of-band delete restored against the policy");
                  if (oob && lossCause !== LossCause.RevokedByTether && result.cause !== "out-of-band")
                    fail("an attributed delete not called out-of-band");
                  // Tether's own delete with no revoke recorded is not undone automatically.
                  if (
                    evidence.kind === "tether" &&
                    !oob &&
                    lossCause !== LossCause.RevokedByTether &&
                    result.action === "restore"
                  )
                    fail("Tether's own delete restored");
                  // Regional only on the sentinel's word (now or recorded from an incident).
                  if (
                    result.cause === "regional-loss" &&
                    sentinel !== "lost" &&
                    lossCause !== LossCause.RegionalLoss
                  )
                    fail("regional loss without the sentinel");
                  // restoreAfterLoss governs expiry, regional and local losses.
                  if (
                    ["expired", "regional-loss", "local-loss"].includes(result.cause) &&
                    (result.action === "restore") !== policy.restoreAfterLoss
                  )
                    fail("restoreAfterLoss not followed");
                  // Waiting: only while unexplained, within the grace, looking again within a minute.
                  if (result.action === "wait") {
                    if (result.cause !== "unexplained") fail("wait for a known cause");
                    const since = (unexplainedSince ?? NOW).getTime();
                    if (!(NOW.getTime() < since + policy.attributionGraceMs)) fail("wait after the grace");
                    const next = result.waitUntil?.getTime() ?? Number.NaN;
                    if (!(next > NOW.getTime() && next <= NOW.getTime() + ATTRIBUTION_LOOKUP_INTERVAL_MS))
                      fail("next look not within a minute");
                    if (!(next <= since + policy.attributionGraceMs)) fail("next look after the grace");
                  }
                  if (result.cause === "unexplained" && result.action !== "wait")
                    fail("unexplained but acting");
                  // A local loss only once the grace has ended.
                  if (result.cause === "local-loss" && lossCause !== LossCause.LocalLoss) {
                    const since = (unexplainedSince ?? NOW).getTime();
                    if (NOW.getTime() < since + policy.attributionGraceMs)
                      fail("local loss within the grace");
                  }
                  // People are told whenever Tether does not restore.
                  if (result.action === "alert-only" && result.alert?.severity !== "critical")
                    fail("not restored without a critical alert");
                  if (
                    result.action === "wait" &&
                    result.alert?.reason !== AlertReason.UnexplainedMaterialLoss
                  )
                    fail("unexplained without its alert");
                  if (
                    evidence.kind === "out-of-band" &&
                    result.cause === "out-of-band" &&
                    !result.alert?.summary.includes(OFFICER)
                  )
                    fail("out-of-band alert does not name the principal");
                }
    expect(count).toBe(POLICIES.length * CAUSES.length * VALID_TOS.length * 2 * 3 * 3 * 4);
    // Every cause and action the rules know is reached.
    expect([...seen].sort()).toEqual(
      [
        "expired/alert-only",
        "expired/restore",
        "local-loss/alert-only",
        "local-loss/restore",
        "never-imported/restore",
        "out-of-band/alert-only",
        "out-of-band/restore",
        "regional-loss/alert-only",
        "regional-loss/restore",
        "revoked/alert-only",
        "revoked/restore",
        "unexplained/wait",
      ].sort(),
    );
  });
});

describe("a pending operator's restore after a revoke (the key active, the Region's revoke on record)", () => {
  // Revoked an hour ago; the operator's restore made the key active and has not imported here yet.
  const pending = (fields: Partial<RegionRecord> = {}) =>
    gone(DEFAULT, { lossCause: LossCause.RevokedByTether, lossDetectedAt: at(-HOUR), ...fields });
  const deleteAt = (when: Date): LossEvidence => ({ ...outOfBand, at: when });
  it.each([
    ["nothing else known: restore", input({ region: pending() }), { cause: "revoked", action: "restore" }],
    [
      "someone else deleted it after the revoke (after the restore request): out-of-band, not restored",
      input({ region: pending(), evidence: deleteAt(at(-MINUTE)) }),
      {
        cause: "out-of-band",
        action: "alert-only",
        lossCause: LossCause.DeletedOutOfBand,
        alert: { severity: "critical", reason: AlertReason.DeletedOutOfBand },
        deletedBy: { principal: OFFICER },
      },
    ],
    [
      "the same with restoreAfterOutOfBandDelete: out-of-band, restored",
      input({
        region: pending(),
        evidence: deleteAt(at(-MINUTE)),
        policy: parseImportPolicy({ restoreAfterOutOfBandDelete: true }),
      }),
      { cause: "out-of-band", action: "restore" },
    ],
    [
      "a delete older than the revoke (a late record the revoke and the restore superseded): restore",
      input({ region: pending(), evidence: deleteAt(at(-2 * HOUR)) }),
      { cause: "revoked", action: "restore" },
    ],
    [
      "a delete in the revoke's own second (CloudTrail's whole seconds cannot tell): out-of-band",
      input({
        region: pending({ lossDetectedAt: new Date(at(-HOUR).getTime() + 700) }),
        evidence: deleteAt(at(-HOUR)),
      }),
      { cause: "out-of-band", action: "alert-only" },
    ],
    [
      "no revoke time recorded: a delete counts as after it",
      input({ region: pending({ lossDetectedAt: undefined }), evidence: deleteAt(at(-2 * HOUR)) }),
      { cause: "out-of-band", action: "alert-only" },
    ],
    [
      "Tether's own delete (the revoke's, found by a lookup): restore",
      input({ region: pending(), evidence: byTether }),
      { cause: "revoked", action: "restore" },
    ],
    [
      "its import unconfirmed after a crash, KMS without material: unexplained, alert, wait one lookup",
      input({ region: pending(), importUnconfirmed: true }),
      {
        cause: "unexplained",
        action: "wait",
        lossCause: undefined,
        waitUntil: at(ATTRIBUTION_LOOKUP_INTERVAL_MS),
        graceEndsAt: at(15 * MINUTE),
        alert: { severity: "critical", reason: AlertReason.UnexplainedMaterialLoss },
      },
    ],
    [
      "seen unexplained since after the revoke, within the grace: still waiting",
      input({ region: pending({ unexplainedSince: at(-10 * MINUTE) }) }),
      { cause: "unexplained", action: "wait", graceEndsAt: at(5 * MINUTE) },
    ],
    [
      "the grace ended with nothing found: the operator's restore goes on",
      input({ region: pending({ unexplainedSince: at(-15 * MINUTE) }) }),
      { cause: "revoked", action: "restore", lossCause: LossCause.RevokedByTether },
    ],
    [
      "the record arrives within the grace: out-of-band, not restored",
      input({
        region: pending({ unexplainedSince: at(-10 * MINUTE) }),
        evidence: deleteAt(at(-11 * MINUTE)),
      }),
      { cause: "out-of-band", action: "alert-only" },
    ],
    [
      "an unexplained sight older than the revoke is not about the restore: restore",
      input({ region: pending({ unexplainedSince: at(-2 * HOUR) }) }),
      { cause: "revoked", action: "restore" },
    ],
  ] as const)("%s", (_, given, expected) => {
    expect(attributeLoss(given)).toMatchObject(expected);
  });

  it("deletedSinceRevoke: only someone else's delete, only with a revoke on record", () => {
    expect(deletedSinceRevoke(pending(), deleteAt(at(-MINUTE)))).toBe(true);
    expect(deletedSinceRevoke(pending(), byTether)).toBe(false);
    expect(deletedSinceRevoke(pending(), { kind: "none" })).toBe(false);
    expect(deletedSinceRevoke(gone(DEFAULT), deleteAt(at(-MINUTE)))).toBe(false);
  });

  it("the first unexplained sight keeps the revoke's time (later records are compared with it)", () => {
    const seen = recordUnexplainedLoss(pending(), NOW);
    expect(seen).toMatchObject({ unexplainedSince: NOW, lossDetectedAt: at(-HOUR), materialExpected: false });
    expect(recordUnexplainedLoss(gone(DEFAULT), NOW).lossDetectedAt).toEqual(NOW);
  });
});

describe("staleExpiryEvent: a late expiry event about earlier material", () => {
  // The current material: imported 10 days ago, ValidTo in 20 days (gone now, cause not known yet).
  const current = gone(DEFAULT);
  it.each([
    ["no time in the event", current, undefined, false],
    ["at the current material's ValidTo", current, at(20 * DAY), false],
    ["after the last import, before the recorded ValidTo (a clock set back)", current, at(-1 * DAY), false],
    [
      "the second of the last import, rounded down, import later in it",
      gone(DEFAULT, { lastImportedAt: new Date(at(-HOUR).getTime() + 400) }),
      at(-HOUR),
      true,
    ],
    ["older than the last import (a restore since)", current, at(-11 * DAY), true],
    [
      "older than a recorded out-of-band delete",
      gone(DEFAULT, {
        lastImportedAt: at(-10 * DAY),
        lossCause: LossCause.DeletedOutOfBand,
        deletedAt: at(-MINUTE),
      }),
      at(-2 * MINUTE),
      true,
    ],
    [
      "older than Tether's recorded revoke",
      gone(DEFAULT, { lossCause: LossCause.RevokedByTether, lossDetectedAt: at(-MINUTE) }),
      at(-2 * MINUTE),
      true,
    ],
    [
      "after the recorded delete (the deleted material's own expiry cannot follow; not stale by this rule)",
      gone(DEFAULT, { lossCause: LossCause.DeletedOutOfBand, deletedAt: at(-2 * MINUTE) }),
      at(-MINUTE),
      false,
    ],
  ] as const)("%s → %s", (_, region, eventAt, stale) => {
    expect(staleExpiryEvent(region, eventAt)).toBe(stale);
  });
});
