/**
 * On-demand rotation of imported material inside a key, against the local AWS over HTTP: the new material
 * becomes current, every older one keeps decrypting and keeps being renewed and restored; Multi-Region
 * order; an interrupted rotation finished by the next request; the 25-rotation limit.
 */

import { type KMSClient, ListKeyRotationsCommand } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AlertReason } from "../../../lib/domain/alerts.js";
import { AuditDetailType } from "../../../lib/domain/audit-types.js";
import { DAY_MS, MINUTE_MS } from "../../../lib/domain/duration.js";
import { StateConflictError } from "../../../lib/domain/errors.js";
import type { AwsRegion } from "../../../lib/domain/ids.js";
import { keyMaterials, type ManagedKey } from "../../../lib/domain/managed-key.js";
import type { KmsPort, LifecycleDeps } from "../../../lib/lifecycle/ports.js";
import { reconcileRegion } from "../../../lib/lifecycle/region/reconcile-region.js";
import { reimport } from "../../../lib/lifecycle/use-cases/operator-actions.js";
import { registerKey } from "../../../lib/lifecycle/use-cases/register.js";
import { type InKeyRotateResult, rotateKey } from "../../../lib/lifecycle/use-cases/rotate.js";
import {
  decrypt,
  encrypt,
  type LifecycleTestbed,
  startLifecycleTestbed,
} from "../../support/lifecycle-testbed.js";
import { ACTOR, arnIn, describeKey, registerNew, types } from "./helpers.js";

let bed: LifecycleTestbed;
beforeAll(async () => {
  bed = await startLifecycleTestbed();
});
afterAll(async () => {
  await bed?.close();
});

const PRIMARY = "eu-west-1";
const REPLICA = "us-east-2";

/** An in-key rotation (these keys are symmetric, so that is what their policy means). */
async function rotate(key: ManagedKey, deps: LifecycleDeps = bed.deps): Promise<InKeyRotateResult> {
  const result = await rotateKey(deps, {
    key: key.id,
    reason: "yearly rotation",
    actor: ACTOR,
    correlationId: `rotate-${key.id}`,
  });
  if (result.method !== "in-key") throw new Error(`expected an in-key rotation, got ${result.method}`);
  return result;
}

async function materialsIn(kms: KMSClient, keyArn: string) {
  const out = await kms.send(
    new ListKeyRotationsCommand({ KeyId: keyArn, IncludeKeyMaterial: "ALL_KEY_MATERIAL" }),
  );
  return out.Rotations ?? [];
}

/**
 * The KeyMaterialId a ciphertext of the local KMS names. The emulator's blob layout (infra/local/kms/domain/
 * ciphertext.ts): "TKC1" | key id length (1 byte) | key id | material id (32 bytes) | ...
 */
function materialIdOf(ciphertext: Uint8Array): string {
  const blob = Buffer.from(ciphertext);
  const keyIdLength = blob[4] ?? 0;
  return blob.subarray(5 + keyIdLength, 5 + keyIdLength + 32).toString("hex");
}

