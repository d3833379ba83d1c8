import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { EventBusCore } from "../../../infra/local/events/bus.js";
import type { EventEnvelope } from "../../../infra/local/events/envelope.js";
import { parseServerlessDefinition } from "../../../infra/local/runner/serverless-definition.js";

/**
 * Lambda's retries of an asynchronous event (a rule's or a schedule's) are the function's own setting,
 * MaximumRetryAttempts 0 to 2, default 2 (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html):
 * the local runner reads it from serverless.yml and the local bus gives a function target just that many.
 */
const SERVERLESS_YML = readFileSync(
  fileURLToPath(new URL("../../../serverless.yml", import.meta.url)),
  "utf8",
);
const VARIABLES = {
  stage: "local",
  region: "eu-west-1",
  accountId: "111122223333",
  params: { adminPrincipals: "x", readerPrincipals: "x", vault: "file", vaultSettings: "/tmp" },
};

const MINIMAL = (extra: string) =>
  `service: t\nprovider:\n  name: aws\nfunctions:\n  f:\n    handler: functions/f.handler\n${extra}`;

describe("serverless.yml's maximumRetryAttempts, read by the local runner", () => {
  it("takes each function's setting from the deployment's own file", () => {
    const retries = Object.fromEntries(
      parseServerlessDefinition(SERVERLESS_YML, VARIABLES).functions.map((fn) => [
        fn.name,
        fn.asyncRetryAttempts,
      ]),
    );
    expect(retries).toMatchObject({ sweep: 0, probe: 0, "kms-events": 2 });
  });

  it("is Lambda's default, 2, where the file sets none", () => {
    const [fn] = parseServerlessDefinition(MINIMAL(""), VARIABLES).functions;
    expect(fn?.asyncRetryAttempts).toBe(2);
  });

  it.each(["3", "-1", "1.5", "many"])("refuses %s, naming the field", (value) => {
    expect(() =>
      parseServerlessDefinition(MINIMAL(`    maximumRetryAttempts: ${value}\n`), VARIABLES),
    ).toThrow("functions.f.maximumRetryAttempts");
  });
});

function envelope(): EventEnvelope {
  return {
    version: "0",
    id: `e-${Math.random()}`,
    "detail-type": "Something",
    source: "tether",
    account: "111122223333",
    time: "2026-12-05T00:00:00Z",
    region: "eu-west-1",
    resources: [],
    detail: {},
  };
}

/** A bus whose targets without a setting of their own get 3 attempts, 1 ms apart at first. */
function newBus(): EventBusCore {
  return new EventBusCore({
    accountId: "111122223333",
    region: "eu-west-1",
    historyLimit: 100,
    maxAttempts: 3,
    retryDelayMs: 1,
    logger: () => undefined,
  });
}

describe("the local bus, a function target that throws", () => {
  const failing = async (retryAttempts: number | undefined) => {
    const bus = newBus();
    let runs = 0;
    bus.putRule({
      name: "r",
      eventPattern: { source: ["tether"] },
      targets: [
        {
          id: "fn",
          kind: "function",
          ...(retryAttempts === undefined ? {} : { retryAttempts }),
          invoke: async () => {
            runs++;
            throw new Error("boom");
          },
        },
      ],
    });
    bus.accept("default", [envelope()]);
    await bus.drain();
    return { runs, deadLetters: bus.deadLetters() };
  };

  it.each([
    [0, 1],
    [1, 2],
    [2, 3],
  ])("with retryAttempts %i runs %i times, then dead-letters the event", async (retries, runs) => {
    const outcome = await failing(retries);
    expect(outcome.runs).toBe(runs);
    expect(outcome.deadLetters).toHaveLength(1);
    expect(outcome.deadLetters[0]?.attempts).toBe(runs);
  });

  it("without a setting of its own takes the bus's maxAttempts", async () => {
    expect((await failing(undefined)).runs).toBe(3);
  });

  it("refuses a retryAttempts that is not a whole number, 0 or more", () => {
    const bus = newBus();
    expect(() =>
      bus.putRule({
        name: "r",
        eventPattern: { source: ["tether"] },
        targets: [{ id: "fn", kind: "function", retryAttempts: -1, invoke: async () => undefined }],
      }),
    ).toThrow("retryAttempts");
  });
});
