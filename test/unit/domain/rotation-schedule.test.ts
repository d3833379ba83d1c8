import { describe, expect, it } from "vitest";
import {
  changePolicy,
  KeySpec,
  KeyStatusState,
  newManagedKey,
  parseCheckValue,
  parseImportPolicy,
  parseMaterialRef,
  rotationMethodOf,
  toImportPolicyInput,
  ValidationError,
} from "../../../lib/domain/index.js";
import {
  currentMaterialSince,
  ROTATION_RETRY_MS,
  rotationDue,
  rotationDueAt,
  scheduleRotationCheck,
} from "../../../lib/domain/rotation-schedule.js";
import { at, DAY, HOUR, KEY_ID, makeKey, NOW, PRIMARY_ARN, primaryOf } from "./support.js";

function validationField(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return error.field;
    throw error;
  }
  return undefined;
}

describe("policy field rotateEvery", () => {
  it("is optional and absent by default", () => {
    const policy = parseImportPolicy({});
    expect(policy.rotateEveryMs).toBeUndefined();
    expect(toImportPolicyInput(policy)).not.toHaveProperty("rotateEvery");
  });

  it("accepts P1D to P3650D and round-trips through the input form", () => {
    for (const [input, ms] of [
      ["P1D", DAY],
      ["P365D", 365 * DAY],
      ["P3650D", 3650 * DAY],
      ["P1W", 7 * DAY],
    ] as const) {
      const policy = parseImportPolicy({ rotateEvery: input });
      expect(policy.rotateEveryMs).toBe(ms);
      const again = parseImportPolicy(toImportPolicyInput(policy));
      expect(again).toEqual(policy);
      expect(again.rotateEveryMs).toBe(ms);
    }
    expect(toImportPolicyInput(parseImportPolicy({ rotateEvery: "P1W" })).rotateEvery).toBe("P7D");
  });

  it("refuses less than a day, more than ten years, and malformed values, naming the field", () => {
    for (const bad of ["PT23H59M59S", "PT1H", "P3651D", "P1Y", "365", 365, "", null]) {
      expect(validationField(() => parseImportPolicy({ rotateEvery: bad }))).toBe("rotateEvery");
    }
  });

  it("works with either expiration model", () => {
    const policy = parseImportPolicy({
      expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      rotateEvery: "P90D",
    });
    expect(policy.rotateEveryMs).toBe(90 * DAY);
    expect(parseImportPolicy(toImportPolicyInput(policy))).toEqual(policy);
  });

  it("is kept by a key swap for keys that are not symmetric; in-key rotation is refused for them", () => {
    const register = (keySpec: KeySpec, policy: Record<string, unknown>) =>
      newManagedKey(
        {
          id: KEY_ID,
          keyArn: PRIMARY_ARN,
          keySpec,
          materialRef: parseMaterialRef("customers/acme/mac"),
          checkValue: parseCheckValue("kcv:1"),
          policy: parseImportPolicy(policy),
        },
        NOW,
      );
    const inKey = { rotateEvery: "P365D", rotationMethod: "in-key" };
    expect(validationField(() => register(KeySpec.HMAC_256, inKey))).toBe("rotationMethod");
    expect(validationField(() => register(KeySpec.RSA_2048, inKey))).toBe("rotationMethod");
    expect(register(KeySpec.SYMMETRIC_DEFAULT, inKey).policy.rotateEveryMs).toBe(365 * DAY);
    const hmacScheduled = register(KeySpec.HMAC_256, { rotateEvery: "P365D" });
    expect(hmacScheduled.policy.rotateEveryMs).toBe(365 * DAY);
    expect(rotationMethodOf(hmacScheduled.keySpec, hmacScheduled.policy)).toBe("key-swap");
    expect(rotationMethodOf(KeySpec.SYMMETRIC_DEFAULT, parseImportPolicy({}))).toBe("in-key");
    expect(
      rotationMethodOf(KeySpec.SYMMETRIC_DEFAULT, parseImportPolicy({ rotationMethod: "key-swap" })),
    ).toBe("key-swap");

    const hmac = {
      ...makeKey(),
      keySpec: KeySpec.HMAC_256,
    };
    expect(
      validationField(() =>
        changePolicy(hmac, parseImportPolicy({ rotateEvery: "P30D", rotationMethod: "in-key" }), NOW),
      ),
    ).toBe("rotationMethod");
    expect(changePolicy(hmac, parseImportPolicy({ rotateEvery: "P30D" }), NOW).policy.rotateEveryMs).toBe(
      30 * DAY,
    );
    expect(
      changePolicy(makeKey(), parseImportPolicy({ rotateEvery: "P30D" }), NOW).policy.rotateEveryMs,
    ).toBe(30 * DAY);
  });
});

