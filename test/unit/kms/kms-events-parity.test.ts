/**
 * parseKmsEvent checks events by hand (no zod at the kms-events function's cold start). This test keeps the
 * zod schemas it replaced as the oracle and feeds both the fixtures with every field the parser reads
 * swapped for values of other types: they must accept and refuse the same events, and read the same signal.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { type KmsSignal, parseKmsEvent, UnusableKmsEventError } from "../../../lib/kms/kms-events.js";

const KEY_ID = /^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(?:mrk-[0-9a-f]{32}|[0-9a-f-]{36})$/;

// The schemas of lib/kms/kms-events.ts before it dropped zod (commit 7169e49), unchanged.
const envelope = z.object({
  source: z.literal("aws.kms"),
  "detail-type": z.string(),
  account: z.string().regex(/^\d{12}$/),
  region: z.string().regex(/^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/),
  resources: z.array(z.string()).default([]),
  detail: z.record(z.string(), z.unknown()),
});
const kmsOwnDetail = z.object({ "key-id": z.string().regex(KEY_ID) });
const cloudTrailDetail = z.object({
  eventSource: z.literal("kms.amazonaws.com"),
  eventName: z.string(),
  userIdentity: z
    .object({ arn: z.string().optional(), invokedBy: z.string().optional() })
    .passthrough()
    .optional(),
  requestParameters: z.object({ keyId: z.string().optional() }).passthrough().nullable().optional(),
  resources: z.array(z.object({ ARN: z.string().optional() }).passthrough()).optional(),
  serviceEventDetails: z.object({ keyId: z.string().optional() }).passthrough().optional(),
  errorCode: z.string().optional(),
  // Read since issue 13 (who deleted material, when, from where: the attribution of a loss).
  eventTime: z.string().optional(),
  sourceIPAddress: z.string().optional(),
});
const KEY_CHANGING_CALLS = new Set([
  "DisableKey",
  "EnableKey",
  "ScheduleKeyDeletion",
  "CancelKeyDeletion",
  "RotateKeyOnDemand",
  "DeleteKey",
]);

/** The zod parser as it was; "refused" where it threw UnusableKmsEventError. */
function oracle(event: unknown): KmsSignal | null | "refused" {
  const parsed = envelope.safeParse(event);
  if (!parsed.success) return "refused";
  const { region, account, resources, detail } = parsed.data;
  const detailType = parsed.data["detail-type"];
  const arnFor = (keyRef: string | undefined): string | undefined => {
    const found = [...resources, keyRef ?? ""].find((value) => KEY_ARN.test(value));
    if (found !== undefined) return found;
    if (keyRef !== undefined && KEY_ID.test(keyRef)) return `arn:aws:kms:${region}:${account}:key/${keyRef}`;
    return undefined;
  };
  const signal = (keyRef: string | undefined, rest: Record<string, string>) => {
    const keyArn = arnFor(keyRef);
    return keyArn === undefined ? "refused" : ({ ...rest, keyArn } as KmsSignal);
  };
  // Added since (issue 13): an expiry carries its time, when valid (the stale-expiry guard reads it).
  const timeOf = (value: unknown) => {
    const at = typeof value === "string" ? new Date(value) : undefined;
    return (at !== undefined && !Number.isNaN(at.getTime()) ? { at } : {}) as unknown as Record<
      string,
      string
    >;
  };
  switch (detailType) {
    case "KMS Imported Key Material Expiration": {
      const own = kmsOwnDetail.safeParse(detail);
      const at = timeOf((event as { time?: unknown }).time);
      return own.success
        ? signal(own.data["key-id"], { kind: "material-expired", region, ...at })
        : "refused";
    }
    case "KMS CMK Deletion":
    case "KMS CMK Rotation": {
      const own = kmsOwnDetail.safeParse(detail);
      return own.success
        ? signal(own.data["key-id"], { kind: "key-changed", region, what: detailType })
        : "refused";
    }
    case "AWS API Call via CloudTrail":
    case "AWS Service Event via CloudTrail": {
      const trail = cloudTrailDetail.safeParse(detail);
      if (!trail.success) return "refused";
      const { eventName, errorCode, userIdentity, requestParameters, serviceEventDetails } = trail.data;
      if (errorCode !== undefined) return null;
      const trailArn = trail.data.resources?.find((r) => r.ARN !== undefined && KEY_ARN.test(r.ARN))?.ARN;
      const keyRef = trailArn ?? requestParameters?.keyId ?? serviceEventDetails?.keyId;
      const actorArn = userIdentity?.arn ?? userIdentity?.invokedBy ?? "unknown";
      switch (eventName) {
        case "DeleteExpiredKeyMaterial":
          return signal(keyRef, { kind: "material-expired", region, ...timeOf(trail.data.eventTime) });
        case "DeleteImportedKeyMaterial": {
          const { eventTime, sourceIPAddress } = trail.data;
          const at = eventTime === undefined ? undefined : new Date(eventTime);
          return signal(keyRef, {
            kind: "material-deleted",
            region,
            actorArn,
            ...(at !== undefined && !Number.isNaN(at.getTime()) ? { at } : {}),
            ...(sourceIPAddress === undefined ? {} : { sourceIp: sourceIPAddress }),
          } as unknown as Record<string, string>);
        }
        case "ImportKeyMaterial":
          return signal(keyRef, { kind: "material-imported", region, actorArn });
        default:
          return KEY_CHANGING_CALLS.has(eventName)
            ? signal(keyRef, { kind: "key-changed", region, what: eventName })
            : null;
      }
    }
    default:
      return null;
  }
}

