import { describe, expect, it } from "vitest";
import {
  type AgentPolicy,
  AgentRefusal,
  type AgentRequest,
  agentHealth,
  agentHealthTransition,
  agentRequestText,
  agentWrappingsText,
  answerFits,
  checkAgentRequest,
  liveAgentWrappings,
  parseAgentAnswer,
  parseAgentRequest,
  parseAgentWrappings,
  underPrefix,
} from "../../../lib/domain/agent-protocol.js";
import { KeySpec } from "../../../lib/domain/kms-constants.js";
import { allowedWrappings } from "../../../lib/domain/wrapping.js";

const NOW = new Date("2026-12-05T03:00:00.000Z");
const ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

const policy: AgentPolicy = {
  deployments: ["tether"],
  materialPrefixes: ["payments", "orders/"],
  accounts: ["111122223333"],
  regions: ["eu-west-1", "eu-central-1"],
  maxLifetimeMs: 15 * 60_000,
  clockSkewMs: 60_000,
};

function wrapRequest(overrides: Partial<Record<keyof AgentRequest, unknown>> = {}): AgentRequest {
  return {
    v: 1,
    id: "req-1",
    op: "wrap",
    deployment: "tether",
    materialRef: "payments/k1",
    issuedAt: "2026-12-05T02:59:00.000Z",
    expiresAt: "2026-12-05T03:04:00.000Z",
    keyArn: ARN,
    region: "eu-west-1",
    keySpec: "SYMMETRIC_DEFAULT",
    wrappingPublicKey: "AAAA",
    wrappingAlgorithm: "RSAES_OAEP_SHA_256",
    answerKey: "BBBB",
    ...overrides,
  } as AgentRequest;
}

function check(request: AgentRequest | string, extra: { signatureValid?: boolean; seen?: string[] } = {}) {
  const text = typeof request === "string" ? request : agentRequestText(request);
  return checkAgentRequest({
    text,
    signatureValid: extra.signatureValid ?? true,
    seen: (id) => (extra.seen ?? []).includes(id),
    now: NOW,
    policy,
  });
}

describe("the agent's request rules", () => {
  it("accepts a signed, fresh, allowed request", () => {
    const result = check(wrapRequest());
    expect(result.ok).toBe(true);
  });

  it("serialises a request in a fixed order that parses back to the same request, never an import token", () => {
    const text = agentRequestText(wrapRequest());
    expect(Object.keys(JSON.parse(text))).toEqual([
      "v",
      "id",
      "op",
      "deployment",
      "materialRef",
      "issuedAt",
      "expiresAt",
      "keyArn",
      "region",
      "keySpec",
      "wrappingPublicKey",
      "wrappingAlgorithm",
      "answerKey",
    ]);
    expect(parseAgentRequest(text)).toEqual(wrapRequest());
    expect(() => parseAgentRequest(JSON.stringify({ ...wrapRequest(), importToken: "x" }))).toThrow(
      /importToken: not a field/,
    );
  });

  const refusals: [
    string,
    AgentRequest | string,
    { signatureValid?: boolean; seen?: string[] },
    AgentRefusal,
  ][] = [
    ["forged (signature does not verify)", wrapRequest(), { signatureValid: false }, AgentRefusal.Forged],
    ["not JSON", "{", {}, AgentRefusal.Malformed],
    ["unknown version", wrapRequest({ v: 2 }), {}, AgentRefusal.Malformed],
    ["wrap without a key ARN", wrapRequest({ keyArn: undefined }), {}, AgentRefusal.Malformed],
    ["wrap without an answer key", wrapRequest({ answerKey: undefined }), {}, AgentRefusal.Malformed],
    ["replayed", wrapRequest(), { seen: ["req-1"] }, AgentRefusal.Replayed],
    ["expired", wrapRequest({ expiresAt: "2026-12-05T03:00:00.000Z" }), {}, AgentRefusal.Expired],
    [
      "issued in the future beyond the skew",
      wrapRequest({ issuedAt: "2026-12-05T03:01:01.000Z", expiresAt: "2026-12-05T03:05:00.000Z" }),
      {},
      AgentRefusal.NotYetValid,
    ],
    [
      "valid for too long",
      wrapRequest({ issuedAt: "2026-12-05T02:59:00.000Z", expiresAt: "2026-12-05T04:00:00.000Z" }),
      {},
      AgentRefusal.TooLongLived,
    ],
    ["another deployment", wrapRequest({ deployment: "other" }), {}, AgentRefusal.WrongDeployment],
    [
      "material outside the prefixes",
      wrapRequest({ materialRef: "hr/k1" }),
      {},
      AgentRefusal.MaterialNotAllowed,
    ],
    [
      "a prefix is a path, not a string prefix",
      wrapRequest({ materialRef: "payments-old/k1" }),
      {},
      AgentRefusal.MaterialNotAllowed,
    ],
    [
      "an account not allowed",
      wrapRequest({ keyArn: ARN.replace("111122223333", "999999999999") }),
      {},
      AgentRefusal.KeyNotAllowed,
    ],
    [
      "a Region not allowed",
      wrapRequest({ keyArn: ARN.replace("eu-west-1", "us-east-1"), region: "us-east-1" }),
      {},
      AgentRefusal.KeyNotAllowed,
    ],
    ["a Region that is not the ARN's", wrapRequest({ region: "eu-central-1" }), {}, AgentRefusal.Malformed],
    ["an alias instead of a key ARN", wrapRequest({ keyArn: "alias/x" }), {}, AgentRefusal.Malformed],
  ];
  it.each(refusals)("refuses a request %s", (_name, request, extra, refusal) => {
    const result = check(request, extra);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.refusal).toBe(refusal);
  });

  it("serves a check value request without a key, under a prefix given with its slash", () => {
    const request = { ...wrapRequest({ op: "checkValue", materialRef: "orders/o1" }) };
    for (const f of ["keyArn", "region", "keySpec", "wrappingPublicKey", "wrappingAlgorithm", "answerKey"]) {
      delete (request as Record<string, unknown>)[f];
    }
    expect(check(request).ok).toBe(true);
    expect(underPrefix("orders", "orders/")).toBe(true);
    expect(underPrefix("ordersx/a", "orders")).toBe(false);
  });
});

