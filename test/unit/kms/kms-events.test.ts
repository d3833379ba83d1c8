import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseKmsEvent, UnusableKmsEventError } from "../../../lib/kms/kms-events.js";

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../fixtures/kms-events/${name}`, import.meta.url), "utf8"));
const ARN = "arn:aws:kms:eu-west-1:210987654321:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";

describe("parseKmsEvent", () => {
  it("reads KMS's own expiry event", () => {
    expect(parseKmsEvent(fixture("key-material-expiration.json"))).toEqual({
      kind: "material-expired",
      keyArn: ARN,
      region: "eu-west-1",
      at: new Date("2026-11-28T12:00:00Z"),
    });
  });

  it("reads CloudTrail's DeleteExpiredKeyMaterial service event as an expiry", () => {
    expect(parseKmsEvent(fixture("service-event-delete-expired-key-material.json"))).toEqual({
      kind: "material-expired",
      keyArn: ARN,
      region: "eu-west-1",
      at: new Date("2026-11-28T12:00:01Z"),
    });
  });

  it("reads an out-of-band DeleteImportedKeyMaterial with who made it", () => {
    expect(parseKmsEvent(fixture("cloudtrail-delete-imported-key-material.json"))).toEqual({
      kind: "material-deleted",
      keyArn: ARN,
      region: "eu-west-1",
      actorArn: "arn:aws:sts::210987654321:assumed-role/BreakGlass/someone",
      at: new Date("2026-11-28T12:15:00Z"),
      sourceIp: "198.51.100.7",
    });
  });

  it("reads ImportKeyMaterial calls, key deletion and rotation", () => {
    expect(parseKmsEvent(fixture("cloudtrail-import-key-material.json"))).toMatchObject({
      kind: "material-imported",
      keyArn: ARN,
    });
    expect(parseKmsEvent(fixture("key-deletion.json"))).toEqual({
      kind: "key-changed",
      keyArn: ARN,
      region: "eu-west-1",
      what: "KMS CMK Deletion",
    });
    expect(parseKmsEvent(fixture("key-rotation-on-demand.json"))).toMatchObject({ kind: "key-changed" });
  });

  it("builds the ARN from key-id, account and region when resources is empty", () => {
    const event = { ...fixture("key-material-expiration.json"), resources: [] };
    expect(parseKmsEvent(event)).toMatchObject({ keyArn: ARN });
  });

  it("ignores failed calls and calls Tether does not act on", () => {
    const failed = fixture("cloudtrail-delete-imported-key-material.json");
    (failed.detail as Record<string, unknown>).errorCode = "AccessDeniedException";
    expect(parseKmsEvent(failed)).toBeNull();
    const other = fixture("cloudtrail-import-key-material.json");
    (other.detail as Record<string, unknown>).eventName = "ListKeys";
    expect(parseKmsEvent(other)).toBeNull();
    expect(parseKmsEvent({ ...fixture("key-deletion.json"), "detail-type": "Something Else" })).toBeNull();
  });

  it.each([
    ["not an object", "hello"],
    ["another source", { ...fixture("key-material-expiration.json"), source: "aws.s3" }],
    [
      "a bad key id",
      { ...fixture("key-material-expiration.json"), resources: [], detail: { "key-id": "../x" } },
    ],
    ["a bad account", { ...fixture("key-material-expiration.json"), account: "me" }],
  ])("refuses %s with a reason", (_, event) => {
    expect(() => parseKmsEvent(event)).toThrow(UnusableKmsEventError);
  });
});
