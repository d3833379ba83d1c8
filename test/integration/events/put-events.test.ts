import { readFileSync } from "node:fs";
import { EventBridgeClient, ListRulesCommand, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EventBus, startEventBus } from "../../../infra/local/events/index.js";

const expirationEvent = JSON.parse(
  readFileSync(new URL("../../fixtures/kms-events/key-material-expiration.json", import.meta.url), "utf8"),
) as Record<string, unknown>;

const credentials = { accessKeyId: "local", secretAccessKey: "local" };
const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

let bus: EventBus;
let client: EventBridgeClient;

beforeAll(async () => {
  bus = await startEventBus({ port: 0 });
  client = new EventBridgeClient({ endpoint: bus.url, region: "eu-west-1", credentials, maxAttempts: 1 });
  bus.createEventBus("tether-audit");
  bus.putRule({
    name: "all-test-events",
    eventPattern: { source: [{ prefix: "com.tether.test" }] },
    targets: [{ id: "test-recorder", kind: "recorder" }],
  });
  bus.putRule({
    name: "kms-expiry",
    eventPattern: { source: ["aws.kms"], "detail-type": ["KMS Imported Key Material Expiration"] },
    targets: [{ id: "expiry-recorder", kind: "recorder" }],
  });
  bus.putRule({
    name: "audit",
    eventBusName: "tether-audit",
    eventPattern: '{"source":["com.tether.audit"]}',
    targets: [{ id: "audit-recorder", kind: "recorder" }],
  });
});

afterAll(async () => {
  client?.destroy();
  await bus?.close();
});

function entry(source: string, detail: Record<string, unknown> = { ok: true }) {
  return { Source: source, DetailType: "Test Event", Detail: JSON.stringify(detail) };
}

