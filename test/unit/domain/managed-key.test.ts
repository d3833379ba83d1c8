import { describe, expect, it } from "vitest";
import {
  addReplica,
  assertImportAllowed,
  awaitsPrimaryImport,
  changePolicy,
  findRegion,
  holdForRegistration,
  KeySpec,
  keyNextCheckAt,
  LossCause,
  type ManagedKey,
  type NewManagedKey,
  newManagedKey,
  parseCheckValue,
  parseImportPolicy,
  parseMaterialRef,
  pauseKey,
  type RegionRecord,
  recordFailure,
  recordImport,
  recordLoss,
  recordObservation,
  restoreKey,
  resumeKey,
  revokeKey,
  StateConflictError,
  ValidationError,
  withRegion,
} from "../../../lib/domain/index.js";
import {
  at,
  DAY,
  found,
  HOUR,
  KEY_ID,
  makeKey,
  NOT_FOUND,
  NOW,
  PRIMARY_ARN,
  primaryOf,
  REPLICA_ARN,
} from "./support.js";

const MINUTE = 60_000;
const REQUEST = { actor: "alice@example.com", reason: "incident 42" };

function registration(overrides: Partial<NewManagedKey> = {}): NewManagedKey {
  return {
    id: KEY_ID,
    keyArn: PRIMARY_ARN,
    keySpec: KeySpec.SYMMETRIC_DEFAULT,
    replicaArns: [REPLICA_ARN],
    materialRef: parseMaterialRef("acme/payments"),
    checkValue: parseCheckValue("kcv-aes:1A2B3C"),
    policy: parseImportPolicy({}),
    ...overrides,
  };
}

function fieldOf(act: () => unknown): string | undefined {
  try {
    act();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).field;
  }
}