function actual(event: unknown): KmsSignal | null | "refused" {
  try {
    return parseKmsEvent(event);
  } catch (error) {
    if (error instanceof UnusableKmsEventError) return "refused";
    throw error;
  }
}

const FIXTURES = new URL("../../fixtures/kms-events/", import.meta.url);
const fixtures = readdirSync(FIXTURES)
  .filter((name) => name.endsWith(".json"))
  .map((name) => ({ name, event: JSON.parse(readFileSync(new URL(name, FIXTURES), "utf8")) as object }));

/** Every field the parsers read, as a path from the event. */
const PATHS = [
  ["source"],
  ["detail-type"],
  ["account"],
  ["region"],
  ["resources"],
  ["resources", 0],
  ["detail"],
  ["detail", "key-id"],
  ["detail", "eventSource"],
  ["detail", "eventName"],
  ["detail", "errorCode"],
  ["detail", "userIdentity"],
  ["detail", "userIdentity", "arn"],
  ["detail", "userIdentity", "invokedBy"],
  ["detail", "requestParameters"],
  ["detail", "requestParameters", "keyId"],
  ["detail", "resources"],
  ["detail", "resources", 0],
  ["detail", "resources", 0, "ARN"],
  ["detail", "resources", 1],
  ["detail", "serviceEventDetails"],
  ["detail", "serviceEventDetails", "keyId"],
  ["detail", "eventTime"],
  ["detail", "sourceIPAddress"],
] as const;

const VALUES: readonly unknown[] = [
  undefined,
  null,
  0,
  true,
  "",
  "x",
  [],
  ["x"],
  [1],
  [{}],
  [null],
  {},
  { ARN: 1 },
  { arn: "arn:aws:iam::210987654321:user/x" },
  { keyId: 7 },
  new Date(0),
  new Map(),
  Object.create(null),
  "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
  "mrk-0123456789abcdef0123456789abcdef",
  "arn:aws:kms:eu-west-1:210987654321:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
  "123456789012",
  "us-gov-west-1",
  "aws.kms",
  "kms.amazonaws.com",
  "KMS CMK Rotation",
  "DeleteExpiredKeyMaterial",
  "DisableKey",
];

/** A deep copy of `event` with the value at `path` replaced (undefined: the field removed). */
function withValue(event: object, path: readonly (string | number)[], value: unknown): unknown {
  const copy = structuredClone(event) as Record<string | number, unknown>;
  let target: Record<string | number, unknown> = copy;
  for (const step of path.slice(0, -1)) {
    const next = target[step];
    if (typeof next !== "object" || next === null) return copy;
    target = next as Record<string | number, unknown>;
  }
  const last = path[path.length - 1] as string | number;
  if (value === undefined) delete target[last];
  else target[last] = value;
  return copy;
}

describe("parseKmsEvent without zod", () => {
  it("reads every fixture as the zod schemas did", () => {
    for (const { name, event } of fixtures) {
      const expected = oracle(event);
      expect(expected, name).not.toBe("refused");
      expect(actual(event), name).toEqual(expected);
    }
  });

  it("accepts and refuses the same events as the zod schemas, field by field", () => {
    let refused = 0;
    let compared = 0;
    for (const { name, event } of fixtures) {
      for (const path of PATHS) {
        for (const value of VALUES) {
          const mutated = withValue(event, path, value);
          const expected = oracle(mutated);
          if (expected === "refused") refused++;
          expect(actual(mutated), `${name} ${path.join(".")} = ${JSON.stringify(value)}`).toEqual(expected);
          compared++;
        }
      }
    }
    // The mutations reach both answers, so agreement is not just both sides accepting everything.
    expect(refused).toBeGreaterThan(100);
    expect(compared - refused).toBeGreaterThan(100);
  });

  it.each([
    ["a non-object", "hello"],
    ["an array", []],
    ["null", null],
  ])("refuses %s as a whole event", (_, event) => {
    expect(oracle(event)).toBe("refused");
    expect(() => parseKmsEvent(event)).toThrow(/^not a KMS event: \(event\): expected an object$/);
  });

  it("names up to three wrong fields in the reason, never their values", () => {
    const event = {
      ...fixtures[0]?.event,
      source: "aws.s3",
      account: "me-and-my-secret",
      region: 5,
      resources: "nope",
    };
    expect(() => parseKmsEvent(event)).toThrow(
      'not a KMS event: source: expected "aws.kms"; account: has the wrong format; region: expected a string',
    );
  });
});
