/**
 * Issue 13's must-shows for one key's unexplained loss, against the local AWS over HTTP: a security
 * officer deletes the material straight on KMS (the kill switch), sweeps run every minute, and the
 * CloudTrail record that explains the delete arrives late or never. Tether must alert at once, never undo
 * the delete while it looks for the cause, name the principal once the record appears, and restore an
 * unattributed loss only after the attribution grace and only if the policy allows.
 */
import { readFileSync } from "node:fs";
import { DeleteImportedKeyMaterialCommand, DescribeKeyCommand } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { KeyDetailResponse } from "../../../lib/api/response-schemas.js";
import { keyDetailView } from "../../../lib/api/views.js";
import { AuditDetailType, type AuditEvent } from "../../../lib/domain/audit-types.js";
import { MINUTE_MS } from "../../../lib/domain/duration.js";
import type { ManagedKey } from "../../../lib/domain/managed-key.js";
import { parseKmsEvent } from "../../../lib/kms/kms-events.js";
import { handleKmsSignal } from "../../../lib/lifecycle/region/kms-signal.js";
import { sweep } from "../../../lib/lifecycle/scheduled/sweep.js";
import { revoke } from "../../../lib/lifecycle/use-cases/operator-actions.js";
import { showKey } from "../../../lib/lifecycle/use-cases/queries.js";
import { registerKey } from "../../../lib/lifecycle/use-cases/register.js";
import {
  decrypt,
  encrypt,
  type LifecycleTestbed,
  startLifecycleTestbed,
} from "../../support/lifecycle-testbed.js";

const REGION = "eu-west-1";
const CLOUDTRAIL_DELETE = JSON.parse(
  readFileSync(
    new URL("../../fixtures/kms-events/cloudtrail-delete-imported-key-material.json", import.meta.url),
    "utf8",
  ),
) as Record<string, unknown>;
const OFFICER = "arn:aws:sts::111122223333:assumed-role/SecurityOfficer/kill-switch";
const OFFICER_IP = "203.0.113.7";

const TETHER_SESSION = "arn:aws:sts::111122223333:assumed-role/tether-test-functions/sweep";

let bed: LifecycleTestbed;
beforeAll(async () => {
  bed = await startLifecycleTestbed();
  // Who signs what, as the emulator's CloudTrail records it: Tether's functions (the testbed's deps sign
  // with access key "local") as a role session TETHER_SELF_PRINCIPALS matches; the test's own KMS client
  // as the security officer.
  await bed.aws.kms.admin.registerIdentity({ accessKeyId: "local", arn: TETHER_SESSION });
  await bed.aws.kms.admin.registerIdentity({ accessKeyId: "AKIDLOCAL", arn: OFFICER });
});
beforeEach(async () => {
  await bed.aws.kms.admin.clearCloudTrail();
});
afterAll(async () => {
  await bed?.close();
});

async function register(policy: Record<string, unknown>): Promise<{ key: ManagedKey; arn: string }> {
  const { ref, checkValue } = await bed.putMaterial();
  const { key } = await registerKey(bed.deps, {
    mode: "create",
    region: REGION,
    keySpec: "SYMMETRIC_DEFAULT",
    materialRef: ref,
    checkValue,
    policy: { reconcileInterval: "PT1M", ...policy },
    actor: "operator:alice",
    correlationId: `test-${Math.random()}`,
  } as Parameters<typeof registerKey>[1]);
  const arn = key.regions[0]?.keyArn;
  if (arn === undefined) throw new Error("no primary");
  return { key, arn };
}

async function keyState(arn: string): Promise<string | undefined> {
  const out = await bed.kms(REGION).send(new DescribeKeyCommand({ KeyId: arn }));
  return out.KeyMetadata?.KeyState;
}

/** The kill switch: DeleteImportedKeyMaterial straight on KMS, not through Tether. */
async function killSwitch(arn: string): Promise<Date> {
  await bed.kms(REGION).send(new DeleteImportedKeyMaterialCommand({ KeyId: arn }));
  return bed.now();
}