describe("agent answers", () => {
  it("reads each kind, and refuses what is not one", () => {
    expect(parseAgentAnswer({ op: "wrap", sealed: "s", checkValue: "c" })).toEqual({
      op: "wrap",
      sealed: "s",
      checkValue: "c",
    });
    expect(parseAgentAnswer({ op: "has", has: false })).toEqual({ op: "has", has: false });
    expect(parseAgentAnswer({ op: "describe" })).toEqual({ op: "describe" });
    expect(() => parseAgentAnswer({ op: "wrap", checkValue: "c" })).toThrow(/answer.sealed/);
    expect(() => parseAgentAnswer({ op: "error", code: "Nope", message: "m" })).toThrow(/answer.code/);
    expect(() => parseAgentAnswer({ op: "steal" })).toThrow(/answer.op/);
    expect(answerFits({ op: "wrap" }, { op: "has", has: true })).toBe(false);
    expect(answerFits({ op: "wrap" }, { op: "error", code: "Refused", message: "m" })).toBe(true);
  });
});

describe("agent health", () => {
  const beat = (name: string, secondsAgo: number) => ({
    name,
    principal: "arn:aws:iam::111122223333:role/agent",
    lastSeen: new Date(NOW.getTime() - secondsAgo * 1000),
  });
  const table: [string, ReturnType<typeof beat>[], number | undefined, string][] = [
    ["never seen", [], undefined, "down"],
    ["seen too long ago", [beat("a", 121)], undefined, "down"],
    ["one of two up", [beat("a", 500), beat("b", 5)], undefined, "healthy"],
    ["up but a request waited too long", [beat("a", 5)], 61, "behind"],
    ["up, a request waiting briefly", [beat("a", 5)], 10, "healthy"],
  ];
  it.each(table)("%s", (_name, beats, waited, state) => {
    const pending = waited === undefined ? undefined : new Date(NOW.getTime() - waited * 1000);
    expect(agentHealth(beats, pending, NOW).state).toBe(state);
  });

  it("alerts on entering down or behind, notes recovery, and is quiet otherwise", () => {
    expect(agentHealthTransition("healthy", "down")).toBe("alert");
    expect(agentHealthTransition(undefined, "down")).toBe("alert");
    expect(agentHealthTransition("down", "down")).toBeUndefined();
    expect(agentHealthTransition("down", "healthy")).toBe("recovered");
    expect(agentHealthTransition(undefined, "healthy")).toBeUndefined();
  });
});

