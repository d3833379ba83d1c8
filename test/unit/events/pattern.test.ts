import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { InvalidEventPatternError } from "../../../infra/local/events/errors.js";
import { compileEventPattern, matchesEventPattern } from "../../../infra/local/events/pattern.js";

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../fixtures/kms-events/${name}`, import.meta.url), "utf8"));

const expirationEvent = fixture("key-material-expiration.json");
const deleteImportedEvent = fixture("cloudtrail-delete-imported-key-material.json");
const importEvent = fixture("cloudtrail-import-key-material.json");
const expiredServiceEvent = fixture("service-event-delete-expired-key-material.json");
const rotationEvent = fixture("key-rotation-on-demand.json");

/** An EventBridge envelope with the given detail (and optional overrides of the top-level fields). */
function envelope(
  detail: Record<string, unknown>,
  top: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    version: "0",
    id: "11111111-2222-4333-8444-555555555555",
    "detail-type": "Thing Happened",
    source: "com.example.app",
    account: "111122223333",
    time: "2026-11-28T12:00:00Z",
    region: "eu-west-1",
    resources: ["arn:aws:kms:eu-west-1:111122223333:key/abc"],
    detail,
    ...top,
  };
}

type Case = readonly [
  description: string,
  pattern: Record<string, unknown>,
  event: unknown,
  expected: boolean,
];

function table(cases: readonly Case[]): void {
  it.each(cases)("%s", (_description, pattern, event, expected) => {
    expect(matchesEventPattern(pattern, event)).toBe(expected);
  });
}

describe("compileEventPattern / matches", () => {
  describe("exact values", () => {
    table([
      ["string equal", { source: ["com.example.app"] }, envelope({}), true],
      ["string differs", { source: ["com.example.other"] }, envelope({}), false],
      ["array of values is OR", { source: ["x", "com.example.app"] }, envelope({}), true],
      ["case-sensitive", { source: ["COM.EXAMPLE.APP"] }, envelope({}), false],
      ["number equal", { detail: { n: [5] } }, envelope({ n: 5 }), true],
      ["number vs string is no match", { detail: { n: [5] } }, envelope({ n: "5" }), false],
      ["string vs number is no match", { detail: { n: ["5"] } }, envelope({ n: 5 }), false],
      ["boolean true", { detail: { ok: [true] } }, envelope({ ok: true }), true],
      ["boolean false vs true", { detail: { ok: [false] } }, envelope({ ok: true }), false],
      ["null matches null", { detail: { r: [null] } }, envelope({ r: null }), true],
      ["null does not match empty string", { detail: { r: [null] } }, envelope({ r: "" }), false],
      ["empty string matches empty string", { detail: { r: [""] } }, envelope({ r: "" }), true],
      ["empty string does not match null", { detail: { r: [""] } }, envelope({ r: null }), false],
      ["missing field does not match", { detail: { missing: ["x"] } }, envelope({}), false],
      [
        "all fields must match (AND)",
        { source: ["com.example.app"], "detail-type": ["Other"] },
        envelope({}),
        false,
      ],
      [
        "pattern value against an object does not match",
        { detail: { o: ["x"] } },
        envelope({ o: { a: "x" } }),
        false,
      ],
    ]);
  });

  describe("nested fields", () => {
    table([
      ["two levels deep", { detail: { a: { b: ["c"] } } }, envelope({ a: { b: "c" } }), true],
      ["two levels deep, wrong value", { detail: { a: { b: ["c"] } } }, envelope({ a: { b: "d" } }), false],
      ["intermediate is a scalar", { detail: { a: { b: ["c"] } } }, envelope({ a: "c" }), false],
      ["intermediate missing", { detail: { a: { b: ["c"] } } }, envelope({}), false],
      [
        "detail.userIdentity.arn of the CloudTrail fixture",
        { detail: { userIdentity: { arn: ["arn:aws:sts::210987654321:assumed-role/BreakGlass/someone"] } } },
        deleteImportedEvent,
        true,
      ],
    ]);
  });

  describe("arrays in the event", () => {
    table([
      [
        "any element matches",
        { resources: ["arn:b"] },
        envelope({}, { resources: ["arn:a", "arn:b"] }),
        true,
      ],
      [
        "no element matches",
        { resources: ["arn:c"] },
        envelope({}, { resources: ["arn:a", "arn:b"] }),
        false,
      ],
      ["empty array never matches a value", { resources: ["arn:a"] }, envelope({}, { resources: [] }), false],
      ["prefix on an element", { resources: [{ prefix: "arn:aws:kms:" }] }, envelope({}), true],
      [
        "objects in an array: one element satisfies the nested pattern",
        { detail: { items: { k: ["a"], v: [1] } } },
        envelope({
          items: [
            { k: "b", v: 1 },
            { k: "a", v: 1 },
          ],
        }),
        true,
      ],
      [
        "objects in an array: fields must match within the same element",
        { detail: { items: { k: ["a"], v: [1] } } },
        envelope({
          items: [
            { k: "a", v: 2 },
            { k: "b", v: 1 },
          ],
        }),
        false,
      ],
      [
        "CloudTrail detail.resources[].ARN",
        { detail: { resources: { type: ["AWS::KMS::Key"] } } },
        deleteImportedEvent,
        true,
      ],
    ]);
  });

  describe("prefix and suffix", () => {
    table([
      ["prefix matches", { time: [{ prefix: "2026-11-28" }] }, envelope({}), true],
      ["prefix does not match", { time: [{ prefix: "2025" }] }, envelope({}), false],
      ["prefix is case-sensitive", { source: [{ prefix: "COM." }] }, envelope({}), false],
      ["prefix ignore case", { source: [{ prefix: { "equals-ignore-case": "COM." } }] }, envelope({}), true],
      ["prefix on a number never matches", { detail: { n: [{ prefix: "1" }] } }, envelope({ n: 12 }), false],
      ["suffix matches", { detail: { f: [{ suffix: ".png" }] } }, envelope({ f: "a.png" }), true],
      ["suffix does not match", { detail: { f: [{ suffix: ".png" }] } }, envelope({ f: "a.PNG" }), false],
      [
        "suffix ignore case",
        { detail: { f: [{ suffix: { "equals-ignore-case": ".png" } }] } },
        envelope({ f: "a.PNG" }),
        true,
      ],
    ]);
  });

  describe("equals-ignore-case", () => {
    table([
      [
        "matches other casing",
        { detail: { n: [{ "equals-ignore-case": "alice" }] } },
        envelope({ n: "ALICE" }),
        true,
      ],
      [
        "different text",
        { detail: { n: [{ "equals-ignore-case": "alice" }] } },
        envelope({ n: "alicia" }),
        false,
      ],
      [
        "never matches a number",
        { detail: { n: [{ "equals-ignore-case": "1" }] } },
        envelope({ n: 1 }),
        false,
      ],
    ]);
  });

  describe("anything-but", () => {
    table([
      [
        "single value, other value",
        { detail: { s: [{ "anything-but": "init" }] } },
        envelope({ s: "running" }),
        true,
      ],
      [
        "single value, same value",
        { detail: { s: [{ "anything-but": "init" }] } },
        envelope({ s: "init" }),
        false,
      ],
      ["list of values", { detail: { s: [{ "anything-but": ["a", "b"] }] } }, envelope({ s: "b" }), false],
      [
        "list of values, outside",
        { detail: { s: [{ "anything-but": ["a", "b"] }] } },
        envelope({ s: "c" }),
        true,
      ],
      ["numbers", { detail: { n: [{ "anything-but": [1, 2] }] } }, envelope({ n: 3 }), true],
      ["numbers, excluded", { detail: { n: [{ "anything-but": 2 }] } }, envelope({ n: 2 }), false],
      ["missing field does not match", { detail: { s: [{ "anything-but": "x" }] } }, envelope({}), false],
      [
        "prefix: not starting with",
        { detail: { s: [{ "anything-but": { prefix: "us-" } }] } },
        envelope({ s: "eu-west-1" }),
        true,
      ],
      [
        "prefix: starting with",
        { detail: { s: [{ "anything-but": { prefix: "us-" } }] } },
        envelope({ s: "us-east-1" }),
        false,
      ],
      [
        "suffix",
        { detail: { s: [{ "anything-but": { suffix: ".png" } }] } },
        envelope({ s: "a.png" }),
        false,
      ],
      [
        "equals-ignore-case",
        { detail: { s: [{ "anything-but": { "equals-ignore-case": ["INIT", "stop"] } }] } },
        envelope({ s: "Init" }),
        false,
      ],
      [
        "wildcard",
        { detail: { p: [{ "anything-but": { wildcard: "*/lib/*" } }] } },
        envelope({ p: "/a/lib/b" }),
        false,
      ],
      [
        "wildcard, outside",
        { detail: { p: [{ "anything-but": { wildcard: "*/lib/*" } }] } },
        envelope({ p: "/a/src/b" }),
        true,
      ],
    ]);
  });

  describe("numeric", () => {
    const range = { detail: { c: [{ numeric: [">", 0, "<=", 5] }] } };
    table([
      ["inside range", range, envelope({ c: 5 }), true],
      ["lower bound excluded", range, envelope({ c: 0 }), false],
      ["above range", range, envelope({ c: 5.5 }), false],
      ["string is not a number", range, envelope({ c: "3" }), false],
      ["equals", { detail: { c: [{ numeric: ["=", 3.5] }] } }, envelope({ c: 3.5 }), true],
      ["less than", { detail: { c: [{ numeric: ["<", 10] }] } }, envelope({ c: -1 }), true],
      [">= bound", { detail: { c: [{ numeric: [">=", 10] }] } }, envelope({ c: 10 }), true],
      ["any array element in range", range, envelope({ c: [9, 3] }), true],
    ]);
  });

  describe("exists", () => {
    table([
      ["exists true, present", { detail: { a: [{ exists: true }] } }, envelope({ a: "x" }), true],
      [
        "exists true, null counts as present",
        { detail: { a: [{ exists: true }] } },
        envelope({ a: null }),
        true,
      ],
      ["exists true, absent", { detail: { a: [{ exists: true }] } }, envelope({}), false],
      ["exists false, absent", { detail: { a: [{ exists: false }] } }, envelope({}), true],
      ["exists false, present", { detail: { a: [{ exists: false }] } }, envelope({ a: 1 }), false],
      [
        "exists true on an object (not a leaf)",
        { detail: { a: [{ exists: true }] } },
        envelope({ a: { b: 1 } }),
        false,
      ],
      ["exists false, whole path absent", { detail: { a: { b: [{ exists: false }] } } }, envelope({}), true],
      ["exists false inside an absent detail", { detail: { a: [{ exists: false }] } }, { source: "x" }, true],
    ]);
  });

  describe("wildcard", () => {
    table([
      [
        "star matches a run",
        { detail: { f: [{ wildcard: "dir/*.png" }] } },
        envelope({ f: "dir/a/b.png" }),
        true,
      ],
      ["star matches nothing too", { detail: { f: [{ wildcard: "a*b" }] } }, envelope({ f: "ab" }), true],
      ["whole value must match", { detail: { f: [{ wildcard: "a*b" }] } }, envelope({ f: "abc" }), false],
      ["escaped star is literal", { detail: { f: [{ wildcard: "a\\*b" }] } }, envelope({ f: "a*b" }), true],
      [
        "escaped star does not match others",
        { detail: { f: [{ wildcard: "a\\*b" }] } },
        envelope({ f: "axb" }),
        false,
      ],
      [
        "regex characters are literal",
        { detail: { f: [{ wildcard: "a.c*" }] } },
        envelope({ f: "abc" }),
        false,
      ],
    ]);
  });

  describe("cidr", () => {
    table([
      ["IPv4 inside", { detail: { ip: [{ cidr: "10.0.0.0/24" }] } }, envelope({ ip: "10.0.0.255" }), true],
      ["IPv4 outside", { detail: { ip: [{ cidr: "10.0.0.0/24" }] } }, envelope({ ip: "10.0.1.0" }), false],
      ["not an address", { detail: { ip: [{ cidr: "10.0.0.0/24" }] } }, envelope({ ip: "nope" }), false],
      ["IPv6 inside", { detail: { ip: [{ cidr: "2001:db8::/32" }] } }, envelope({ ip: "2001:db8::1" }), true],
    ]);
  });

  describe("$or", () => {
    const pattern = {
      source: ["com.example.app"],
      $or: [{ "detail-type": ["A"] }, { detail: { level: [{ numeric: [">", 3] }] } }],
    };
    table([
      ["first branch", pattern, envelope({ level: 1 }, { "detail-type": "A" }), true],
      ["second branch", pattern, envelope({ level: 4 }), true],
      ["neither branch", pattern, envelope({ level: 1 }), false],
      [
        "branches match, but the AND part does not",
        pattern,
        envelope({ level: 4 }, { source: "other" }),
        false,
      ],
      [
        "$or nested inside detail",
        { detail: { $or: [{ a: ["1"] }, { b: ["2"] }] } },
        envelope({ b: "2" }),
        true,
      ],
    ]);
  });

  describe("KMS fixtures", () => {
    const expiryRule = { source: ["aws.kms"], "detail-type": ["KMS Imported Key Material Expiration"] };
    const deletionRule = {
      source: ["aws.kms"],
      "detail-type": ["AWS API Call via CloudTrail"],
      detail: { eventSource: ["kms.amazonaws.com"], eventName: ["DeleteImportedKeyMaterial"] },
    };
    const notTetherRule = {
      ...deletionRule,
      detail: {
        ...deletionRule.detail,
        userIdentity: {
          arn: [{ "anything-but": { prefix: "arn:aws:sts::210987654321:assumed-role/tether-" } }],
        },
      },
    };
    const deletionByTether = structuredClone(deleteImportedEvent) as {
      detail: { userIdentity: { arn: string } };
    };
    deletionByTether.detail.userIdentity.arn = "arn:aws:sts::210987654321:assumed-role/tether-prod-revoke/x";

    table([
      ["expiry rule matches the expiry event", expiryRule, expirationEvent, true],
      ["expiry rule ignores the rotation event", expiryRule, rotationEvent, false],
      ["expiry rule ignores CloudTrail calls", expiryRule, deleteImportedEvent, false],
      ["deletion rule matches DeleteImportedKeyMaterial", deletionRule, deleteImportedEvent, true],
      ["deletion rule ignores ImportKeyMaterial", deletionRule, importEvent, false],
      [
        "deletion rule ignores the service event (other detail-type)",
        deletionRule,
        expiredServiceEvent,
        false,
      ],
      ["anything-but prefix lets a break-glass deletion through", notTetherRule, deleteImportedEvent, true],
      ["anything-but prefix filters out Tether's own deletion", notTetherRule, deletionByTether, false],
      [
        "the expiry event key id in resources",
        { resources: [{ suffix: "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b" }] },
        expirationEvent,
        true,
      ],
    ]);
  });

  it("accepts the pattern as JSON text", () => {
    const compiled = compileEventPattern('{"source":["aws.kms"]}');
    expect(compiled.matches(expirationEvent)).toBe(true);
    expect(compiled.matches(envelope({}))).toBe(false);
  });

  it("does not match something that is not an object", () => {
    const compiled = compileEventPattern({ detail: { a: [{ exists: false }] } });
    expect(compiled.matches("not an event")).toBe(true); // only exists:false can hold on nothing
    expect(compileEventPattern({ source: ["x"] }).matches(null)).toBe(false);
  });
});

describe("invalid patterns", () => {
  const cases: ReadonlyArray<readonly [string, unknown, RegExp]> = [
    ["not JSON", "{source:", /Filter is not valid JSON/],
    ["not an object", "[1]", /Filter is not an object/],
    ["an array value at top level", ["x"], /Filter is not an object/],
    ["empty", {}, /Filter is empty/],
    ["scalar field value", { source: "aws.kms" }, /"source" must be an object or an array/],
    ["empty array", { source: [] }, /Empty arrays are not allowed/],
    ["nested array value", { source: [["x"]] }, /Match value must be String, number, true, false, or null/],
    ["two keys in a match expression", { source: [{ prefix: "a", suffix: "b" }] }, /Only one key allowed/],
    ["unknown operator", { source: [{ contains: "a" }] }, /Unrecognized match type contains/],
    ["prefix not a string", { source: [{ prefix: 1 }] }, /prefix match pattern must be a string/],
    ["equals-ignore-case not a string", { source: [{ "equals-ignore-case": 1 }] }, /must be a string/],
    [
      "exists not a boolean",
      { source: [{ exists: "yes" }] },
      /exists match pattern must be either true or false/,
    ],
    ["numeric not an array", { n: [{ numeric: 5 }] }, /Value of numeric must be an array/],
    ["numeric empty", { n: [{ numeric: [] }] }, /Invalid member in numeric match/],
    ["numeric bad operator", { n: [{ numeric: ["!=", 5] }] }, /Unrecognized numeric range operator: !=/],
    ["numeric value missing", { n: [{ numeric: [">"] }] }, /Value of > must be numeric/],
    ["numeric value not a number", { n: [{ numeric: ["=", "5"] }] }, /Value of equals must be numeric/],
    ["numeric upper bound first", { n: [{ numeric: ["<", 5, ">", 1] }] }, /Too many elements/],
    ["numeric range upside down", { n: [{ numeric: [">", 5, "<", 1] }] }, /Bottom must be less than top/],
    ["numeric bad second operator", { n: [{ numeric: [">", 1, ">", 5] }] }, /Bad numeric range operator: >/],
    ["numeric too many terms", { n: [{ numeric: [">", 1, "<", 5, "<", 6] }] }, /Too many terms/],
    [
      "anything-but null",
      { s: [{ "anything-but": null }] },
      /Value of anything-but must be an array or single/,
    ],
    ["anything-but mixed list", { s: [{ "anything-but": ["a", 1] }] }, /Inside anything but list/],
    [
      "anything-but unknown inner",
      { s: [{ "anything-but": { numeric: [">", 1] } }] },
      /Unsupported anything-but/,
    ],
    [
      "anything-but empty prefix",
      { s: [{ "anything-but": { prefix: "" } }] },
      /Null prefix\/suffix not allowed/,
    ],
    ["wildcard consecutive stars", { s: [{ wildcard: "a**b" }] }, /Consecutive wildcard characters at pos 2/],
    ["wildcard not a string", { s: [{ wildcard: 1 }] }, /wildcard match pattern must be a string/],
    ["cidr without mask", { ip: [{ cidr: "10.0.0.0" }] }, /Malformed CIDR, one '\/' required/],
    ["cidr bad mask", { ip: [{ cidr: "10.0.0.0/x" }] }, /mask bits must be an integer/],
    ["cidr bad address", { ip: [{ cidr: "10.0.0/8" }] }, /Nonstandard IP address/],
    ["$or not an array", { $or: { a: ["1"] } }, /"\$or" must be an array of at least two/],
    ["$or with one member", { $or: [{ a: ["1"] }] }, /"\$or" must be an array of at least two/],
    [
      "$or member empty",
      { $or: [{ a: ["1"] }, {}] },
      /each "\$or" member must be a non-empty pattern object/,
    ],
  ];

  it.each(cases)("rejects %s", (_description, pattern, message) => {
    let caught: unknown;
    try {
      compileEventPattern(pattern);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidEventPatternError);
    const error = caught as InvalidEventPatternError;
    expect(error.code).toBe("InvalidEventPatternException");
    expect(error.message).toMatch(/^Event pattern is not valid\. Reason: /);
    expect(error.message).toMatch(message);
  });
});
