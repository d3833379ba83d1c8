/**
 * Tether's core lifecycle against the local AWS over HTTP: register, renew, restore after expiry and after
 * a loss nothing explains (once the attribution grace has passed). Each restore shows that data encrypted before the loss decrypts after it.
 */
import { DescribeKeyCommand } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditDetailType } from "../../../lib/domain/audit-types.js";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../../../lib/domain/duration.js";
import type { ManagedKey } from "../../../lib/domain/managed-key.js";
import { parseKmsEvent } from "../../../lib/kms/kms-events.js";
import { handleKmsSignal } from "../../../lib/lifecycle/region/kms-signal.js";
import { sweep } from "../../../lib/lifecycle/scheduled/sweep.js";
import { registerKey } from "../../../lib/lifecycle/use-cases/register.js";
import {
  AUDIT_RECORDER,
  decrypt,
  encrypt,
  KMS_RECORDER,
  type LifecycleTestbed,
  startLifecycleTestbed,
} from "../../support/lifecycle-testbed.js";

let bed: LifecycleTestbed;
beforeAll(async () => {
  bed = await startLifecycleTestbed();
});
afterAll(async () => {
  await bed?.close();
});

const actor = "operator:alice";

async function describeKey(region: string, keyId: string) {
  const out = await bed.kms(region).send(new DescribeKeyCommand({ KeyId: keyId }));
  if (out.KeyMetadata === undefined) throw new Error("DescribeKey returned no metadata");
  return out.KeyMetadata;
}

async function register(policy: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const { ref, checkValue } = await bed.putMaterial();
  return registerKey(bed.deps, {
    mode: "create",
    region: "eu-west-1",
    keySpec: "SYMMETRIC_DEFAULT",
    materialRef: ref,
    checkValue,
    policy,
    actor,
    correlationId: `test-${Math.random()}`,
    ...extra,
  } as Parameters<typeof registerKey>[1]);
}

function arnIn(key: ManagedKey, region: string): string {
  const record = key.regions.find((r) => r.region === region);
  if (record === undefined) throw new Error(`key ${key.id} has no region ${region}`);
  return record.keyArn;
}

function types(events: ReadonlyArray<{ detailType: string }>): string[] {
  return events.map((e) => e.detailType);
}

describe("register and renew", () => {
  let keyArn: string;
  let keyId: string;

  it("creates the key, imports the material with ValidTo = now + 30 days, records and publishes it", async () => {
    const before = bed.now();
    const result = await register({ validityPeriod: "P30D" });
    keyArn = arnIn(result.key, "eu-west-1");
    keyId = result.key.id;
    expect(result.regions["eu-west-1"]).toEqual({ kind: "imported" });

    const meta = await describeKey("eu-west-1", keyArn);
    expect(meta.KeyState).toBe("Enabled");
    expect(meta.Origin).toBe("EXTERNAL");
    expect(meta.ExpirationModel).toBe("KEY_MATERIAL_EXPIRES");
    const expected = before.getTime() + 30 * DAY_MS;
    expect(Math.abs((meta.ValidTo?.getTime() ?? 0) - expected)).toBeLessThan(MINUTE_MS);

    const history = types(await bed.history(keyId));
    expect(history).toEqual([AuditDetailType.KeyRegistered, AuditDetailType.KeyMaterialImported]);

    await bed.aws.events.drain();
    const published = bed.aws.events
      .recorded(AUDIT_RECORDER)
      .filter((e) => (e.detail as { keyId?: string }).keyId === keyId);
    expect(published.map((e) => e["detail-type"])).toEqual([
      AuditDetailType.KeyRegistered,
      AuditDetailType.KeyMaterialImported,
    ]);
    const ids = (await bed.history(keyId)).map((e) => e.id);
    expect(published.map((e) => (e.detail as { id: string }).id)).toEqual(ids);
  });

  it("renews 25 days later: a sweep moves ValidTo forward and records the renewal", async () => {
    const before = (await describeKey("eu-west-1", keyArn)).ValidTo?.getTime() ?? 0;
    await bed.advance(25 * DAY_MS);
    const report = await sweep(bed.deps, { correlationId: "sweep-renew" });
    expect(report.outcomes.renewed).toBeGreaterThanOrEqual(1);

    const after = (await describeKey("eu-west-1", keyArn)).ValidTo?.getTime() ?? 0;
    expect(after).toBeGreaterThan(before + 24 * DAY_MS);
    expect(Math.abs(after - (bed.now().getTime() + 30 * DAY_MS))).toBeLessThan(MINUTE_MS);
    expect(types(await bed.history(keyId))).toContain(AuditDetailType.KeyMaterialRenewed);
  });
});

