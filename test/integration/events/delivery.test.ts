import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type EventBus,
  type EventEnvelope,
  InvalidEventPatternError,
  ResourceNotFoundError,
  startEventBus,
  ValidationError,
} from "../../../infra/local/events/index.js";

let bus: EventBus;
let client: EventBridgeClient;
const logLines: string[] = [];

beforeAll(async () => {
  bus = await startEventBus({
    port: 0,
    retryDelayMs: 1,
    maxAttempts: 3,
    logger: (line) => logLines.push(line),
  });
  client = new EventBridgeClient({
    endpoint: bus.url,
    region: "eu-west-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  await bus?.close();
});

async function put(source: string, detail: Record<string, unknown> = {}): Promise<string> {
  const result = await client.send(
    new PutEventsCommand({
      Entries: [{ Source: source, DetailType: "Delivery Test", Detail: JSON.stringify(detail) }],
    }),
  );
  const id = result.Entries?.[0]?.EventId;
  if (!id) throw new Error(`PutEvents refused the entry: ${JSON.stringify(result.Entries)}`);
  return id;
}

describe("function targets", () => {
  it("retries a failing function, then dead-letters the event", async () => {
    const calls: EventEnvelope[] = [];
    bus.putRule({
      name: "always-fails",
      eventPattern: { source: ["com.tether.test.fails"] },
      targets: [
        {
          id: "failing-fn",
          kind: "function",
          invoke: async (event) => {
            calls.push(event);
            throw new Error("downstream unavailable");
          },
        },
      ],
    });

    const id = await put("com.tether.test.fails");
    await bus.drain();

    expect(calls.map((event) => event.id)).toEqual([id, id, id]);
    const letters = bus.deadLetters().filter((letter) => letter.event.id === id);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      eventBusName: "default",
      ruleName: "always-fails",
      targetId: "failing-fn",
      attempts: 3,
      lastError: "Error: downstream unavailable",
    });
    expect(logLines.some((line) => line.includes(`dead-lettered ${id}`))).toBe(true);
  });

  it("stops retrying once the function succeeds", async () => {
    let attempts = 0;
    bus.putRule({
      name: "fails-once",
      eventPattern: { source: ["com.tether.test.flaky"] },
      targets: [
        {
          id: "flaky-fn",
          kind: "function",
          invoke: async () => {
            attempts++;
            if (attempts === 1) throw new Error("first call fails");
            return "ok";
          },
        },
      ],
    });

    const id = await put("com.tether.test.flaky");
    await bus.drain();

    expect(attempts).toBe(2);
    expect(bus.deadLetters().some((letter) => letter.event.id === id)).toBe(false);
  });

  it("answers PutEvents before any target runs, and drain() waits for the targets", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const finished: string[] = [];
    bus.putRule({
      name: "gated",
      eventPattern: { source: ["com.tether.test.gated"] },
      targets: [
        {
          id: "gated-fn",
          kind: "function",
          invoke: async (event) => {
            await gate;
            finished.push(event.id);
          },
        },
      ],
    });

    // If delivery ran inside the request, this would never answer while the gate is shut.
    const id = await put("com.tether.test.gated");
    expect(finished).toEqual([]);

    const drained = bus.drain();
    release();
    await drained;
    expect(finished).toEqual([id]);
  });

  it("gives each target its own copy of the event", async () => {
    bus.putRule({
      name: "mutator",
      eventPattern: { source: ["com.tether.test.copy"] },
      targets: [
        {
          id: "mutating-fn",
          kind: "function",
          invoke: async (event) => {
            (event.detail as Record<string, unknown>).tampered = true;
          },
        },
        { id: "copy-recorder", kind: "recorder" },
      ],
    });
    const id = await put("com.tether.test.copy", { original: true });
    await bus.drain();
    expect(bus.recorded("copy-recorder").find((event) => event.id === id)?.detail).toEqual({
      original: true,
    });
    expect(bus.events().find((event) => event.id === id)?.detail).toEqual({ original: true });
  });
});

describe("rules", () => {
  it("stops delivering after removeRule", async () => {
    bus.putRule({
      name: "removable",
      eventPattern: { source: ["com.tether.test.removable"] },
      targets: [{ id: "removable-recorder", kind: "recorder" }],
    });
    const first = await put("com.tether.test.removable");
    await bus.drain();
    expect(bus.removeRule("removable")).toBe(true);
    await put("com.tether.test.removable");
    await bus.drain();
    expect(bus.recorded("removable-recorder").map((event) => event.id)).toEqual([first]);
    expect(bus.removeRule("removable")).toBe(false);
  });

  it("replaces a rule put again under the same name", async () => {
    bus.putRule({
      name: "replaced",
      eventPattern: { source: ["com.tether.test.old"] },
      targets: [{ id: "replaced-recorder", kind: "recorder" }],
    });
    const arn = bus.putRule({
      name: "replaced",
      eventPattern: { source: ["com.tether.test.new"] },
      targets: [{ id: "replaced-recorder", kind: "recorder" }],
    });
    expect(arn).toBe("arn:aws:events:eu-west-1:111122223333:rule/replaced");
    await put("com.tether.test.old");
    const fresh = await put("com.tether.test.new");
    await bus.drain();
    expect(bus.recorded("replaced-recorder").map((event) => event.id)).toEqual([fresh]);
  });

  it("refuses an invalid pattern when the rule is put", () => {
    expect(() =>
      bus.putRule({ name: "bad", eventPattern: { source: [{ numeric: [">", "x"] }] }, targets: [] }),
    ).toThrow(InvalidEventPatternError);
    expect(() => bus.putRule({ name: "bad", eventPattern: "{oops", targets: [] })).toThrow(/not valid JSON/);
  });

  it("refuses a rule on a bus that does not exist", () => {
    expect(() =>
      bus.putRule({ name: "nowhere", eventBusName: "ghost", eventPattern: { source: ["x"] }, targets: [] }),
    ).toThrow(ResourceNotFoundError);
  });

  it("refuses bad rule names and duplicate or too many targets", () => {
    const pattern = { source: ["x"] };
    expect(() => bus.putRule({ name: "has space", eventPattern: pattern, targets: [] })).toThrow(
      ValidationError,
    );
    expect(() =>
      bus.putRule({
        name: "dupes",
        eventPattern: pattern,
        targets: [
          { id: "t", kind: "recorder" },
          { id: "t", kind: "recorder" },
        ],
      }),
    ).toThrow(/appears twice/);
    expect(() =>
      bus.putRule({
        name: "crowded",
        eventPattern: pattern,
        targets: Array.from({ length: 6 }, (_, i) => ({ id: `t${i}`, kind: "recorder" as const })),
      }),
    ).toThrow(/at most 5 targets/);
  });
});

describe("history", () => {
  it("keeps only the newest events per bus", async () => {
    const small = await startEventBus({ port: 0, historyLimit: 2 });
    const smallClient = new EventBridgeClient({
      endpoint: small.url,
      region: "eu-west-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      maxAttempts: 1,
    });
    try {
      const result = await smallClient.send(
        new PutEventsCommand({
          Entries: [1, 2, 3].map((i) => ({
            Source: "com.tether.test",
            DetailType: "H",
            Detail: `{"i":${i}}`,
          })),
        }),
      );
      expect(small.events().map((event) => event.id)).toEqual(result.Entries?.slice(1).map((e) => e.EventId));
    } finally {
      smallClient.destroy();
      await small.close();
    }
  });
});
