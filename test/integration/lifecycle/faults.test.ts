/**
 * The lifecycle under failure against the local AWS: concurrent sweeps, throttling, an unreachable audit
 * bus, a crash between ImportKeyMaterial and the record update, and material KMS refuses.
 */
import { randomBytes } from "node:crypto";
import { CreateKeyCommand, DeleteImportedKeyMaterialCommand } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AlertReason, AlertSeverity } from "../../../lib/domain/alerts.js";
import { AuditDetailType } from "../../../lib/domain/audit-types.js";
import { DAY_MS, HOUR_MS } from "../../../lib/domain/duration.js";
import { CheckValueMismatchError } from "../../../lib/domain/errors.js";
import type { KeyRepository, LifecycleDeps } from "../../../lib/lifecycle/ports.js";
import { sweep } from "../../../lib/lifecycle/scheduled/sweep.js";
import { registerKey } from "../../../lib/lifecycle/use-cases/register.js";
import { importKeyMaterial } from "../../support/kms-testbed.js";
import {
  AUDIT_RECORDER,
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

async function count(operation: string, table: "calls" | "injectedErrors" = "calls"): Promise<number> {
  const stats = await bed.aws.kms.admin.stats();
  return stats[table]["eu-west-1"]?.[operation] ?? 0;
}

function countOf(events: ReadonlyArray<{ detailType: string }>, detailType: string): number {
  return events.filter((e) => e.detailType === detailType).length;
}

describe("one key, due for renewal", () => {
  let keyId: string;
  let arn: string;

  it("two concurrent sweeps import exactly once", async () => {
    const { key } = await registerNew(bed, { validityPeriod: "P30D" });
    keyId = key.id;
    arn = arnIn(key, "eu-west-1");
    await bed.advance(25 * DAY_MS);

    const before = await count("ImportKeyMaterial");
    const reports = await Promise.all([
      sweep(bed.deps, { correlationId: "sweep-a" }),
      sweep(bed.deps, { correlationId: "sweep-b" }),
    ]);
    expect((await count("ImportKeyMaterial")) - before).toBe(1);
    expect(reports.reduce((n, r) => n + (r.outcomes.renewed ?? 0), 0)).toBe(1);
    expect(countOf(await bed.history(keyId), AuditDetailType.KeyMaterialRenewed)).toBe(1);
  });

  it("renews through throttling (the SDK retries)", async () => {
    await bed.advance(25 * DAY_MS);
    const before = await describeKey(bed, "eu-west-1", arn);
    const injectedBefore = await count("ImportKeyMaterial", "injectedErrors");
    await bed.aws.kms.admin.injectFault({
      operation: "ImportKeyMaterial",
      error: "ThrottlingException",
      count: 2,
    });
    try {
      const report = await sweep(bed.deps, { correlationId: "sweep-throttled" });
      expect(report.outcomes.renewed).toBe(1);
    } finally {
      await bed.aws.kms.admin.clearFaults();
    }
    expect((await count("ImportKeyMaterial", "injectedErrors")) - injectedBefore).toBe(2);
    const after = await describeKey(bed, "eu-west-1", arn);
    expect(after.ValidTo?.getTime() ?? 0).toBeGreaterThan((before.ValidTo?.getTime() ?? 0) + 24 * DAY_MS);
    expect(countOf(await bed.history(keyId), AuditDetailType.KeyMaterialRenewed)).toBe(2);
  });

  it("converges after a crash between ImportKeyMaterial and the record update, recording the import once", async () => {
    await bed.advance(25 * DAY_MS);
    const real = bed.deps.keys;
    let saves = 0;
    const crashing = new Proxy(real, {
      get(target, property, receiver) {
        if (property === "saveRegion") {
          return async (...args: Parameters<KeyRepository["saveRegion"]>) => {
            saves++;
            // 1st save announces the import; the 2nd records it after ImportKeyMaterial: crash there.
            if (saves === 2) throw new Error("simulated crash after ImportKeyMaterial");
            return target.saveRegion(...args);
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const crashingDeps: LifecycleDeps = { ...bed.deps, keys: crashing };

    const imports = await count("ImportKeyMaterial");
    const crashed = await sweep(crashingDeps, { correlationId: "sweep-crash" });
    expect(crashed.outcomes.failed).toBe(1);
    expect(await count("ImportKeyMaterial")).toBe(imports + 1);
    const validTo = (await describeKey(bed, "eu-west-1", arn)).ValidTo;

    const report = await sweep(bed.deps, { correlationId: "sweep-after-crash" });
    expect(report.due).toBeGreaterThanOrEqual(1);
    expect(await count("ImportKeyMaterial")).toBe(imports + 1);

    const stored = await bed.deps.keys.get(keyId as never);
    const region = stored?.regions.find((r) => r.region === "eu-west-1");
    expect(region?.importInFlight).toBeUndefined();
    expect(region?.importedValidTo?.getTime()).toBe(validTo?.getTime());
    const history = await bed.history(keyId);
    expect(countOf(history, AuditDetailType.KeyMaterialRenewed)).toBe(3);
    expect(new Set(history.map((e) => e.id)).size).toBe(history.length);
  });
});

describe("audit bus unreachable", () => {
  it("keeps events in the outbox and a later sweep publishes each exactly once", async () => {
    // Port 1 on loopback refuses connections: PutEvents fails as when EventBridge is unreachable.
    const broken = bed.depsWith({ TETHER_EVENTS_ENDPOINT: "http://127.0.0.1:1" });
    const { key, regions } = await registerNew(bed, { validityPeriod: "P30D" }, [], broken);
    expect(regions["eu-west-1"]).toEqual({ kind: "imported" });
    expect((await describeKey(bed, "eu-west-1", arnIn(key, "eu-west-1"))).KeyState).toBe("Enabled");

    const waiting = (await bed.auditLog.unpublished(100)).filter((e) => e.keyId === key.id);
    expect(types(waiting)).toEqual([AuditDetailType.KeyRegistered, AuditDetailType.KeyMaterialImported]);
    await bed.aws.events.drain();
    const onBus = () =>
      bed.aws.events
        .recorded(AUDIT_RECORDER)
        .filter((e) => (e.detail as { keyId?: string }).keyId === key.id);
    expect(onBus()).toHaveLength(0);

    const report = await sweep(bed.deps, { correlationId: "sweep-flush" });
    expect(report.outbox.published).toBeGreaterThanOrEqual(2);
    expect((await bed.auditLog.unpublished(100)).filter((e) => e.keyId === key.id)).toHaveLength(0);
    await sweep(bed.deps, { correlationId: "sweep-flush-again" });
    await bed.aws.events.drain();

    const history = await bed.history(key.id);
    const historyIds = history.map((e) => e.id);
    expect(new Set(historyIds).size).toBe(historyIds.length);
    const busIds = onBus().map((e) => (e.detail as { id: string }).id);
    expect(busIds.sort()).toEqual([...historyIds].sort());
  });
});

describe("material that is not the key's", () => {
  it("refuses a registration whose expected check value differs, creating nothing", async () => {
    const { ref } = await bed.putMaterial();
    const other = await bed.putMaterial();
    const creates = await count("CreateKey");
    await expect(
      registerKey(bed.deps, {
        mode: "create",
        region: "eu-west-1",
        keySpec: "SYMMETRIC_DEFAULT",
        materialRef: ref,
        checkValue: other.checkValue,
        actor: ACTOR,
        correlationId: "register-mismatch",
      }),
    ).rejects.toBeInstanceOf(CheckValueMismatchError);
    expect(await count("CreateKey")).toBe(creates);
  });

  it("alerts INCORRECT_KEY_MATERIAL when KMS refuses the vault's material, and does not retry it", async () => {
    const kms = bed.kms("eu-west-1");
    const created = await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    const arn = created.KeyMetadata?.Arn ?? "";
    await importKeyMaterial(kms, arn, randomBytes(32));
    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: arn }));
    const { ref, checkValue } = await bed.putMaterial();

    const imports = await count("ImportKeyMaterial");
    const { key, regions } = await registerKey(bed.deps, {
      mode: "adopt",
      keyArn: arn,
      materialRef: ref,
      checkValue,
      policy: { validityPeriod: "P30D" },
      actor: ACTOR,
      correlationId: "adopt-wrong-material",
    });
    expect(regions["eu-west-1"]).toEqual({ kind: "failed", errorName: "IncorrectKeyMaterialError" });
    expect(await count("ImportKeyMaterial")).toBe(imports + 1);
    const alert = (await bed.history(key.id)).find((e) => e.detailType === AuditDetailType.TetherAlert);
    expect(alert).toMatchObject({
      severity: AlertSeverity.Critical,
      reasonCode: AlertReason.IncorrectKeyMaterial,
    });

    for (let i = 0; i < 3; i++) {
      await bed.advance(HOUR_MS);
      await sweep(bed.deps, { correlationId: `sweep-wrong-material-${i}` });
    }
    expect(await count("ImportKeyMaterial")).toBe(imports + 1);
    expect((await describeKey(bed, "eu-west-1", arn)).KeyState).toBe("PendingImport");
  });
});