/** The CloudTrail record of that call, as EventBridge delivers it (`AWS API Call via CloudTrail`). */
function cloudTrailRecord(arn: string, at: Date): unknown {
  const account = arn.split(":")[4] ?? "000000000000";
  const event = structuredClone(CLOUDTRAIL_DELETE) as Record<string, unknown> & {
    detail: Record<string, unknown>;
  };
  event.id = crypto.randomUUID();
  event.account = account;
  event.region = REGION;
  event.time = bed.now().toISOString();
  event.detail.eventTime = at.toISOString().replace(/\.\d{3}Z$/, "Z");
  event.detail.awsRegion = REGION;
  event.detail.requestParameters = { keyId: arn.split("/")[1] };
  event.detail.resources = [{ accountId: account, type: "AWS::KMS::Key", ARN: arn }];
  event.detail.userIdentity = { type: "AssumedRole", arn: OFFICER };
  event.detail.sourceIPAddress = OFFICER_IP;
  return event;
}

async function deliver(event: unknown): Promise<void> {
  const signal = parseKmsEvent(event);
  if (signal === null) throw new Error("the CloudTrail record was not read as a signal");
  await handleKmsSignal(bed.deps, signal, {
    correlationId: "cloudtrail-event",
    isTether: bed.config.isTether,
  });
}

/** One minute passes, then the scheduled sweep runs (as the deployed schedule does). */
async function minute(label: string): Promise<void> {
  await bed.advance(MINUTE_MS);
  await sweep(bed.deps, { correlationId: `sweep-${label}` });
}

type Alert = AuditEvent & { reasonCode: string; severity: string; summary: string };
async function alerts(keyId: string, reasonCode?: string): Promise<Alert[]> {
  return (await bed.history(keyId)).filter(
    (e): e is Alert =>
      e.detailType === AuditDetailType.TetherAlert &&
      "reasonCode" in e &&
      (reasonCode === undefined || e.reasonCode === reasonCode),
  );
}