describe("PutEvents through @aws-sdk/client-eventbridge", () => {
  it("delivers an accepted event to a matching recorder as an EventBridge envelope", async () => {
    const result = await client.send(
      new PutEventsCommand({
        Entries: [{ ...entry("com.tether.test.delivery", { n: 1 }), Resources: ["arn:x"] }],
      }),
    );
    expect(result.FailedEntryCount).toBe(0);
    const eventId = result.Entries?.[0]?.EventId;
    expect(eventId).toMatch(/^[0-9a-f-]{36}$/);

    await bus.drain();
    const received = bus.recorded("test-recorder").find((event) => event.id === eventId);
    expect(received).toEqual({
      version: "0",
      id: eventId,
      "detail-type": "Test Event",
      source: "com.tether.test.delivery",
      account: "111122223333",
      time: expect.stringMatching(ISO_SECONDS),
      region: "eu-west-1",
      resources: ["arn:x"],
      detail: { n: 1 },
    });
    expect(bus.events("default").some((event) => event.id === eventId)).toBe(true);
  });

  it("takes the region from the request's signature and the time from Time, to the second", async () => {
    const otherRegion = new EventBridgeClient({
      endpoint: bus.url,
      region: "us-west-2",
      credentials,
      maxAttempts: 1,
    });
    try {
      const result = await otherRegion.send(
        new PutEventsCommand({
          Entries: [{ ...entry("com.tether.test.time"), Time: new Date("2026-01-02T03:04:05.678Z") }],
        }),
      );
      const eventId = result.Entries?.[0]?.EventId;
      await bus.drain();
      // The event lands on us-west-2's own bus; the rule of the home Region (eu-west-1) never sees it.
      const received = bus.events("default", "us-west-2").find((event) => event.id === eventId);
      expect(received?.region).toBe("us-west-2");
      expect(bus.recorded("test-recorder").some((event) => event.id === eventId)).toBe(false);
      expect(received?.time).toBe("2026-01-02T03:04:05Z");
    } finally {
      otherRegion.destroy();
    }
  });

  it("reports malformed entries per entry and still delivers the good ones", async () => {
    const result = await client.send(
      new PutEventsCommand({
        Entries: [
          entry("com.tether.test.batch", { i: 0 }),
          { DetailType: "Test Event", Detail: "{}" },
          { Source: "com.tether.test.batch", Detail: "{}" },
          { Source: "com.tether.test.batch", DetailType: "Test Event" },
          { Source: "com.tether.test.batch", DetailType: "Test Event", Detail: "[1,2]" },
          { Source: "com.tether.test.batch", DetailType: "Test Event", Detail: "{not json" },
          { Source: "aws.kms", DetailType: "KMS Imported Key Material Expiration", Detail: "{}" },
          entry("com.tether.test.batch", { i: 7 }),
        ],
      }),
    );

    expect(result.FailedEntryCount).toBe(6);
    const entries = result.Entries ?? [];
    expect(entries).toHaveLength(8);
    expect(entries.map((e) => e.ErrorCode ?? "ok")).toEqual([
      "ok",
      "InvalidArgument",
      "InvalidArgument",
      "InvalidArgument",
      "MalformedDetail",
      "MalformedDetail",
      "NotAuthorizedForSourceException",
      "ok",
    ]);
    expect(entries[1]?.ErrorMessage).toBe(
      "Parameter Source is not valid. Reason: Source is a required argument.",
    );
    expect(entries[2]?.ErrorMessage).toBe(
      "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
    );
    expect(entries[3]?.ErrorMessage).toBe(
      "Parameter Detail is not valid. Reason: Detail is a required argument.",
    );
    expect(entries[4]?.ErrorMessage).toBe("Detail is malformed.");
    expect(entries[6]?.ErrorMessage).toBe("Not authorized for the source.");
    for (const failed of entries.filter((e) => e.ErrorCode)) expect(failed.EventId).toBeUndefined();

    await bus.drain();
    const delivered = bus
      .recorded("test-recorder")
      .filter((event) => event.source === "com.tether.test.batch");
    expect(delivered.map((event) => event.id)).toEqual([entries[0]?.EventId, entries[7]?.EventId]);
    expect(delivered.map((event) => event.detail)).toEqual([{ i: 0 }, { i: 7 }]);
    // The refused aws.kms entry must not have reached the KMS rule either.
    expect(bus.recorded("expiry-recorder")).toEqual([]);
  });

  it("refuses more than 10 entries as a whole request", async () => {
    const before = bus.events().length;
    const entries = Array.from({ length: 11 }, (_, i) => entry("com.tether.test.many", { i }));
    await expect(client.send(new PutEventsCommand({ Entries: entries }))).rejects.toMatchObject({
      name: "ValidationException",
      message: expect.stringContaining("Member must have length less than or equal to 10"),
    });
    expect(bus.events().length).toBe(before);
  });

  it("refuses a request whose entries total 256 KB or more", async () => {
    const big = {
      Source: "com.tether.test.big",
      DetailType: "Big",
      Detail: JSON.stringify({ pad: "x".repeat(140_000) }),
    };
    await expect(client.send(new PutEventsCommand({ Entries: [big, big] }))).rejects.toMatchObject({
      name: "ValidationException",
      message: "Total size of the entries in the request is over the limit.",
    });
    const fits = await client.send(new PutEventsCommand({ Entries: [big] }));
    expect(fits.FailedEntryCount).toBe(0);
  });

  it("routes by EventBusName, given as a name or as an ARN of this account and region", async () => {
    const byName = await client.send(
      new PutEventsCommand({ Entries: [{ ...entry("com.tether.audit"), EventBusName: "tether-audit" }] }),
    );
    const byArn = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            ...entry("com.tether.audit"),
            EventBusName: "arn:aws:events:eu-west-1:111122223333:event-bus/tether-audit",
          },
        ],
      }),
    );
    await bus.drain();
    const ids = bus.recorded("audit-recorder").map((event) => event.id);
    expect(ids).toContain(byName.Entries?.[0]?.EventId);
    expect(ids).toContain(byArn.Entries?.[0]?.EventId);
    expect(bus.events("default").some((event) => event.source === "com.tether.audit")).toBe(false);
  });

  it("accepts events for a bus that does not exist and drops them, as EventBridge does", async () => {
    const result = await client.send(
      new PutEventsCommand({ Entries: [{ ...entry("com.tether.test.lost"), EventBusName: "no-such-bus" }] }),
    );
    expect(result.FailedEntryCount).toBe(0);
    const eventId = result.Entries?.[0]?.EventId;
    expect(eventId).toBeDefined();
    await bus.drain();
    expect(bus.events().some((event) => event.id === eventId)).toBe(false);
    expect(bus.recorded("test-recorder").some((event) => event.id === eventId)).toBe(false);
  });

  it("refuses an EventBusName that is not a name or an event bus ARN", async () => {
    await expect(
      client.send(
        new PutEventsCommand({ Entries: [{ ...entry("com.tether.test"), EventBusName: "bad name!" }] }),
      ),
    ).rejects.toMatchObject({ name: "ValidationException" });
  });

  it("answers other operations with UnknownOperationException", async () => {
    await expect(client.send(new ListRulesCommand({}))).rejects.toMatchObject({
      name: "UnknownOperationException",
    });
  });

  it("refuses an unsigned request", async () => {
    const response = await fetch(bus.url, {
      method: "POST",
      headers: { "x-amz-target": "AWSEvents.PutEvents", "content-type": "application/x-amz-json-1.1" },
      body: JSON.stringify({ Entries: [entry("com.tether.test")] }),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ __type: "MissingAuthenticationTokenException" });
  });
});