describe("restore", () => {
  it("restores after expiry in the same invocation as the KMS expiry event", async () => {
    const { key } = await register({ validityPeriod: "PT1H", renewBefore: "PT5M", restoreAfterLoss: true });
    const kms = bed.kms("eu-west-1");
    const ciphertext = await encrypt(kms, arnIn(key, "eu-west-1"), "before expiry");

    await bed.advance(2 * HOUR_MS);
    expect((await describeKey("eu-west-1", arnIn(key, "eu-west-1"))).KeyState).toBe("PendingImport");

    const keyUuid = arnIn(key, "eu-west-1").split("/")[1];
    let expiry: unknown;
    for (let i = 0; i < 100 && expiry === undefined; i++) {
      await bed.aws.events.drain();
      expiry = bed.aws.events
        .recorded(KMS_RECORDER)
        .find(
          (e) =>
            e["detail-type"] === "KMS Imported Key Material Expiration" &&
            (e.detail as { "key-id"?: string })["key-id"] === keyUuid,
        );
      if (expiry === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(expiry).toBeDefined();

    const signal = parseKmsEvent(expiry);
    expect(signal).toMatchObject({
      kind: "material-expired",
      keyArn: arnIn(key, "eu-west-1"),
      region: "eu-west-1",
    });
    if (signal === null) throw new Error("unreachable");
    const outcome = await handleKmsSignal(bed.deps, signal, {
      correlationId: "expiry-event",
      isTether: bed.config.isTether,
    });
    expect(outcome).toEqual({ kind: "handled", outcome: { kind: "restored" } });

    expect((await describeKey("eu-west-1", arnIn(key, "eu-west-1"))).KeyState).toBe("Enabled");
    expect(await decrypt(kms, arnIn(key, "eu-west-1"), ciphertext)).toBe("before expiry");
    const history = types(await bed.history(key.id));
    expect(history).toContain(AuditDetailType.KeyMaterialLost);
    expect(history).toContain(AuditDetailType.KeyMaterialRestored);
  });

  it("restores a loss nothing explains only after the attribution grace, as a local loss", async () => {
    const { key } = await register({ validityPeriod: "P30D", reconcileInterval: "PT1M" });
    const kms = bed.kms("eu-west-1");
    const ciphertext = await encrypt(kms, arnIn(key, "eu-west-1"), "before the loss");

    const lost = await bed.aws.kms.admin.loseRegion("eu-west-1");
    expect(lost.length).toBeGreaterThan(0);
    expect((await describeKey("eu-west-1", arnIn(key, "eu-west-1"))).KeyState).toBe("PendingImport");

    // No sentinel says the Region lost everything, no CloudTrail record says who: unexplained, not restored.
    await bed.advance(2 * MINUTE_MS);
    await sweep(bed.deps, { correlationId: "sweep-loss" });
    expect((await describeKey("eu-west-1", arnIn(key, "eu-west-1"))).KeyState).toBe("PendingImport");
    const alerted = (await bed.history(key.id)).filter((e) => "reasonCode" in e);
    expect(alerted.map((e) => "reasonCode" in e && e.reasonCode)).toContain("UNEXPLAINED_MATERIAL_LOSS");

    // The grace (PT15M by default) ends with nothing found: a local loss, restored.
    await bed.advance(16 * MINUTE_MS);
    await sweep(bed.deps, { correlationId: "sweep-loss-2" });

    expect((await describeKey("eu-west-1", arnIn(key, "eu-west-1"))).KeyState).toBe("Enabled");
    expect(await decrypt(kms, arnIn(key, "eu-west-1"), ciphertext)).toBe("before the loss");
    const history = await bed.history(key.id);
    expect(types(history)).toContain(AuditDetailType.KeyMaterialRestored);
    expect(history.map((e) => ("reasonCode" in e ? e.reasonCode : undefined))).toContain(
      "LOSS_NOT_ATTRIBUTED",
    );
  });
});
