import { describe, expect, it } from "vitest";
import {
  type ApprovalRules,
  approveOperation,
  countedApprovers,
  DEFAULT_APPROVAL_RULES,
  denyOperation,
  isExpired,
  isOverdueUnconfirmed,
  mayStartRun,
  OperationState,
  openOperationRequest,
  parseApprovalRules,
  personOf,
  policyWeakenings,
} from "../../../lib/domain/approvals.js";
import { StateConflictError, ValidationError } from "../../../lib/domain/errors.js";
import {
  type ImportPolicy,
  type ImportPolicyInput,
  parseImportPolicy,
} from "../../../lib/domain/import-policy.js";

const NOW = new Date("2026-12-05T03:00:00.000Z");
const HOUR = 3_600_000;
const ALICE = "arn:aws:sts::111122223333:assumed-role/TetherOps/alice";
const ALICE_PHONE = "arn:aws:sts::111122223333:assumed-role/TetherOps/alice-phone";
const BOB = "arn:aws:sts::111122223333:assumed-role/TetherOps/bob";
const CAROL = "arn:aws:iam::111122223333:user/carol";
const DAVE = "arn:aws:iam::111122223333:user/dave";

const TWO: ApprovalRules = parseApprovalRules(
  JSON.stringify({ revoke: { quorum: 2, breakGlass: true }, unmanage: 3, "policy-weaken": 2 }),
);

function request(rules: ApprovalRules = TWO, by = CAROL, quorum = 2, emergency = false) {
  return openOperationRequest(
    {
      id: "op-1",
      operation: "revoke",
      keyId: "tk_01J00000000000000000000000",
      input: { reason: "compromised" },
      requestedBy: by,
      reason: "compromised",
      quorum,
      emergency,
    },
    rules,
    NOW,
  );
}

const at = (ms: number) => new Date(NOW.getTime() + ms);

