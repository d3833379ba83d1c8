/**
 * Drift and the kill switch against the local AWS: an out-of-band deletion is reported, not undone; a
 * revoke stays revoked until an operator restores; a Multi-Region loss is restored only where it happened.
 */
import { readFile } from "node:fs/promises";
import { DeleteImportedKeyMaterialCommand } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AlertReason, AlertSeverity } from "../../../lib/domain/alerts.js";
import { AuditDetailType } from "../../../lib/domain/audit-types.js";
import { HOUR_MS, MINUTE_MS } from "../../../lib/domain/duration.js";
import { parseKmsEvent } from "../../../lib/kms/kms-events.js";
import { handleKmsSignal } from "../../../lib/lifecycle/region/kms-signal.js";
import { sweep } from "../../../lib/lifecycle/scheduled/sweep.js";
import { restore, revoke } from "../../../lib/lifecycle/use-cases/operator-actions.js";
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

const FIXTURE = new URL(
  "../../fixtures/kms-events/cloudtrail-delete-imported-key-material.json",
  import.meta.url,
);

describe("out-of-band deletion", () => {
  it("alerts as drift and does not restore, neither on the event nor on a later sweep", async () => {
    const { key } = await registerNew(bed, { validityPeriod: "P30D", reconcileInterval: "PT1M" });
    const arn = arnIn(key, "eu-west-1");
    await bed.kms("eu-west-1").send(new DeleteImportedKeyMaterialCommand({ KeyId: arn }));

    // The fixture as EventBridge delivers it, pointed at our key (account, Region, key id, ARNs).
    const [, , , region, account, resource] = arn.split(":");
    const keyUuid = (resource ?? "").split("/")[1] ?? "";
    const raw = (await readFile(FIXTURE, "utf8"))
      .replaceAll("arn:aws:kms:eu-west-1:210987654321:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", arn)
      .replaceAll("0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", keyUuid)
      .replaceAll("210987654321", account ?? "")
      .replaceAll("eu-west-1", region ?? "");
    const signal = parseKmsEvent(JSON.parse(raw));
    expect(signal).toMatchObject({ kind: "material-deleted", keyArn: arn });
    if (signal === null) throw new Error("unreachable");

    const outcome = await handleKmsSignal(bed.deps, signal, {
      correlationId: "cloudtrail-delete",
      isTether: bed.config.isTether,
    });
    expect(outcome).toEqual({ kind: "handled", outcome: { kind: "alert" } });
    expect((await describeKey(bed, "eu-west-1", arn)).KeyState).toBe("PendingImport");

    const history = await bed.history(key.id);
    expect(types(history)).toContain(AuditDetailType.DriftDetected);
    const alert = history.find((e) => e.detailType === AuditDetailType.TetherAlert);
    expect(alert).toMatchObject({
      severity: AlertSeverity.Critical,
      reasonCode: AlertReason.DeletedOutOfBand,
    });
    expect(types(history)).not.toContain(AuditDetailType.KeyMaterialRestored);

    await bed.advance(2 * MINUTE_MS);
    await sweep(bed.deps, { correlationId: "sweep-after-drift" });
    expect((await describeKey(bed, "eu-west-1", arn)).KeyState).toBe("PendingImport");
    expect(types(await bed.history(key.id))).not.toContain(AuditDetailType.KeyMaterialRestored);
  });
});

describe("revoke and restore", () => {
  it("revokes everywhere, stays revoked through sweeps, and an operator's restore brings the data back", async () => {
    const { key } = await registerNew(bed, { validityPeriod: "P30D", reconcileInterval: "PT1M" }, [
      "eu-central-1",
    ]);
    const ciphertext = await encrypt(bed.kms("eu-west-1"), arnIn(key, "eu-west-1"), "before revoke");

    const revoked = await revoke(bed.deps, {
      key: key.id,
      actor: ACTOR,
      correlationId: "revoke",
      reason: "test",
    });
    expect(revoked.key.status.state).toBe("revoked");
    for (const region of ["eu-west-1", "eu-central-1"]) {
      expect(revoked.regions[region]).toEqual({ kind: "revoked" });
      expect((await describeKey(bed, region, arnIn(key, region))).KeyState).toBe("PendingImport");
    }

    await bed.advance(HOUR_MS);
    await sweep(bed.deps, { correlationId: "sweep-after-revoke" });
    await bed.advance(HOUR_MS);
    await sweep(bed.deps, { correlationId: "sweep-after-revoke-2" });
    for (const region of ["eu-west-1", "eu-central-1"]) {
      expect((await describeKey(bed, region, arnIn(key, region))).KeyState).toBe("PendingImport");
    }

    const restored = await restore(bed.deps, {
      key: key.id,
      actor: ACTOR,
      correlationId: "restore",
      reason: "incident over",
    });
    expect(restored.key.status.state).toBe("active");
    for (const region of ["eu-west-1", "eu-central-1"]) {
      expect((await describeKey(bed, region, arnIn(key, region))).KeyState).toBe("Enabled");
    }
    expect(await decrypt(bed.kms("eu-west-1"), arnIn(key, "eu-west-1"), ciphertext)).toBe("before revoke");
    const history = types(await bed.history(key.id));
    expect(history.filter((t) => t === AuditDetailType.KeyMaterialRevoked)).toHaveLength(2);
    expect(history.filter((t) => t === AuditDetailType.KeyMaterialRestored)).toHaveLength(2);
  });
});

describe("Multi-Region", () => {
  it("imports into the primary and every replica, and restores only the Region that lost its material", async () => {
    // attributionGrace PT0S: with no sentinel here, the loss is unexplained; look once, then restore.
    const policy = { validityPeriod: "P30D", reconcileInterval: "PT1M", attributionGrace: "PT0S" };
    const { key, regions } = await registerNew(bed, policy, ["eu-central-1", "us-east-1"]);
    expect(regions).toEqual({
      "eu-west-1": { kind: "imported" },
      "eu-central-1": { kind: "imported" },
      "us-east-1": { kind: "imported" },
    });
    for (const region of ["eu-west-1", "eu-central-1", "us-east-1"]) {
      expect((await describeKey(bed, region, arnIn(key, region))).KeyState).toBe("Enabled");
    }
    const us = bed.kms("us-east-1");
    const ciphertext = await encrypt(us, arnIn(key, "us-east-1"), "made in us-east-1");

    await bed.aws.kms.admin.loseRegion("us-east-1");
    await bed.advance(2 * MINUTE_MS);
    await sweep(bed.deps, { correlationId: "sweep-us-loss" });

    expect((await describeKey(bed, "us-east-1", arnIn(key, "us-east-1"))).KeyState).toBe("Enabled");
    expect(await decrypt(us, arnIn(key, "us-east-1"), ciphertext)).toBe("made in us-east-1");
    const restoredIn = (await bed.history(key.id))
      .filter((e) => e.detailType === AuditDetailType.KeyMaterialRestored)
      .map((e) => e.region);
    expect(restoredIn).toEqual(["us-east-1"]);
  });
});