describe("the wrappings an agent reports", () => {
  const oaepSha1 = allowedWrappings("SYMMETRIC_DEFAULT").filter(
    (c) => c.wrappingAlgorithm === "RSAES_OAEP_SHA_1",
  );

  it("round-trip through the compact text, short enough for a query string", () => {
    const all = Object.fromEntries(
      (["SYMMETRIC_DEFAULT", "RSA_4096", "ECC_NIST_P521", "HMAC_256"] as const).map((k) => [
        k,
        allowedWrappings(k),
      ]),
    );
    const text = agentWrappingsText(all);
    expect(parseAgentWrappings(text)).toEqual(all);
    expect(text).toContain("SYMMETRIC_DEFAULT=RSAES_OAEP_SHA_256:RSA_4096+RSA_3072+RSA_2048");
    expect(text.length).toBeLessThan(1000);
    // Every key spec, every wrapping KMS accepts (a deferred file vault reports that): within the API's 4000.
    const everything = Object.fromEntries(Object.values(KeySpec).map((k) => [k, allowedWrappings(k)]));
    expect(encodeURIComponent(agentWrappingsText(everything)).length).toBeLessThan(4000);
    // A key spec reported with nothing: the backend cannot wrap it at all.
    expect(parseAgentWrappings("RSA_2048=")).toEqual({ RSA_2048: [] });
  });

  it("refuses what is not a key spec, algorithm or wrapping key spec, naming the field; drops pairs KMS refuses", () => {
    expect(() => parseAgentWrappings("AES_256=RSAES_OAEP_SHA_1:RSA_2048")).toThrow(/wrappings.*AES_256/);
    expect(() => parseAgentWrappings("SYMMETRIC_DEFAULT=RSAES_PKCS1_V1_5:RSA_2048")).toThrow(
      /wrappings.*PKCS1/,
    );
    expect(() => parseAgentWrappings("SYMMETRIC_DEFAULT=RSAES_OAEP_SHA_1:RSA_1024")).toThrow(
      /wrappings.*RSA_1024/,
    );
    // RSA_AES_KEY_WRAP is documented for RSA and ECC material only.
    expect(parseAgentWrappings("SYMMETRIC_DEFAULT=RSA_AES_KEY_WRAP_SHA_256:RSA_4096")).toEqual({
      SYMMETRIC_DEFAULT: [],
    });
  });

  it("live agents: the intersection over the agents up now; none up or none limited → no limit", () => {
    const up = (name: string, wrappings?: ReturnType<typeof parseAgentWrappings>) => ({
      name,
      principal: "p",
      lastSeen: new Date(NOW.getTime() - 10_000),
      ...(wrappings === undefined ? {} : { wrappings }),
    });
    const hsm = up("hsm", { SYMMETRIC_DEFAULT: oaepSha1 });
    expect(liveAgentWrappings([], "SYMMETRIC_DEFAULT", NOW)).toBeUndefined();
    expect(liveAgentWrappings([up("file")], "SYMMETRIC_DEFAULT", NOW)).toBeUndefined();
    expect(liveAgentWrappings([up("file"), hsm], "SYMMETRIC_DEFAULT", NOW)).toEqual(oaepSha1);
    // Only RSA_2048 on the second agent: the intersection is OAEP-SHA-1 with RSA_2048.
    const narrow = up("narrow", {
      SYMMETRIC_DEFAULT: oaepSha1.filter((c) => c.wrappingKeySpec === "RSA_2048"),
    });
    expect(liveAgentWrappings([hsm, narrow], "SYMMETRIC_DEFAULT", NOW)).toEqual([
      { wrappingAlgorithm: "RSAES_OAEP_SHA_1", wrappingKeySpec: "RSA_2048" },
    ]);
    // A key spec the agent did not list: it can wrap none of it.
    expect(liveAgentWrappings([hsm], "HMAC_256", NOW)).toEqual([]);
    // An agent down (not seen for over 2 minutes) limits nothing.
    const down = { ...narrow, lastSeen: new Date(NOW.getTime() - 10 * 60_000) };
    expect(liveAgentWrappings([hsm, down], "SYMMETRIC_DEFAULT", NOW)).toEqual(oaepSha1);
  });
});
