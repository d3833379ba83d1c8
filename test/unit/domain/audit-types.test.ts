import { describe, expect, expectTypeOf, it } from "vitest";
import {
  AlertReason,
  AUDIT_SCHEMA_VERSION,
  AuditDetailType,
  type AuditEvent,
  buildAlertEvent,
  buildFactEvent,
  buildImportFailedEvent,
  MAX_AUDIT_TEXT_LENGTH,
  RotationStep,
  ValidationError,
} from "../../../lib/domain/index.js";
import { at, DAY, KEY_ID, NOW, PRIMARY_ARN } from "./support.js";

const CONTEXT = { id: "evt-1", time: NOW, actor: "tether:sweep", correlationId: "run-7" };

describe("AuditDetailType", () => {
  it("spells the detail-types consumers match on", () => {
    expect(Object.values(AuditDetailType)).toEqual([
      "Key Registered",
      "Key Material Imported",
      "Key Material Renewed",
      "Key Material Restored",
      "Key Material Revoked",
      "Key Material Lost",
      "Import Failed",
      "Drift Detected",
      "Key Policy Changed",
      "Key Paused",
      "Key Resumed",
      "Key Unmanaged",
      "Tether Alert",
      "Key Material Rotated",
      "Key Rotation Step",
      "Key Swapped",
      "Regional Loss Recovered",
      "Operation Requested",
      "Operation Approved",
      "Operation Denied",
      "Operation Expired",
      "Operation Executed",
      "Operation Confirmed",
      "Member Account Added",
      "Member Account Removed",
    ]);
  });

  it("carries a swap's other key and a step's name, nothing more", () => {
    const event = buildFactEvent(AuditDetailType.KeyRotationStep, CONTEXT, {
      keyId: KEY_ID,
      relatedKeyId: "tk_01J0000000000000000000NEXT",
      step: RotationStep.AliasRepointed,
    });
    expect(event).toMatchObject({ relatedKeyId: "tk_01J0000000000000000000NEXT", step: "alias-repointed" });
    const plain = buildFactEvent(AuditDetailType.KeySwapped, CONTEXT, { keyId: KEY_ID });
    expect(plain).not.toHaveProperty("relatedKeyId");
    expect(plain).not.toHaveProperty("step");
  });
});

describe("audit builders", () => {
  it("a fact event: ISO times, schema version, only the fields given", () => {
    const event = buildFactEvent(AuditDetailType.KeyMaterialRenewed, CONTEXT, {
      keyId: KEY_ID,
      keyArn: PRIMARY_ARN,
      region: "eu-west-1",
      checkValue: "kcv-aes:1A2B3C",
      validTo: at(30 * DAY),
    });
    expect(event).toEqual({
      detailType: "Key Material Renewed",
      id: "evt-1",
      time: "2025-06-01T00:00:00.000Z",
      keyId: KEY_ID,
      keyArn: PRIMARY_ARN,
      region: "eu-west-1",
      checkValue: "kcv-aes:1A2B3C",
      validTo: "2025-07-01T00:00:00.000Z",
      actor: "tether:sweep",
      correlationId: "run-7",
      schemaVersion: AUDIT_SCHEMA_VERSION,
    });
    expect(JSON.parse(JSON.stringify(event))).toEqual(event);
  });

  it("an alert event carries severity, reason code and a one-line summary", () => {
    const event = buildAlertEvent(
      AuditDetailType.TetherAlert,
      CONTEXT,
      { keyId: KEY_ID, region: "us-east-1" },
      { severity: "critical", reason: AlertReason.DeletedOutOfBand, summary: "gone\nreally\tgone" },
    );
    expect(event).toMatchObject({
      detailType: "Tether Alert",
      severity: "critical",
      reasonCode: "DELETED_OUT_OF_BAND",
      summary: "gone really gone",
    });
  });

  it("an import-failed event names the error class and the attempt", () => {
    const event = buildImportFailedEvent(
      CONTEXT,
      { keyId: KEY_ID },
      { errorName: "KmsThrottledError", attempt: 2 },
    );
    expect(event).toMatchObject({ detailType: "Import Failed", errorName: "KmsThrottledError", attempt: 2 });
    expect(() => buildImportFailedEvent(CONTEXT, { keyId: KEY_ID }, { errorName: "E", attempt: 0 })).toThrow(
      /attempt/,
    );
  });

  it("bounds free text", () => {
    const event = buildFactEvent(AuditDetailType.KeyMaterialRevoked, CONTEXT, {
      keyId: KEY_ID,
      reason: "x".repeat(5000),
    });
    expect(event.reason).toHaveLength(MAX_AUDIT_TEXT_LENGTH);
  });

  it.each([
    ["id", { ...CONTEXT, id: "" }],
    ["actor", { ...CONTEXT, actor: " " }],
    ["correlationId", { ...CONTEXT, correlationId: "" }],
    ["time", { ...CONTEXT, time: new Date(Number.NaN) }],
  ])("refuses an empty or invalid %s", (field, context) => {
    expect(() => buildFactEvent(AuditDetailType.KeyPaused, context, { keyId: KEY_ID })).toThrow(
      ValidationError,
    );
    expect(() => buildFactEvent(AuditDetailType.KeyPaused, context, { keyId: KEY_ID })).toThrow(field);
  });

  it("has no field that can hold bytes", () => {
    type ValuesOf<T> = T extends unknown ? T[keyof T] : never;
    type Values = ValuesOf<AuditEvent>;
    expectTypeOf<Exclude<Values, undefined>>().toEqualTypeOf<string | number>();
    expectTypeOf<Extract<Values, Uint8Array>>().toBeNever();
    const event = buildFactEvent(AuditDetailType.KeyRegistered, CONTEXT, { keyId: KEY_ID, validTo: NOW });
    for (const value of Object.values(event)) expect(["string", "number"]).toContain(typeof value);
  });
});
