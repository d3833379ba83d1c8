/**
 * The local stack retries a function that fails on a rule's event as Lambda does for that function, not
 * more: serverless.yml gives the sweep `maximumRetryAttempts: 0`, so a sweep that throws on a drain event
 * runs once; kms-events has 2, so it runs three times
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html). Before, the local
 * bus ran every function target three times, kinder to a failing sweep than AWS.
 * Handlers are stubs here: what is under test is the runner's delivery, not the functions.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalInvocation, type LocalStack, startLocalStack } from "../../../infra/local/runner/index.js";
import { DRAIN_CONTINUED_DETAIL_TYPE } from "../../../lib/domain/drain.js";

let stack: LocalStack;
const invocations: LocalInvocation[] = [];
const failing = async () => {
  throw new Error("the stub fails on purpose");
};

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
  stack = await startLocalStack({
    memory: true,
    ports: { api: 0, kms: 0, dynamodb: 0, events: 0 },
    sweepIntervalMs: 0,
    handlers: {
      api: async () => ({ statusCode: 200, body: "" }),
      sweep: failing,
      probe: async () => ({}),
      "kms-events": failing,
    },
    onInvocation: (invocation) => invocations.push(invocation),
    log: () => undefined,
  });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

function envelope(source: string, detailType: string, detail: Record<string, unknown>) {
  return {
    version: "0",
    id: `${detailType.replace(/\W/g, "-")}-${Date.now()}`,
    "detail-type": detailType,
    source,
    account: "111122223333",
    time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    region: stack.region,
    resources: [],
    detail,
  };
}

async function runsOf(name: string, put: () => void): Promise<number> {
  invocations.length = 0;
  put();
  await stack.localAws.events.drain();
  return invocations.filter((i) => i.function === name && i.trigger === "rule").length;
}

describe("a function that throws on a rule's event", () => {
  it("the sweep (maximumRetryAttempts: 0) runs once, and the event is dead-lettered after that one", async () => {
    const runs = await runsOf("sweep", () =>
      stack.localAws.events.putServiceEvents(
        [envelope("tether", DRAIN_CONTINUED_DETAIL_TYPE, { region: stack.region })],
        stack.auditBusName,
      ),
    );
    expect(runs).toBe(1);
    const letter = stack.localAws.events
      .deadLetters()
      .find((l) => l.event["detail-type"] === DRAIN_CONTINUED_DETAIL_TYPE);
    expect(letter?.attempts).toBe(1);
  });

  it("kms-events (maximumRetryAttempts: 2) runs three times", async () => {
    const runs = await runsOf("kms-events", () =>
      stack.localAws.events.putServiceEvents([
        envelope("aws.kms", "KMS CMK Deletion", {
          "key-id": "1234abcd-12ab-34cd-56ef-1234567890ab",
        }),
      ]),
    );
    expect(runs).toBe(3);
  });
});
