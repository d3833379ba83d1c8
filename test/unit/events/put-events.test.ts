import { describe, expect, it } from "vitest";
import { SerializationError, ValidationError } from "../../../infra/local/events/errors.js";
import { type EntryOutcome, evaluatePutEvents } from "../../../infra/local/events/put-events.js";

const context = {
  accountId: "111122223333",
  region: "eu-west-1",
  now: new Date("2026-11-28T12:34:56.789Z"),
  newEventId: () => "00000000-0000-4000-8000-000000000001",
};

function accepted(outcome: EntryOutcome | undefined) {
  if (!outcome?.accepted) throw new Error(`expected an accepted entry, got ${JSON.stringify(outcome)}`);
  return outcome;
}

const good = { Source: "com.tether", DetailType: "Thing", Detail: '{"a":1}' };

describe("evaluatePutEvents", () => {
  it("stamps the time of the call, to the second, when Time is absent", () => {
    const [outcome] = evaluatePutEvents({ Entries: [good] }, context);
    expect(accepted(outcome).event.time).toBe("2026-11-28T12:34:56Z");
  });

  it("reads Time as epoch seconds", () => {
    const [outcome] = evaluatePutEvents({ Entries: [{ ...good, Time: 1_767_225_600.5 }] }, context);
    expect(accepted(outcome).event.time).toBe("2026-01-01T00:00:00Z");
  });

  it("sends entries without EventBusName to the default bus", () => {
    expect(accepted(evaluatePutEvents({ Entries: [good] }, context)[0]).eventBusName).toBe("default");
  });

  it("resolves a bus ARN of this account and region to the bus name", () => {
    const arn = "arn:aws:events:eu-west-1:111122223333:event-bus/audit";
    expect(
      accepted(evaluatePutEvents({ Entries: [{ ...good, EventBusName: arn }] }, context)[0]).eventBusName,
    ).toBe("audit");
  });

  it("keeps a bus ARN of another account whole, so it names no local bus", () => {
    const arn = "arn:aws:events:eu-west-1:999999999999:event-bus/audit";
    expect(
      accepted(evaluatePutEvents({ Entries: [{ ...good, EventBusName: arn }] }, context)[0]).eventBusName,
    ).toBe(arn);
  });

  it.each([
    ["no body object", [], SerializationError, /JSON object/],
    ["no Entries", {}, ValidationError, /Member must not be null/],
    ["empty Entries", { Entries: [] }, ValidationError, /greater than or equal to 1/],
    ["Entries not an array", { Entries: "x" }, SerializationError, /array/],
    [
      "Source not a string",
      { Entries: [{ ...good, Source: 1 }] },
      SerializationError,
      /Source must be a string/,
    ],
    ["Time as text", { Entries: [{ ...good, Time: "2026-01-01" }] }, SerializationError, /epoch seconds/],
    ["Resources not strings", { Entries: [{ ...good, Resources: [1] }] }, SerializationError, /Resources/],
    ["empty EventBusName", { Entries: [{ ...good, EventBusName: "" }] }, ValidationError, /length greater/],
  ])("refuses the whole request with %s", (_what, body, type, message) => {
    expect(() => evaluatePutEvents(body, context)).toThrow(type);
    expect(() => evaluatePutEvents(body, context)).toThrow(message);
  });

  it("counts Time as 14 bytes toward the 256 KB total, as AWS documents", () => {
    // Source + DetailType + Detail = 262_130 bytes: under the limit alone, over it with Time's 14 bytes.
    const detail = `{"p":"${"x".repeat(262_130 - 1 - 5 - 8)}"}`;
    const entry = { Source: "s", DetailType: "dt123", Detail: detail };
    expect(Buffer.byteLength(detail) + 1 + 5).toBe(262_130);
    expect(evaluatePutEvents({ Entries: [entry] }, context)).toHaveLength(1);
    expect(() => evaluatePutEvents({ Entries: [{ ...entry, Time: 0 }] }, context)).toThrow(
      "Total size of the entries in the request is over the limit.",
    );
  });

  it("refuses aws.* sources per entry and keeps the rest", () => {
    const outcomes = evaluatePutEvents({ Entries: [{ ...good, Source: "aws.kms" }, good] }, context);
    expect(outcomes[0]).toEqual({
      accepted: false,
      errorCode: "NotAuthorizedForSourceException",
      errorMessage: "Not authorized for the source.",
    });
    expect(outcomes[1]?.accepted).toBe(true);
  });
});