describe("newManagedKey", () => {
  it("registers an active key, primary first, every region due now and never imported", () => {
    const key = newManagedKey(registration({ alias: "alias/payments", description: "Payments" }), NOW);
    expect(key).toMatchObject({
      id: KEY_ID,
      kmsKeyId: "mrk-0123456789abcdef0123456789abcdef",
      primaryRegion: "eu-west-1",
      multiRegion: true,
      status: { state: "active" },
      alias: "alias/payments",
      version: 0,
      createdAt: NOW,
      updatedAt: NOW,
    });
    expect(
      key.regions.map((r) => [r.region, r.materialExpected, r.nextCheckAt, r.consecutiveFailures]),
    ).toEqual([
      ["eu-west-1", false, NOW, 0],
      ["us-east-1", false, NOW, 0],
    ]);
  });

  it.each([
    ["a malformed ARN", { keyArn: "arn:aws:kms:eu-west-1:1:key/x" }, "keyArn"],
    ["an alias ARN", { keyArn: "arn:aws:kms:eu-west-1:111122223333:alias/x" }, "keyArn"],
    [
      "replicas of a single-Region key",
      { keyArn: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" },
      "replicaArns",
    ],
    [
      "a replica of another key",
      { replicaArns: ["arn:aws:kms:us-east-1:111122223333:key/mrk-ffffffffffffffffffffffffffffffff"] },
      "replicaArns[0]",
    ],
    ["a replica in the primary's region", { replicaArns: [PRIMARY_ARN] }, "replicaArns[0]"],
    ["an unknown key spec", { keySpec: "AES_128" as KeySpec }, "keySpec"],
    [
      "a wrapping preference the material cannot use",
      { keySpec: KeySpec.RSA_2048, policy: parseImportPolicy({ wrappingAlgorithm: "RSAES_OAEP_SHA_256" }) },
      "wrappingAlgorithm",
    ],
    ["a bad alias", { alias: "payments" }, "alias"],
    ["an AWS-reserved alias", { alias: "alias/aws/kms" }, "alias"],
    ["an over-long description", { description: "x".repeat(8193) }, "description"],
  ])("refuses %s", (_name, overrides, field) => {
    expect(fieldOf(() => newManagedKey(registration(overrides), NOW))).toBe(field);
  });

  it("adds a replica created later, and refuses one already managed", () => {
    const key = newManagedKey(registration({ replicaArns: [] }), NOW);
    const later = addReplica(key, REPLICA_ARN, at(HOUR));
    expect(later.regions.map((r) => r.region)).toEqual(["eu-west-1", "us-east-1"]);
    expect(findRegion(later, "us-east-1")?.nextCheckAt).toEqual(at(HOUR));
    expect(key.regions).toHaveLength(1);
    expect(fieldOf(() => addReplica(later, REPLICA_ARN, NOW))).toBe("replicaArn");
  });
});

describe("key status transitions", () => {
  const active = makeKey();

  it("revoke: records who, why and when; idempotent", () => {
    const revoked = revokeKey(active, REQUEST, NOW);
    expect(revoked.status).toEqual({ state: "revoked", ...REQUEST, at: NOW });
    expect(revoked.updatedAt).toEqual(NOW);
    expect(revoked.version).toBe(active.version);
    expect(active.status.state).toBe("active");
    expect(revokeKey(revoked, { actor: "bob", reason: "again" }, at(HOUR))).toBe(revoked);
  });

  it("revoke works from paused too", () => {
    expect(revokeKey(pauseKey(active, REQUEST, NOW), REQUEST, NOW).status.state).toBe("revoked");
  });

  it("restore: revoked → active; anything else is a conflict", () => {
    const revoked = revokeKey(active, REQUEST, NOW);
    expect(restoreKey(revoked, REQUEST, at(HOUR)).status).toEqual({ state: "active" });
    expect(() => restoreKey(active, REQUEST, NOW)).toThrow(StateConflictError);
  });

  it("pause and resume", () => {
    const pausedKey = pauseKey(active, REQUEST, NOW);
    expect(pausedKey.status).toEqual({ state: "paused", ...REQUEST, at: NOW });
    expect(resumeKey(pausedKey, REQUEST, NOW).status).toEqual({ state: "active" });
    expect(() => pauseKey(pausedKey, REQUEST, NOW)).toThrow(StateConflictError);
    expect(() => resumeKey(active, REQUEST, NOW)).toThrow(StateConflictError);
  });

  it("a revoked key cannot be paused or resumed (only restored)", () => {
    const revoked = revokeKey(active, REQUEST, NOW);
    expect(() => pauseKey(revoked, REQUEST, NOW)).toThrow(StateConflictError);
    let caught: unknown;
    try {
      resumeKey(revoked, REQUEST, NOW);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StateConflictError);
    expect(caught).toMatchObject({ keyId: KEY_ID, state: "revoked" });
    expect((caught as Error).message).toMatch(/restore/);
  });

  it.each([
    ["no actor", { actor: " ", reason: "x" }, "actor"],
    ["no reason", { actor: "alice", reason: "" }, "reason"],
    ["an over-long reason", { actor: "alice", reason: "x".repeat(1025) }, "reason"],
  ])("refuses a request with %s", (_name, request, field) => {
    expect(fieldOf(() => revokeKey(active, request, NOW))).toBe(field);
    expect(fieldOf(() => pauseKey(active, request, NOW))).toBe(field);
  });

  it("assertImportAllowed: revoked never, paused only for an operator", () => {
    const revoked = revokeKey(active, REQUEST, NOW);
    const pausedKey = pauseKey(active, REQUEST, NOW);
    expect(() => assertImportAllowed(active, "automatic")).not.toThrow();
    expect(() => assertImportAllowed(pausedKey, "operator")).not.toThrow();
    expect(() => assertImportAllowed(pausedKey, "automatic")).toThrow(StateConflictError);
    expect(() => assertImportAllowed(revoked, "operator")).toThrow(/revoked.*restored/);
    expect(() => assertImportAllowed(revoked, "automatic")).toThrow(StateConflictError);
  });

  it("changePolicy makes every region due now and checks the wrapping preference", () => {
    const changed = changePolicy(active, parseImportPolicy({ validityPeriod: "PT1H" }), at(HOUR));
    expect(changed.regions.every((r) => r.nextCheckAt.getTime() === at(HOUR).getTime())).toBe(true);
    const rsa = { ...active, keySpec: KeySpec.RSA_2048 } as ManagedKey;
    expect(
      fieldOf(() => changePolicy(rsa, parseImportPolicy({ wrappingAlgorithm: "RSAES_OAEP_SHA_1" }), NOW)),
    ).toBe("wrappingAlgorithm");
  });
});

describe("region transitions", () => {
  const key = makeKey();
  const region = primaryOf(key);

  it("recordImport: material expected, loss and failures cleared, next check at the window", () => {
    const failing: RegionRecord = {
      ...recordLoss(region, "expired", at(-HOUR)),
      consecutiveFailures: 3,
      lastFailure: "X",
    };
    const imported = recordImport(failing, { at: NOW, validTo: at(30 * DAY) }, key.policy);
    expect(imported).toMatchObject({
      materialExpected: true,
      lastImportedAt: NOW,
      importedValidTo: at(30 * DAY),
      lossCause: undefined,
      lossDetectedAt: undefined,
      consecutiveFailures: 0,
      lastFailure: undefined,
      nextCheckAt: at(6 * HOUR),
    });
    const hourly = parseImportPolicy({ validityPeriod: "PT1H" });
    expect(recordImport(region, { at: NOW, validTo: at(HOUR) }, hourly).nextCheckAt).toEqual(at(45 * MINUTE));
    expect(() => recordImport(region, { at: NOW, validTo: NOW }, key.policy)).toThrow(ValidationError);
  });

  it("recordLoss: material not expected, cause recorded, due now", () => {
    expect(recordLoss(region, "deleted-out-of-band", NOW)).toMatchObject({
      materialExpected: false,
      lossCause: "deleted-out-of-band",
      lossDetectedAt: NOW,
      nextCheckAt: NOW,
    });
  });

  it("recordFailure: counts and backs off exponentially, capped", () => {
    let record = region;
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      record = recordFailure(record, "KmsThrottledError", key.policy, NOW);
      delays.push((record.nextCheckAt.getTime() - NOW.getTime()) / MINUTE);
    }
    expect(delays).toEqual([1, 2, 4, 8, 16, 30, 30, 30]);
    expect(record).toMatchObject({ consecutiveFailures: 8, lastFailure: "KmsThrottledError" });
    const quick = parseImportPolicy({ reconcileInterval: "PT5M" });
    expect(recordFailure({ ...region, consecutiveFailures: 9 }, "E", quick, NOW).nextCheckAt).toEqual(
      at(5 * MINUTE),
    );
  });

  it("recordObservation: the last KeyState and when", () => {
    expect(recordObservation(region, found({ keyState: "Disabled" }), NOW)).toMatchObject({
      lastObservedKeyState: "Disabled",
      lastObservedAt: NOW,
    });
    expect(recordObservation(region, NOT_FOUND, NOW).lastObservedKeyState).toBe("NotFound");
  });

  it("withRegion replaces one region only; keyNextCheckAt is the earliest", () => {
    const replica = key.regions[1] as RegionRecord;
    const updated = withRegion(key, { ...replica, nextCheckAt: at(-40 * DAY) }, NOW);
    expect(updated.regions[0]).toBe(key.regions[0]);
    expect(keyNextCheckAt(updated)).toEqual(at(-40 * DAY));
    expect(keyNextCheckAt(key)).toEqual(at(-30 * DAY));
    expect(() =>
      withRegion(key, { ...replica, region: "ap-south-1" as RegionRecord["region"] }, NOW),
    ).toThrow(ValidationError);
  });
});

describe("holdForRegistration / awaitsPrimaryImport", () => {
  it("holds every Region of a new key until the given time, changing nothing else", () => {
    const key = newManagedKey(registration(), NOW);
    const until = new Date(NOW.getTime() + 2 * MINUTE);
    const held = holdForRegistration(key, until);
    expect(held.regions.map((r) => r.nextCheckAt)).toEqual([until, until]);
    expect({ ...held, regions: held.regions.map((r) => ({ ...r, nextCheckAt: NOW })) }).toEqual(key);
  });

  it("says a primary awaits its first import until Tether imported into it, and not after a loss", () => {
    const key = newManagedKey(registration(), NOW);
    const primary = primaryOf(key);
    expect(awaitsPrimaryImport(primary)).toBe(true);
    const imported = recordImport(primary, { at: NOW, validTo: new Date(NOW.getTime() + DAY) }, key.policy);
    expect(awaitsPrimaryImport(imported)).toBe(false);
    expect(awaitsPrimaryImport(recordLoss(imported, LossCause.RegionalLoss, NOW))).toBe(false);
  });
});