describe("POST /_local/service-events", () => {
  it("accepts an aws.kms envelope that PutEvents refuses, and routes it on the default bus", async () => {
    const refused = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: "aws.kms",
            DetailType: "KMS Imported Key Material Expiration",
            Detail: JSON.stringify(expirationEvent.detail),
          },
        ],
      }),
    );
    expect(refused.Entries?.[0]?.ErrorCode).toBe("NotAuthorizedForSourceException");

    const response = await fetch(`${bus.url}/_local/service-events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ Events: [expirationEvent] }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      FailedEntryCount: 0,
      Entries: [{ EventId: expirationEvent.id }],
    });

    await bus.drain();
    expect(bus.recorded("expiry-recorder")).toEqual([expirationEvent]);
  });

  it.each([
    ["not JSON", "{nope", "SerializationException"],
    ["no Events", JSON.stringify({}), "ValidationException"],
    [
      "an envelope without detail",
      JSON.stringify({ Events: [{ ...expirationEvent, detail: undefined }] }),
      "ValidationException",
    ],
    [
      "a bad account",
      JSON.stringify({ Events: [{ ...expirationEvent, account: "12" }] }),
      "ValidationException",
    ],
    [
      "a time that is not ISO",
      JSON.stringify({ Events: [{ ...expirationEvent, time: "yesterday" }] }),
      "ValidationException",
    ],
    [
      "detail as a string",
      JSON.stringify({ Events: [{ ...expirationEvent, detail: "{}" }] }),
      "ValidationException",
    ],
  ])("answers 400 to %s and records nothing", async (_what, body, type) => {
    const before = bus.events().length;
    const response = await fetch(`${bus.url}/_local/service-events`, { method: "POST", body });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: type });
    expect(bus.events().length).toBe(before);
  });
});

describe("admin endpoints", () => {
  it("lists recent events, newest last, limited and filtered by bus", async () => {
    await client.send(new PutEventsCommand({ Entries: [entry("com.tether.test.admin", { last: true })] }));
    const response = await fetch(`${bus.url}/_local/events?bus=default&limit=1`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      events: Array<{ eventBusName: string; event: { source: string } }>;
    };
    expect(body.events).toHaveLength(1);
    expect(body.events[0]).toMatchObject({
      eventBusName: "default",
      event: { source: "com.tether.test.admin" },
    });
  });

  it("refuses a bad limit", async () => {
    const response = await fetch(`${bus.url}/_local/events?limit=0`);
    expect(response.status).toBe(400);
  });

  it("reports health", async () => {
    const response = await fetch(`${bus.url}/_local/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ok", service: "events" });
  });
});