describe("parseApprovalRules", () => {
  it("defaults to one person for everything (today's behaviour)", () => {
    expect(parseApprovalRules(undefined)).toBe(DEFAULT_APPROVAL_RULES);
    expect(parseApprovalRules("  ")).toBe(DEFAULT_APPROVAL_RULES);
    for (const rule of Object.values(DEFAULT_APPROVAL_RULES.operations)) expect(rule.quorum).toBe(1);
    expect(DEFAULT_APPROVAL_RULES.requestTtlMs).toBe(HOUR);
  });

  it("reads quorums as numbers or objects, durations and the session map", () => {
    const rules = parseApprovalRules(
      JSON.stringify({
        revoke: { quorum: 2, breakGlass: true },
        swap: 2,
        pause: 1,
        requestTtl: "PT2H",
        confirmWithin: "PT30M",
        people: { "TetherOps/alice": "alice", "TetherOps/alice-phone": "alice" },
      }),
    );
    expect(rules.operations.revoke).toEqual({ quorum: 2, breakGlass: true });
    expect(rules.operations.swap).toEqual({ quorum: 2, breakGlass: false });
    expect(rules.operations.unmanage.quorum).toBe(1);
    expect(rules.requestTtlMs).toBe(2 * HOUR);
    expect(rules.confirmWithinMs).toBe(HOUR / 2);
  });

  it.each([
    ["not json", "{", "approvals"],
    ["an array", "[]", "approvals"],
    ["an unknown operation", '{"delete":2}', "approvals.delete"],
    ["a quorum of 0", '{"revoke":0}', "approvals.revoke.quorum"],
    ["a quorum of 6", '{"revoke":6}', "approvals.revoke.quorum"],
    ["a fractional quorum", '{"revoke":1.5}', "approvals.revoke.quorum"],
    [
      "break-glass on another operation",
      '{"swap":{"quorum":2,"breakGlass":true}}',
      "approvals.swap.breakGlass",
    ],
    ["break-glass with quorum 1", '{"revoke":{"quorum":1,"breakGlass":true}}', "approvals.revoke.breakGlass"],
    ["an unknown rule field", '{"revoke":{"quorum":2,"who":1}}', "approvals.revoke.who"],
    ["a TTL under 5 minutes", '{"requestTtl":"PT1M"}', "approvals.requestTtl"],
    ["a TTL over 7 days", '{"requestTtl":"P8D"}', "approvals.requestTtl"],
    ["a person map that is not role/session", '{"people":{"alice":"alice"}}', "approvals.people.alice"],
  ])("refuses %s, naming the field", (_what, text, field) => {
    let error: unknown;
    try {
      parseApprovalRules(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
  });
});

describe("personOf", () => {
  it("counts every session of a role as the role, unless the deployment maps the session", () => {
    expect(personOf(ALICE)).toBe("arn:aws:iam::111122223333:role/TetherOps");
    expect(personOf(BOB)).toBe(personOf(ALICE));
    const people = { "TetherOps/alice": "alice", "TetherOps/alice-phone": "alice", "TetherOps/bob": "bob" };
    expect(personOf(ALICE, people)).toBe("person:alice");
    expect(personOf(ALICE_PHONE, people)).toBe("person:alice");
    expect(personOf(BOB, people)).toBe("person:bob");
    expect(personOf(CAROL, people)).toBe(CAROL);
  });
});

describe("quorum counting", () => {
  it("does not count the requester's own approval", () => {
    expect(() => approveOperation(request(), { by: CAROL, reason: "me", at: NOW }, TWO)).toThrow(
      StateConflictError,
    );
  });

  it("counts the same person once", () => {
    const three = request(TWO, CAROL, 3);
    const once = approveOperation(three, { by: DAVE, reason: "ok", at: NOW }, TWO);
    expect(() => approveOperation(once, { by: DAVE, reason: "again", at: NOW }, TWO)).toThrow(
      /already approved/,
    );
    expect(countedApprovers(once)).toBe(1);
    expect(once.state).toBe(OperationState.Pending);
  });

  it("counts two sessions of one role as one person without a mapping, as two with one", () => {
    const three = request(TWO, CAROL, 3);
    const first = approveOperation(three, { by: ALICE, reason: "ok", at: NOW }, TWO);
    expect(() => approveOperation(first, { by: BOB, reason: "ok", at: NOW }, TWO)).toThrow(
      StateConflictError,
    );
    const mapped = parseApprovalRules(
      JSON.stringify({ people: { "TetherOps/alice": "alice", "TetherOps/bob": "bob" } }),
    );
    const m1 = approveOperation(
      { ...three, requesterPerson: personOf(CAROL) },
      { by: ALICE, reason: "ok", at: NOW },
      mapped,
    );
    const m2 = approveOperation(m1, { by: BOB, reason: "ok", at: NOW }, mapped);
    expect(m2.state).toBe(OperationState.Approved);
  });

  it("a requester's other session is still the requester", () => {
    const byAlice = request(TWO, ALICE);
    expect(() => approveOperation(byAlice, { by: BOB, reason: "ok", at: NOW }, TWO)).toThrow(/own approval/);
  });

  it("reaches the quorum with requester + approvers and becomes approved", () => {
    const approved = approveOperation(request(), { by: DAVE, reason: "ok", at: NOW }, TWO);
    expect(approved.state).toBe(OperationState.Approved);
    expect(mayStartRun(approved, NOW)).toBe(true);
    expect(() => approveOperation(approved, { by: BOB, reason: "late", at: NOW }, TWO)).toThrow(
      /is approved/,
    );
  });

  it("refuses an empty reason", () => {
    expect(() => approveOperation(request(), { by: DAVE, reason: " ", at: NOW }, TWO)).toThrow(
      ValidationError,
    );
  });
});

describe("expiry, denial, break-glass", () => {
  it("expires after the request TTL; an expired request takes no approval", () => {
    const r = request();
    expect(r.expiresAt).toEqual(at(HOUR));
    expect(isExpired(r, at(HOUR - 1))).toBe(false);
    expect(isExpired(r, at(HOUR))).toBe(true);
    expect(() => approveOperation(r, { by: DAVE, reason: "ok", at: at(HOUR) }, TWO)).toThrow(/expired/);
  });

  it("a denied request never runs", () => {
    const denied = denyOperation(request(), { by: DAVE, reason: "no", at: NOW }, TWO);
    expect(denied.state).toBe(OperationState.Denied);
    expect(mayStartRun(denied, NOW)).toBe(false);
    expect(() => approveOperation(denied, { by: BOB, reason: "ok", at: NOW }, TWO)).toThrow(
      StateConflictError,
    );
  });

  it("an emergency runs at once where allowed, and is confirmed by another person", () => {
    const e = request(TWO, CAROL, 2, true);
    expect(e.state).toBe(OperationState.Approved);
    expect(mayStartRun(e, NOW)).toBe(true);
    const ran = { ...e, state: OperationState.Unconfirmed };
    expect(isOverdueUnconfirmed(ran, at(HOUR))).toBe(true);
    expect(() => denyOperation(ran, { by: DAVE, reason: "no", at: NOW }, TWO)).toThrow(/cannot be denied/);
    expect(() => approveOperation(ran, { by: CAROL, reason: "me", at: NOW }, TWO)).toThrow(/own approval/);
    expect(approveOperation(ran, { by: DAVE, reason: "saw it", at: at(2 * HOUR) }, TWO).state).toBe(
      OperationState.Confirmed,
    );
  });

  it("refuses an emergency where the rules allow none", () => {
    expect(() => request(DEFAULT_APPROVAL_RULES, CAROL, 1, true)).toThrow(/break-glass/);
  });

  it("a run claimed by someone else may start only after its claim lapsed", () => {
    const claimed = { ...request(TWO, CAROL, 2, true), claimedUntil: at(1000) };
    expect(mayStartRun(claimed, NOW)).toBe(false);
    expect(mayStartRun(claimed, at(1000))).toBe(true);
  });
});

describe("policyWeakenings", () => {
  const base: ImportPolicyInput = {
    validityPeriod: "P30D",
    renewBefore: "P7D",
    restoreAfterLoss: true,
    restoreAfterOutOfBandDelete: false,
    rotateEvery: "P90D",
  };
  const policy = (change: Partial<Record<keyof ImportPolicyInput, unknown>> = {}): ImportPolicy => {
    const input: Record<string, unknown> = { ...base, ...change };
    for (const [k, v] of Object.entries(input)) if (v === undefined) delete input[k];
    return parseImportPolicy(input);
  };

  it.each<
    [
      string,
      Partial<Record<keyof ImportPolicyInput, unknown>>,
      Partial<Record<keyof ImportPolicyInput, unknown>>,
      string[],
    ]
  >([
    ["no change", {}, {}, []],
    ["restoreAfterLoss off", {}, { restoreAfterLoss: false }, ["restore-after-loss-off"]],
    ["restoreAfterLoss on (stronger)", { restoreAfterLoss: false }, {}, []],
    ["out-of-band restores on", {}, { restoreAfterOutOfBandDelete: true }, ["out-of-band-restore-on"]],
    ["out-of-band restores off", { restoreAfterOutOfBandDelete: true }, {}, []],
    [
      "expiry removed",
      {},
      { expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", validityPeriod: undefined, renewBefore: undefined },
      ["expiry-removed"],
    ],
    ["longer validity", {}, { validityPeriod: "P60D" }, ["validity-lengthened"]],
    ["shorter validity", {}, { validityPeriod: "P14D", renewBefore: "P3D" }, []],
    [
      "fixed ValidTo later",
      { validityPeriod: undefined, validTo: "2027-06-01T00:00:00Z" },
      { validityPeriod: undefined, validTo: "2027-09-01T00:00:00Z" },
      ["validity-lengthened"],
    ],
    [
      "fixed ValidTo given up for a period",
      { validityPeriod: undefined, validTo: "2027-06-01T00:00:00Z" },
      {},
      ["validity-lengthened"],
    ],
    ["rotation schedule ended", {}, { rotateEvery: undefined }, ["rotation-ended"]],
    ["rotation slowed", {}, { rotateEvery: "P180D" }, ["rotation-slowed"]],
    ["rotation sped up", {}, { rotateEvery: "P30D" }, []],
    ["rotation schedule added", { rotateEvery: undefined }, {}, []],
    [
      "priority, reconcile interval, grace, wrapping",
      {},
      {
        priority: "low",
        reconcileInterval: "PT12H",
        attributionGrace: "PT1H",
        wrappingAlgorithm: "RSAES_OAEP_SHA_1",
      },
      [],
    ],
    ["a longer renew window (renews earlier)", {}, { renewBefore: "P10D" }, []],
    [
      "several at once",
      {},
      { restoreAfterLoss: false, restoreAfterOutOfBandDelete: true, rotateEvery: undefined },
      ["restore-after-loss-off", "out-of-band-restore-on", "rotation-ended"],
    ],
  ])("%s", (_what, before, after, expected) => {
    expect(policyWeakenings(policy(before), policy(after))).toEqual(expected);
  });

  it("flags a renew window as long as the validity (a hand-built policy the parser would refuse)", () => {
    const before = policy();
    const after = { ...before, renewBeforeMs: 30 * 24 * HOUR } as ImportPolicy;
    expect(policyWeakenings(before, after)).toEqual(["renew-window-past-validity"]);
  });
});
