/**
 * The rotation schedule in a key's policy, honoured by the sweep against the local AWS over HTTP: a due
 * key is rotated once (actor tether:sweep), not again by the next sweep; a paused key is left alone; a
 * key that cannot rotate on demand is refused in-key rotation; a failed rotation is alerted and retried.
 */

import { randomBytes, randomUUID } from "node:crypto";
import { ListKeyRotationsCommand } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AlertReason } from "../../../lib/domain/alerts.js";
import { AuditDetailType } from "../../../lib/domain/audit-types.js";
import { DAY_MS, HOUR_MS } from "../../../lib/domain/duration.js";
import { ValidationError } from "../../../lib/domain/errors.js";
import { findRegion, keyMaterials, type ManagedKey } from "../../../lib/domain/managed-key.js";
import type { LifecycleDeps } from "../../../lib/lifecycle/ports.js";
import { SWEEP_ACTOR, sweep } from "../../../lib/lifecycle/scheduled/sweep.js";
import { changeKeyPolicy } from "../../../lib/lifecycle/use-cases/key-admin.js";
import { registerKey } from "../../../lib/lifecycle/use-cases/register.js";
import { type LifecycleTestbed, startLifecycleTestbed } from "../../support/lifecycle-testbed.js";
import { ACTOR, arnIn, registerNew } from "./helpers.js";

let bed: LifecycleTestbed;
beforeAll(async () => {
  bed = await startLifecycleTestbed();
});
afterAll(async () => {
  await bed?.close();
});

const PRIMARY = "eu-west-1";

async function currentMaterials(key: ManagedKey) {
  const out = await bed
    .kms(PRIMARY)
    .send(
      new ListKeyRotationsCommand({ KeyId: arnIn(key, PRIMARY), IncludeKeyMaterial: "ALL_KEY_MATERIAL" }),
    );
  return out.Rotations ?? [];
}

async function load(key: ManagedKey, deps: LifecycleDeps = bed.deps): Promise<ManagedKey> {
  const stored = await deps.keys.get(key.id);
  if (stored === undefined) throw new Error(`key ${key.id} is gone`);
  return stored;
}

async function rotatedEvents(key: ManagedKey) {
  return (await bed.history(key.id)).filter((e) => e.detailType === AuditDetailType.KeyMaterialRotated);
}

describe("scheduled rotation", () => {
  let scheduled: ManagedKey;
  let paused: ManagedKey;

  it("registers symmetric keys with a schedule and brings the primary back by the due time", async () => {
    scheduled = (
      await registerNew(bed, { validityPeriod: "P30D", reconcileInterval: "P1D", rotateEvery: "P1D" })
    ).key;
    expect(scheduled.policy.rotateEveryMs).toBe(DAY_MS);
    paused = (await registerNew(bed, { validityPeriod: "P30D", rotateEvery: "P1D" })).key;
    await changeKeyPolicy(bed.deps, {
      key: paused.id,
      paused: true,
      reason: "maintenance",
      actor: ACTOR,
      correlationId: "pause",
    });
    // Registration imported the material a moment after registering it; the renew window (P30D - P7D) and
    // the reconcile interval (from that import) are later than the due time, which wins.
    const primary = findRegion(await load(scheduled), PRIMARY);
    expect(primary?.nextCheckAt.getTime()).toBeLessThanOrEqual(scheduled.createdAt.getTime() + DAY_MS);
  });

  it("rotates a due key once, as tether:sweep, and not again on the next sweep", async () => {
    const before = await currentMaterials(scheduled);
    expect(before).toHaveLength(1);
    expect(await rotatedEvents(scheduled)).toHaveLength(0);

    await bed.advance(DAY_MS + HOUR_MS);
    const report = await sweep(bed.deps, { correlationId: "sweep-1" });
    expect(report.outcomes.rotated).toBe(1);
    expect(report.outcomes["rotation-failed"]).toBeUndefined();

    const rotated = await rotatedEvents(scheduled);
    expect(rotated).toHaveLength(1);
    expect(rotated[0]?.actor).toBe(SWEEP_ACTOR);
    expect(rotated[0]).toMatchObject({ reason: "scheduled rotation (every P1D)" });

    const after = await currentMaterials(scheduled);
    expect(after).toHaveLength(2);
    const current = after.filter((m) => m.KeyMaterialState === "CURRENT");
    expect(current).toHaveLength(1);
    expect(current[0]?.KeyMaterialId).not.toBe(before[0]?.KeyMaterialId);
    const stored = await load(scheduled);
    expect(keyMaterials(stored)).toHaveLength(2);
    expect(keyMaterials(stored).at(-1)?.keyMaterialId).toBe(current[0]?.KeyMaterialId);

    // Right after: the primary comes back soon (a retry interval) for a plain reconcile, nothing rotates.
    await bed.advance(HOUR_MS);
    const again = await sweep(bed.deps, { correlationId: "sweep-2" });
    expect(again.outcomes.rotated).toBeUndefined();
    expect(await rotatedEvents(scheduled)).toHaveLength(1);
    expect(await currentMaterials(scheduled)).toHaveLength(2);
  });

  it("leaves a paused key alone", async () => {
    expect(await rotatedEvents(paused)).toHaveLength(0);
    expect(await currentMaterials(paused)).toHaveLength(1);
    expect(keyMaterials(await load(paused))).toHaveLength(1);
  });

  it("rotates again one period after the last rotation", async () => {
    await bed.advance(DAY_MS);
    const report = await sweep(bed.deps, { correlationId: "sweep-3" });
    expect(report.outcomes.rotated).toBe(1);
    expect(await rotatedEvents(scheduled)).toHaveLength(2);
    expect(await currentMaterials(scheduled)).toHaveLength(3);
    expect(await rotatedEvents(paused)).toHaveLength(0);
  });
});