describe("single-Region rotation", () => {
  let key: ManagedKey;
  let arn: string;
  let before: Uint8Array;
  let oldId: string;
  let newId: string;

  it("makes the new material current, keeps the old for decryption, and audits it", async () => {
    key = (await registerNew(bed, { validityPeriod: "P30D" })).key;
    arn = arnIn(key, PRIMARY);
    const kms = bed.kms(PRIMARY);
    before = await encrypt(kms, arn, "before rotation");
    oldId = (await describeKey(bed, PRIMARY, arn)).CurrentKeyMaterialId ?? "";

    const result = await rotate(key);
    expect(result.resumed).toBe(false);
    expect(result.rotations).toBe(1);
    expect(result.materials.map((m) => m.state)).toEqual(["NON_CURRENT", "CURRENT"]);
    newId = result.materials[1]?.keyMaterialId ?? "";
    expect(result.materials[0]?.keyMaterialId).toBe(oldId);
    expect(newId).not.toBe(oldId);
    expect((await describeKey(bed, PRIMARY, arn)).CurrentKeyMaterialId).toBe(newId);

    // The record: both materials, the new one current, under <first ref>/r2 with the vault's check value.
    const materials = keyMaterials(result.key);
    expect(materials.map((m) => m.keyMaterialId)).toEqual([oldId, newId]);
    expect(result.key.materialRef).toBe(`${key.materialRef}/r2`);
    expect(result.key.checkValue).toBe(await bed.vault.checkValue(`${key.materialRef}/r2`));
    expect(result.key.checkValue).not.toBe(key.checkValue);
    expect(result.key.pendingRotation).toBeUndefined();
    const stored = await bed.deps.keys.get(key.id);
    expect(stored && keyMaterials(stored)).toEqual(materials);

    expect(await decrypt(kms, arn, before)).toBe("before rotation");
    expect(materialIdOf(before)).toBe(oldId);
    const after = await encrypt(kms, arn, "after rotation");
    expect(materialIdOf(after)).toBe(newId);
    expect(await decrypt(kms, arn, after)).toBe("after rotation");

    const rotated = (await bed.history(key.id)).filter(
      (e) => e.detailType === AuditDetailType.KeyMaterialRotated,
    );
    expect(rotated).toHaveLength(1);
    expect(rotated[0]).toMatchObject({
      reason: "yearly rotation",
      actor: ACTOR,
      checkValue: result.key.checkValue,
    });
    const steps = (await bed.history(key.id)).filter((e) => e.detailType === AuditDetailType.KeyRotationStep);
    expect(steps.map((e) => [e.step, e.region])).toEqual([
      ["material-generated", PRIMARY],
      ["material-staged", PRIMARY],
      ["material-activated", PRIMARY],
    ]);
  });

  it("renews every material: a re-import moves the ValidTo of both", async () => {
    const kms = bed.kms(PRIMARY);
    const old = await materialsIn(kms, arn);
    await bed.advance(10 * DAY_MS);
    const result = await reimport(bed.deps, { key: key.id, actor: ACTOR, correlationId: "renew-both" });
    expect(result.regions[PRIMARY]).toEqual({ kind: "renewed" });
    const renewed = await materialsIn(kms, arn);
    expect(renewed.map((m) => m.KeyMaterialId)).toEqual([oldId, newId]);
    const expected = bed.now().getTime() + 30 * DAY_MS;
    renewed.forEach((material, i) => {
      expect(material.ValidTo?.getTime()).toBeGreaterThan((old[i]?.ValidTo?.getTime() ?? 0) + 9 * DAY_MS);
      expect(Math.abs((material.ValidTo?.getTime() ?? 0) - expected)).toBeLessThan(MINUTE_MS);
    });
    expect((await describeKey(bed, PRIMARY, arn)).CurrentKeyMaterialId).toBe(newId);
    expect(await decrypt(kms, arn, before)).toBe("before rotation");
  });
});