describe("an out-of-band delete whose CloudTrail record arrives 10 minutes late, sweeps every minute", () => {
  it("found by LookupEvents: never restored; one critical alert at once; the out-of-band alert names the principal", async () => {
    // The emulator's CloudTrail: records reach EventBridge and the event history 10 minutes late.
    await bed.aws.kms.admin.setCloudTrail({ delayMs: 10 * MINUTE_MS });
    const { key, arn } = await register({});
    await killSwitch(arn);

    await minute("1");
    expect(await keyState(arn)).toBe("PendingImport");
    expect((await alerts(key.id)).map((a) => [a.reasonCode, a.severity])).toEqual([
      ["UNEXPLAINED_MATERIAL_LOSS", "critical"],
    ]);
    for (let i = 2; i <= 9; i++) {
      await minute(String(i));
      expect(await keyState(arn), `sweep ${i}`).toBe("PendingImport");
    }
    expect(await alerts(key.id)).toHaveLength(1);
    // GET /keys/{id} shows the wait (its response schema knows the kind), and when it started.
    const detail = KeyDetailResponse.parse(keyDetailView(await showKey(bed.deps, key.id)));
    expect(detail.regions[0]).toMatchObject({ nextAction: { kind: "attributing" } });
    expect(detail.key.regions[0]?.unexplainedSince).toBeDefined();

    // The record shows up in the event history: the next sweep's lookup attributes the delete.
    await minute("10");
    await minute("11");
    const outOfBand = await alerts(key.id, "DELETED_OUT_OF_BAND");
    expect(outOfBand).toHaveLength(1);
    expect(outOfBand[0]?.severity).toBe("critical");
    expect(outOfBand[0]?.summary).toContain(OFFICER);
    expect(outOfBand[0]).toMatchObject({ deletedBy: OFFICER });

    for (let i = 12; i <= 30; i++) await minute(String(i));
    expect(await keyState(arn)).toBe("PendingImport");
    expect((await alerts(key.id)).map((a) => a.reasonCode)).toEqual([
      "UNEXPLAINED_MATERIAL_LOSS",
      "DELETED_OUT_OF_BAND",
    ]);
    expect((await bed.history(key.id)).map((e) => e.detailType)).not.toContain(
      AuditDetailType.KeyMaterialRestored,
    );
  }, 120_000);

  it("delivered by EventBridge first: the same settlement, naming principal and source IP", async () => {
    // The event history never gets it here; only the EventBridge record (delivered by hand, late).
    await bed.aws.kms.admin.setCloudTrail({ drop: true, lookupDrop: true });
    const { key, arn } = await register({});
    const deletedAt = await killSwitch(arn);

    // The first sweep after the delete: one critical alert, nothing restored.
    await minute("1");
    expect(await keyState(arn)).toBe("PendingImport");
    const first = await alerts(key.id);
    expect(first.map((a) => [a.reasonCode, a.severity])).toEqual([["UNEXPLAINED_MATERIAL_LOSS", "critical"]]);

    // Nine more sweeps while the record is on its way: still one alert, still nothing restored.
    for (let i = 2; i <= 10; i++) {
      await minute(String(i));
      expect(await keyState(arn)).toBe("PendingImport");
    }
    expect(await alerts(key.id)).toHaveLength(1);

    // The record arrives (10 minutes after the call): out-of-band, attributed, named.
    await deliver(cloudTrailRecord(arn, deletedAt));
    const outOfBand = await alerts(key.id, "DELETED_OUT_OF_BAND");
    expect(outOfBand).toHaveLength(1);
    expect(outOfBand[0]?.severity).toBe("critical");
    expect(outOfBand[0]?.summary).toContain(OFFICER);
    expect(outOfBand[0]?.summary).toContain(OFFICER_IP);
    expect(outOfBand[0]).toMatchObject({ deletedBy: OFFICER, deletedFrom: OFFICER_IP });

    // Well past the grace: still never restored, and no further page.
    for (let i = 11; i <= 30; i++) await minute(String(i));
    expect(await keyState(arn)).toBe("PendingImport");
    expect((await alerts(key.id)).map((a) => a.reasonCode)).toEqual([
      "UNEXPLAINED_MATERIAL_LOSS",
      "DELETED_OUT_OF_BAND",
    ]);
    const history = await bed.history(key.id);
    expect(history.map((e) => e.detailType)).not.toContain(AuditDetailType.KeyMaterialRestored);
    const stored = await bed.deps.keys.get(key.id);
    expect(stored?.regions[0]).toMatchObject({ lossCause: "deleted-out-of-band", deletedBy: OFFICER });
  }, 120_000);

  it("with restoreAfterOutOfBandDelete, the record settles it the same way and the policy restores", async () => {
    await bed.aws.kms.admin.setCloudTrail({ drop: true, lookupDrop: true });
    const { key, arn } = await register({ restoreAfterOutOfBandDelete: true });
    const ciphertext = await encrypt(bed.kms(REGION), arn, "before the kill switch");
    const deletedAt = await killSwitch(arn);
    await minute("a");
    expect(await keyState(arn)).toBe("PendingImport");
    await deliver(cloudTrailRecord(arn, deletedAt));
    expect(await keyState(arn)).toBe("Enabled");
    expect(await decrypt(bed.kms(REGION), arn, ciphertext)).toBe("before the kill switch");
    // Drift that Tether put right: a warning (Drift Detected), not a page.
    const restored = (await bed.history(key.id)).find(
      (e): e is Alert => "reasonCode" in e && e.reasonCode === "DELETED_OUT_OF_BAND",
    );
    expect(restored?.detailType).toBe(AuditDetailType.DriftDetected);
    expect(restored?.severity).toBe("warning");
    expect(restored?.summary).toContain(OFFICER);
  }, 60_000);
});