describe("a failed scheduled rotation", () => {
  it("is alerted and retried by a later sweep", async () => {
    const key = (await registerNew(bed, { validityPeriod: "P30D", rotateEvery: "P1D" })).key;
    const failing: LifecycleDeps = {
      ...bed.deps,
      vault: {
        ...bed.deps.vault,
        generate: async () => {
          throw new Error("vault down");
        },
        has: async () => false,
      } as LifecycleDeps["vault"],
    };
    // Other keys of this file are due as well; only this one's rotation is made to fail.
    await bed.advance(DAY_MS + HOUR_MS);
    const report = await sweep(failing, { correlationId: "sweep-failing" });
    expect(report.outcomes["rotation-failed"]).toBeGreaterThanOrEqual(1);
    const alerts = (await bed.history(key.id)).filter(
      (e) => "reasonCode" in e && e.reasonCode === AlertReason.RotationFailed,
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ detailType: AuditDetailType.TetherAlert, severity: "warning" });
    expect(await rotatedEvents(key)).toHaveLength(0);
    const primary = findRegion(await load(key), PRIMARY);
    expect(primary?.nextCheckAt.getTime()).toBeLessThanOrEqual(bed.now().getTime() + HOUR_MS);

    await bed.advance(HOUR_MS);
    const retry = await sweep(bed.deps, { correlationId: "sweep-retry" });
    expect(retry.outcomes.rotated).toBeGreaterThanOrEqual(1);
    expect(await rotatedEvents(key)).toHaveLength(1);
  });
});

/** HMAC_256 material (one secret serves one key type: the testbed's putMaterial stores AES bytes). */
async function putHmacMaterial(): Promise<{ ref: string; checkValue: string }> {
  const ref = `test/hmac-${randomUUID()}`;
  const material = randomBytes(32);
  try {
    return { ref, ...(await bed.vault.put(ref, material, "HMAC_256")) };
  } finally {
    material.fill(0);
  }
}

describe("in-key rotation for a key KMS cannot rotate on demand", () => {
  it("is refused at registration with a ValidationError naming rotationMethod, before anything is created", async () => {
    const { ref, checkValue } = await putHmacMaterial();
    const attempt = registerKey(bed.deps, {
      mode: "create",
      region: PRIMARY,
      keySpec: "HMAC_256",
      materialRef: ref,
      checkValue,
      policy: { rotateEvery: "P365D", rotationMethod: "in-key" },
      actor: ACTOR,
      correlationId: "register-hmac",
    });
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toMatchObject({ field: "rotationMethod" });
  });

  it("is refused on a policy change of an HMAC key", async () => {
    const { ref, checkValue } = await putHmacMaterial();
    const { key } = await registerKey(bed.deps, {
      mode: "create",
      region: PRIMARY,
      keySpec: "HMAC_256",
      materialRef: ref,
      checkValue,
      policy: {},
      actor: ACTOR,
      correlationId: "register-hmac-2",
    });
    const attempt = changeKeyPolicy(bed.deps, {
      key: key.id,
      policy: { rotateEvery: "P365D", rotationMethod: "in-key" },
      actor: ACTOR,
      correlationId: "patch-hmac",
    });
    await expect(attempt).rejects.toMatchObject({ name: "ValidationError", field: "rotationMethod" });
    expect((await load(key)).policy.rotateEveryMs).toBeUndefined();
  });
});