describe("expiry of an older material after a rotation", () => {
  it("puts the key in PendingImport; the restore brings back both materials", async () => {
    const { key } = await registerNew(bed, {
      validityPeriod: "PT1H",
      renewBefore: "PT5M",
      restoreAfterLoss: true,
    });
    const arn = arnIn(key, PRIMARY);
    const kms = bed.kms(PRIMARY);
    const old = await encrypt(kms, arn, "old material");
    await bed.advance(30 * MINUTE_MS);
    const { materials } = await rotate(key);
    const fresh = await encrypt(kms, arn, "new material");

    // The first material (ValidTo t0+1h) expires; the new one (t0+1h30) is still valid.
    await bed.advance(40 * MINUTE_MS);
    const listed = await materialsIn(kms, arn);
    expect(listed.map((m) => m.ImportState)).toEqual(["PENDING_IMPORT", "IMPORTED"]);
    expect((await describeKey(bed, PRIMARY, arn)).KeyState).toBe("PendingImport");

    const outcome = await reconcileRegion(bed.deps, key.id, PRIMARY as AwsRegion, {
      actor: ACTOR,
      correlationId: "restore-both",
    });
    expect(outcome).toEqual({ kind: "restored" });
    const restored = await materialsIn(kms, arn);
    expect(restored.map((m) => [m.KeyMaterialId, m.ImportState, m.KeyMaterialState])).toEqual([
      [materials[0]?.keyMaterialId, "IMPORTED", "NON_CURRENT"],
      [materials[1]?.keyMaterialId, "IMPORTED", "CURRENT"],
    ]);
    expect((await describeKey(bed, PRIMARY, arn)).KeyState).toBe("Enabled");
    expect(await decrypt(kms, arn, old)).toBe("old material");
    expect(await decrypt(kms, arn, fresh)).toBe("new material");
    expect(types(await bed.history(key.id))).toContain(AuditDetailType.KeyMaterialRestored);
  });
});