describe("an out-of-band delete whose CloudTrail record never arrives", () => {
  beforeEach(async () => {
    await bed.aws.kms.admin.setCloudTrail({ drop: true, lookupDrop: true });
  });

  it("is restored only after the grace (policy restoreAfterLoss), with an alert saying it could not be attributed", async () => {
    const { key, arn } = await register({ attributionGrace: "PT15M" });
    const ciphertext = await encrypt(bed.kms(REGION), arn, "before the loss");
    await killSwitch(arn);

    // 14 sweeps inside the grace (the loss is first seen at the first one): never restored.
    for (let i = 1; i <= 15; i++) {
      await minute(String(i));
      expect(await keyState(arn), `sweep ${i}`).toBe("PendingImport");
    }
    expect((await alerts(key.id)).map((a) => a.reasonCode)).toEqual(["UNEXPLAINED_MATERIAL_LOSS"]);

    // The grace ends 15 minutes after the first sight: a local loss, restored.
    await minute("16");
    expect(await keyState(arn)).toBe("Enabled");
    expect(await decrypt(bed.kms(REGION), arn, ciphertext)).toBe("before the loss");
    const notAttributed = await alerts(key.id, "LOSS_NOT_ATTRIBUTED");
    expect(notAttributed).toHaveLength(1);
    expect(notAttributed[0]?.summary).toContain("could not be attributed");
  }, 120_000);

  it("with restoreAfterLoss false, is never restored; a critical alert says it could not be attributed", async () => {
    const { key, arn } = await register({ attributionGrace: "PT5M", restoreAfterLoss: false });
    await killSwitch(arn);
    for (let i = 1; i <= 12; i++) await minute(`n${i}`);
    expect(await keyState(arn)).toBe("PendingImport");
    expect((await alerts(key.id)).map((a) => [a.reasonCode, a.severity])).toEqual([
      ["UNEXPLAINED_MATERIAL_LOSS", "critical"],
      ["LOSS_NOT_ATTRIBUTED", "critical"],
    ]);
    expect((await alerts(key.id, "LOSS_NOT_ATTRIBUTED"))[0]?.summary).toContain("could not be attributed");
  }, 120_000);
});

describe("a stale expiry event (KMS's, delivered late, about material Tether has since restored)", () => {
  /** The material expires (KMS sends its expiry event, held back here) and the next sweep restores it. */
  async function expiredAndRestored(): Promise<{ key: ManagedKey; arn: string; expiry: unknown }> {
    const { key, arn } = await register({ validityPeriod: "PT1H", renewBefore: "PT5M" });
    const seen = (await bed.aws.kms.admin.events()).length;
    await bed.advance(2 * 60 * MINUTE_MS);
    const expiry = (await bed.aws.kms.admin.events())
      .slice(seen)
      .find((e) => e["detail-type"] === "KMS Imported Key Material Expiration" && e.resources.includes(arn));
    if (expiry === undefined) throw new Error("KMS sent no expiry event");
    await sweep(bed.deps, { correlationId: "sweep-restore-expired" });
    expect(await keyState(arn)).toBe("Enabled");
    return { key, arn, expiry };
  }

  async function deliverExpiry(event: unknown): Promise<void> {
    const signal = parseKmsEvent(event);
    if (signal?.kind !== "material-expired") throw new Error("not read as an expiry");
    await handleKmsSignal(bed.deps, signal, { correlationId: "late-expiry", isTether: bed.config.isTether });
  }

  it("after an out-of-band delete with no CloudTrail record: not read as an expiry, never restored by it", async () => {
    await bed.aws.kms.admin.setCloudTrail({ drop: true, lookupDrop: true });
    const { key, arn, expiry } = await expiredAndRestored();
    await killSwitch(arn);
    await minute("sees the loss");
    expect(await alerts(key.id, "UNEXPLAINED_MATERIAL_LOSS")).toHaveLength(1);

    // The expiry event of the material restored two minutes ago arrives only now.
    await deliverExpiry(expiry);
    expect(await keyState(arn)).toBe("PendingImport");
    const stored = await bed.deps.keys.get(key.id);
    expect(stored?.regions[0]?.lossCause).toBeUndefined(); // still unexplained, within its grace
    await minute("after the late event");
    expect(await keyState(arn)).toBe("PendingImport");
  }, 120_000);

  it("after a revoke: the key stays revoked, its material gone", async () => {
    const { key, arn, expiry } = await expiredAndRestored();
    await revoke(bed.deps, { key: key.id, actor: "operator:alice", reason: "kill", correlationId: "revoke" });
    expect(await keyState(arn)).toBe("PendingImport");
    await deliverExpiry(expiry);
    expect(await keyState(arn)).toBe("PendingImport");
    expect((await bed.deps.keys.get(key.id))?.status.state).toBe("revoked");
  }, 120_000);
});
