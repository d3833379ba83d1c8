import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import {
  CloudTrailAdapter,
  CloudTrailError,
  deleteRecordOf,
} from "../../../lib/cloudtrail/cloudtrail-adapter.js";
import type { AwsRegion } from "../../../lib/domain/ids.js";
import { classify } from "../../../lib/lifecycle/region/loss-evidence.js";

const OFFICER = "arn:aws:sts::111122223333:assumed-role/SecurityOfficer/kill-switch";
const TETHER = "arn:aws:sts::111122223333:assumed-role/tether-prod-sweep/x";
const record = (fields: Record<string, unknown>) => JSON.stringify({ eventVersion: "1.08", ...fields });

describe("deleteRecordOf: one LookupEvents result", () => {
  it("reads who, when and from where out of the CloudTrail record", () => {
    expect(
      deleteRecordOf({
        EventName: "DeleteImportedKeyMaterial",
        EventTime: new Date("2026-12-04T10:00:05Z"),
        CloudTrailEvent: record({
          eventTime: "2026-12-04T10:00:00Z",
          userIdentity: { type: "AssumedRole", arn: OFFICER },
          sourceIPAddress: "203.0.113.7",
        }),
      }),
    ).toEqual({
      eventName: "DeleteImportedKeyMaterial",
      principal: OFFICER,
      at: new Date("2026-12-04T10:00:00Z"),
      sourceIp: "203.0.113.7",
    });
  });

  it("falls back to invokedBy, then the lookup's user name and time, when the record lacks them", () => {
    expect(
      deleteRecordOf({
        EventName: "ScheduleKeyDeletion",
        EventTime: new Date("2026-12-04T10:00:05Z"),
        CloudTrailEvent: record({ userIdentity: { invokedBy: "cloudformation.amazonaws.com" } }),
      }),
    ).toMatchObject({ principal: "cloudformation.amazonaws.com", at: new Date("2026-12-04T10:00:05Z") });
    expect(
      deleteRecordOf({
        EventName: "DeleteImportedKeyMaterial",
        EventTime: new Date("2026-12-04T10:00:05Z"),
        Username: "alice",
        CloudTrailEvent: "not json",
      }),
    ).toMatchObject({ principal: "alice" });
  });

  it("ignores calls that removed nothing: other operations, refused calls, no time at all", () => {
    expect(deleteRecordOf({ EventName: "ImportKeyMaterial", EventTime: new Date() })).toBeUndefined();
    expect(
      deleteRecordOf({
        EventName: "DeleteImportedKeyMaterial",
        EventTime: new Date(),
        CloudTrailEvent: record({ errorCode: "AccessDenied", userIdentity: { arn: OFFICER } }),
      }),
    ).toBeUndefined();
    expect(deleteRecordOf({ EventName: "DeleteImportedKeyMaterial" })).toBeUndefined();
  });
});

describe("classify: the newest delete decides", () => {
  const at = (s: number) => new Date(Date.UTC(2026, 11, 4, 10, 0, s));
  const isTether = (arn: string) => arn.includes(":assumed-role/tether-");

  it("someone else's is out-of-band; Tether's own is Tether's; none is none", () => {
    const officer = { eventName: "DeleteImportedKeyMaterial", principal: OFFICER, at: at(1) };
    const tether = { eventName: "DeleteImportedKeyMaterial", principal: TETHER, at: at(2) };
    expect(classify([officer], isTether)).toMatchObject({ kind: "out-of-band", principal: OFFICER });
    expect(classify([officer, tether], isTether)).toMatchObject({ kind: "tether", principal: TETHER });
    expect(classify([tether, { ...officer, at: at(3) }], isTether)).toMatchObject({ kind: "out-of-band" });
    expect(classify([], isTether)).toEqual({ kind: "none" });
    // Without a way to recognise Tether, nobody is Tether: a delete is never taken for its own.
    expect(classify([tether], undefined)).toMatchObject({ kind: "out-of-band" });
  });
});

describe("CloudTrailAdapter error branch", () => {
  it("turns a refused lookup into a CloudTrailError naming the SDK's error class, never its message", async () => {
    const mock = mockClient(CloudTrailClient);
    try {
      const throttled = Object.assign(new Error("Rate exceeded for arn:... secret-ish text"), {
        name: "ThrottlingException",
      });
      mock.on(LookupEventsCommand).rejects(throttled);
      const adapter = new CloudTrailAdapter({ endpoint: "http://127.0.0.1:9" });
      const lookup = adapter.materialDeletes(
        "eu-west-1" as AwsRegion,
        "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        new Date(0),
        new Date(),
      );
      await expect(lookup).rejects.toBeInstanceOf(CloudTrailError);
      await expect(lookup).rejects.toMatchObject({ errorName: "ThrottlingException" });
      await expect(lookup).rejects.not.toThrow(/secret-ish/);
    } finally {
      mock.restore();
    }
  });
});