describe("rotationDue", () => {
  // makeKey registers the key 30 days before NOW.
  const created = at(-30 * DAY);

  it("counts from registration for a key never rotated", () => {
    const key = makeKey({ rotateEvery: "P30D" });
    expect(currentMaterialSince(key)).toEqual(created);
    expect(rotationDueAt(key)).toEqual(NOW);
    expect(rotationDue(key, at(-1))).toBe(false);
    expect(rotationDue(key, NOW)).toBe(true);
    expect(rotationDue(key, at(DAY))).toBe(true);
  });

  it("counts from the last rotation once rotated", () => {
    const base = makeKey({ rotateEvery: "P30D" });
    const key = {
      ...base,
      materials: [
        { materialRef: base.materialRef, checkValue: base.checkValue },
        {
          materialRef: parseMaterialRef("customers/acme/payments/r2"),
          checkValue: parseCheckValue("kcv:2"),
          rotatedAt: at(-HOUR),
        },
      ],
    };
    expect(currentMaterialSince(key)).toEqual(at(-HOUR));
    expect(rotationDue(key, NOW)).toBe(false);
    expect(rotationDue(key, at(30 * DAY - HOUR - 1))).toBe(false);
    expect(rotationDue(key, at(30 * DAY - HOUR))).toBe(true);
  });

  it("ends at AWS's limit of on-demand rotations (26 materials), unless a rotation is half done", () => {
    const base = makeKey({ rotateEvery: "P30D" });
    const materials = Array.from({ length: 26 }, (_, i) => ({
      materialRef: parseMaterialRef(`customers/acme/payments/r${i + 1}`),
      checkValue: parseCheckValue(`kcv:${i}`),
      rotatedAt: at(-100 * DAY),
    }));
    const atLimit = { ...base, materials };
    expect(rotationDueAt(atLimit)).toBeUndefined();
    expect(rotationDue(atLimit, at(DAY))).toBe(false);
    const below = { ...base, materials: materials.slice(0, 25) };
    expect(rotationDue(below, at(DAY))).toBe(true);
  });

  it("is never due without a schedule, for a paused or revoked key, or a key that is not symmetric", () => {
    const later = at(10_000 * DAY);
    expect(rotationDue(makeKey(), later)).toBe(false);
    expect(rotationDueAt(makeKey())).toBeUndefined();
    const scheduled = makeKey({ rotateEvery: "P1D" });
    const change = { reason: "maintenance", actor: "operator:alice", at: NOW };
    expect(rotationDue({ ...scheduled, status: { state: KeyStatusState.Paused, ...change } }, later)).toBe(
      false,
    );
    expect(rotationDue({ ...scheduled, status: { state: KeyStatusState.Revoked, ...change } }, later)).toBe(
      false,
    );
    // A hand-built record (the policy check refuses this at registration): still never due.
    const inKeyHmac = makeKey({ rotateEvery: "P1D", rotationMethod: "in-key" });
    expect(rotationDue({ ...inKeyHmac, keySpec: KeySpec.HMAC_256 }, later)).toBe(false);
    // An HMAC key is rotated by a key swap: due like any other; a superseded key never again.
    expect(rotationDue({ ...scheduled, keySpec: KeySpec.HMAC_256 }, later)).toBe(true);
    expect(rotationDue({ ...scheduled, supersededBy: KEY_ID }, later)).toBe(false);
    expect(rotationDue(scheduled, later)).toBe(true);
  });
});

describe("scheduleRotationCheck", () => {
  it("brings the primary back by the due time, never later than it was", () => {
    const key = makeKey({ rotateEvery: "P31D" }); // due one day after NOW
    const record = { ...primaryOf(key), nextCheckAt: at(2 * DAY) };
    expect(scheduleRotationCheck(key, record, NOW).nextCheckAt).toEqual(at(DAY));
    const sooner = { ...record, nextCheckAt: at(HOUR) };
    expect(scheduleRotationCheck(key, sooner, NOW)).toBe(sooner);
  });

  it("once due, schedules a retry interval ahead (a failed rotation is tried again)", () => {
    const key = makeKey({ rotateEvery: "P1D" });
    const record = { ...primaryOf(key), nextCheckAt: at(6 * HOUR) };
    expect(scheduleRotationCheck(key, record, NOW).nextCheckAt).toEqual(at(ROTATION_RETRY_MS));
  });

  it("leaves replicas, unscheduled and paused keys alone", () => {
    const key = makeKey({ rotateEvery: "P1D" });
    const replica = { ...(key.regions[1] ?? primaryOf(key)), nextCheckAt: at(6 * HOUR) };
    expect(replica.region).not.toBe(key.primaryRegion);
    expect(scheduleRotationCheck(key, replica, NOW)).toBe(replica);
    const plain = makeKey();
    const record = { ...primaryOf(plain), nextCheckAt: at(6 * HOUR) };
    expect(scheduleRotationCheck(plain, record, NOW)).toBe(record);
    const paused = {
      ...key,
      status: { state: KeyStatusState.Paused, reason: "x", actor: "operator:alice", at: NOW },
    };
    const pausedRecord = { ...primaryOf(paused), nextCheckAt: at(6 * HOUR) };
    expect(scheduleRotationCheck(paused, pausedRecord, NOW)).toBe(pausedRecord);
  });
});