describe("Multi-Region rotation", () => {
  it("imports into the primary, then the replica, then rotates: both Regions on the new material", async () => {
    const { key } = await registerNew(bed, { validityPeriod: "P30D" }, [REPLICA]);
    const primary = bed.kms(PRIMARY);
    const replica = bed.kms(REPLICA);
    const before = await encrypt(replica, arnIn(key, REPLICA), "replica before");

    const result = await rotate(key);
    const newId = result.materials[1]?.keyMaterialId;
    for (const [region, kms] of [
      [PRIMARY, primary],
      [REPLICA, replica],
    ] as const) {
      const meta = await describeKey(bed, region, arnIn(key, region));
      expect(meta.CurrentKeyMaterialId).toBe(newId);
      expect(meta.KeyState).toBe("Enabled");
      expect((await materialsIn(kms, arnIn(key, region))).map((m) => m.KeyMaterialState)).toEqual([
        "NON_CURRENT",
        "CURRENT",
      ]);
    }
    const after = await encrypt(primary, arnIn(key, PRIMARY), "primary after");
    expect(materialIdOf(after)).toBe(newId);
    expect(await decrypt(replica, arnIn(key, REPLICA), after)).toBe("primary after");
    expect(await decrypt(primary, arnIn(key, PRIMARY), before)).toBe("replica before");
  });

  it("an interrupted rotation (crash before RotateKeyOnDemand) is finished by the next request", async () => {
    const { key } = await registerNew(bed, { validityPeriod: "P30D" }, [REPLICA]);
    const crashing: KmsPort = new Proxy(bed.deps.kms, {
      get(target, property, receiver) {
        if (property === "rotateKeyOnDemand") {
          return async () => {
            throw new Error("crash before RotateKeyOnDemand");
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    await expect(rotate(key, { ...bed.deps, kms: crashing })).rejects.toThrow(
      "crash before RotateKeyOnDemand",
    );
    const half = await bed.deps.keys.get(key.id);
    expect(half?.pendingRotation?.keyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    expect(half?.materialRef).toBe(key.materialRef);
    const pending = await materialsIn(bed.kms(PRIMARY), arnIn(key, PRIMARY));
    expect(pending.map((m) => m.KeyMaterialState)).toEqual(["CURRENT", "PENDING_ROTATION"]);

    // Left alone, the next look at the primary tells people the rotation is unfinished.
    await bed.advance(20 * 60 * 1000);
    await reconcileRegion(bed.deps, key.id, key.primaryRegion, { actor: "test", correlationId: "look" });
    const reported = (await bed.history(key.id)).filter(
      (e) => "reasonCode" in e && e.reasonCode === AlertReason.RotationIncomplete,
    );
    expect(reported).toHaveLength(1);

    const result = await rotate(key);
    expect(result.resumed).toBe(true);
    expect(result.materials[1]).toMatchObject({
      state: "CURRENT",
      keyMaterialId: half?.pendingRotation?.keyMaterialId,
    });
    expect(result.key.pendingRotation).toBeUndefined();
    expect(keyMaterials(result.key)).toHaveLength(2);
    expect((await describeKey(bed, REPLICA, arnIn(key, REPLICA))).CurrentKeyMaterialId).toBe(
      half?.pendingRotation?.keyMaterialId,
    );
    const rotated = (await bed.history(key.id)).filter(
      (e) => e.detailType === AuditDetailType.KeyMaterialRotated,
    );
    expect(rotated).toHaveLength(1);
    // Each step once, although the rerun went through the imports again.
    const steps = (await bed.history(key.id)).filter((e) => e.detailType === AuditDetailType.KeyRotationStep);
    expect(steps.map((e) => `${e.step}:${e.region}`).sort()).toEqual(
      [
        `material-activated:${PRIMARY}`,
        `material-generated:${PRIMARY}`,
        `material-staged:${PRIMARY}`,
        `material-staged:${REPLICA}`,
      ].sort(),
    );
  });
});

describe("the 25-rotation limit", () => {
  it("warns from the 20th rotation on and refuses the 26th before touching KMS or the vault", async () => {
    const { key } = await registerNew(bed, { validityPeriod: "P30D" });
    const arn = arnIn(key, PRIMARY);
    for (let i = 1; i <= 25; i++) {
      const result = await rotate(key);
      expect(result.rotations).toBe(i);
    }
    const warnings = (await bed.history(key.id)).filter(
      (e) => "reasonCode" in e && e.reasonCode === AlertReason.RotationLimitNear,
    );
    expect(warnings).toHaveLength(6);
    const before = await materialsIn(bed.kms(PRIMARY), arn);
    expect(before).toHaveLength(26);

    const refused = await rotate(key).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StateConflictError);
    expect((refused as StateConflictError).state).toBe("rotation-limit-reached");
    expect((refused as Error).message).toContain("limit of 25 on-demand rotations");
    expect(await materialsIn(bed.kms(PRIMARY), arn)).toHaveLength(26);
    expect(await bed.vault.has(`${key.materialRef}/r27`)).toBe(false);
    expect((await bed.deps.keys.get(key.id))?.pendingRotation).toBeUndefined();
    const alerts = (await bed.history(key.id)).filter(
      (e) => "reasonCode" in e && e.reasonCode === AlertReason.RotationLimitNear && e.severity === "critical",
    );
    expect(alerts).toHaveLength(1);
  });
});

describe("keys that cannot rotate inside", () => {
  it("rotates an HMAC key by a key swap, never in-key: without an alias to move, refused before any KMS call", async () => {
    const ref = `test/hmac-${Date.now()}`;
    const { key } = await registerKey(bed.deps, {
      mode: "create",
      region: PRIMARY,
      keySpec: "HMAC_256",
      keyUsage: "GENERATE_VERIFY_MAC",
      generateMaterial: true,
      materialRef: ref,
      policy: { validityPeriod: "P30D" },
      actor: ACTOR,
      correlationId: `register-${ref}`,
    });
    const refused = await rotateKey(bed.deps, {
      key: key.id,
      reason: "yearly rotation",
      actor: ACTOR,
      correlationId: `rotate-${key.id}`,
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StateConflictError);
    expect(refused).toMatchObject({ state: "no-alias" });
    expect((refused as Error).message).toContain("a key swap moves the alias");
    expect(await bed.vault.has(`${ref}/r2`)).toBe(false);
    expect(await bed.vault.has(`${ref}/s2`)).toBe(false);
    expect(types(await bed.history(key.id))).not.toContain(AuditDetailType.KeyMaterialRotated);
  });
});
