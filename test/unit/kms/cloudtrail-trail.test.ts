/**
 * The emulator's CloudTrail store on its own: settings (the lookup delay follows the delivery delay until
 * set), drop decisions per record, delivery by the emulator clock, the bounded history, and the record
 * builders' scrubbing of secrets.
 */
import { describe, expect, it } from "vitest";
import { CallerIdentities, userIdentity } from "../../../infra/local/kms/cloudtrail/identities.js";
import {
  apiCallRecord,
  recordedMembers,
  serviceEventRecord,
} from "../../../infra/local/kms/cloudtrail/records.js";
import { CloudTrail, HISTORY_LIMIT } from "../../../infra/local/kms/cloudtrail/trail.js";
import type { ServiceEvent } from "../../../infra/local/kms/events.js";

const T0 = Date.parse("2026-11-28T12:00:00Z");
const KEY = "arn:aws:kms:eu-west-1:111122223333:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";

function record(at: number, region = "eu-west-1") {
  return serviceEventRecord({
    eventName: "DeleteExpiredKeyMaterial",
    region,
    account: "111122223333",
    at,
    keyArn: KEY,
    keyId: "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
  });
}

describe("CloudTrail settings", () => {
  it("lets the lookup delay follow the delivery delay until it is set itself", () => {
    const trail = new CloudTrail();
    expect(trail.configure({ delayMs: 600_000 })).toMatchObject({ delayMs: 600_000, lookupDelayMs: 600_000 });
    expect(trail.configure({ lookupDelayMs: 1000 })).toMatchObject({ delayMs: 600_000, lookupDelayMs: 1000 });
    expect(trail.configure({ delayMs: 5 })).toMatchObject({ delayMs: 5, lookupDelayMs: 1000 });
    trail.resetSettings();
    expect(trail.configure({ delayMs: 7 })).toMatchObject({ delayMs: 7, lookupDelayMs: 7 });
  });

  it("decides each record's fate when it is made, with the settings of then", () => {
    let draw = 0.4;
    const trail = new CloudTrail(() => draw);
    trail.configure({ delayMs: 0, dropRate: 0.5 });
    trail.add(record(T0)); // 0.4 < 0.5: dropped on the way to EventBridge
    draw = 0.6;
    trail.add(record(T0 + 1)); // delivered
    trail.configure({ dropRate: 0 });
    const delivered: ServiceEvent[] = [];
    expect(trail.deliverDue(T0 + 10, (e) => delivered.push(e))).toBe(1);
    expect(delivered.map((e) => e.time)).toEqual(["2026-11-28T12:00:00Z"]);
    expect(trail.entries().map((e) => [e.dropped, e.delivered])).toEqual([
      [true, false],
      [false, true],
    ]);
    // Both stay in the event history: the drop switch of EventBridge does not touch it.
    expect(trail.history("eu-west-1", T0 + 10)).toHaveLength(2);
  });

  it("delivers by the emulator clock, once, oldest first, and shows lookups only after their delay", () => {
    const trail = new CloudTrail();
    trail.configure({ delayMs: 600_000 });
    trail.add(record(T0 + 1000));
    trail.add(record(T0));
    const delivered: ServiceEvent[] = [];
    expect(trail.deliverDue(T0 + 599_999, (e) => delivered.push(e))).toBe(0);
    expect(trail.history("eu-west-1", T0 + 599_999)).toEqual([]);
    expect(trail.deliverDue(T0 + 601_000, (e) => delivered.push(e))).toBe(2);
    expect(trail.deliverDue(T0 + 700_000, (e) => delivered.push(e))).toBe(0);
    expect(delivered.map((e) => e.time)).toEqual(["2026-11-28T12:00:00Z", "2026-11-28T12:00:01Z"]);
    expect(delivered[0]).toMatchObject({
      "detail-type": "AWS Service Event via CloudTrail",
      source: "aws.kms",
    });
    // Newest first, and only the Region asked about.
    expect(trail.history("eu-west-1", T0 + 601_000).map((r) => r.eventTime)).toEqual([T0 + 1000, T0]);
    expect(trail.history("us-east-1", T0 + 601_000)).toEqual([]);
  });

  it("keeps at most HISTORY_LIMIT records, the newest", () => {
    const trail = new CloudTrail();
    trail.configure({ delayMs: 0, drop: true });
    for (let i = 0; i < HISTORY_LIMIT + 5; i++) trail.add(record(T0 + i));
    const history = trail.history("eu-west-1", T0 + HISTORY_LIMIT + 5);
    expect(history).toHaveLength(HISTORY_LIMIT);
    expect(history.at(-1)?.eventTime).toBe(T0 + 5);
  });
});

describe("records", () => {
  it("never keep secrets, and print dates as KMS does", () => {
    expect(
      recordedMembers({
        KeyId: "k",
        ImportToken: "c2VjcmV0",
        EncryptedKeyMaterial: "d3JhcHBlZA==",
        ValidTo: Date.parse("2025-05-21T05:47:45Z") / 1000,
        Tags: [{ TagKey: "a", TagValue: "b" }],
      }),
    ).toEqual({ keyId: "k", validTo: "May 21, 2025, 5:47:45 AM", tags: [{ tagKey: "a", tagValue: "b" }] });
  });

  it("name an unknown access key's caller as the IAM user named after it", () => {
    const identities = new CallerIdentities("111122223333");
    expect(userIdentity(identities.resolve("AKIDNOBODY"))).toMatchObject({
      type: "IAMUser",
      arn: "arn:aws:iam::111122223333:user/AKIDNOBODY",
      userName: "AKIDNOBODY",
      principalId: expect.stringMatching(/^AIDA[A-Z0-9]{17}$/),
    });
  });

  it("carry the error of a failed call and no responseElements", () => {
    const failed = apiCallRecord({
      operation: "DeleteImportedKeyMaterial",
      region: "eu-west-1",
      account: "111122223333",
      at: T0,
      caller: { accessKeyId: "AKID", arn: "arn:aws:iam::111122223333:user/alice" },
      sourceIp: "127.0.0.1",
      userAgent: "test",
      requestId: "r",
      request: { KeyId: KEY },
      error: { code: "NotFoundException", message: "no" },
      resources: [{ type: "AWS::KMS::Key", arn: KEY }],
    });
    expect(JSON.parse(failed.detailJson)).toMatchObject({
      errorCode: "NotFoundException",
      errorMessage: "no",
      responseElements: null,
      readOnly: false,
      eventTime: "2026-11-28T12:00:00Z",
    });
  });
});
