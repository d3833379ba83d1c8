/**
 * The reliability model for dual control (lib/lifecycle/use-cases/approvals.ts): random sequences of approvals
 * (the requester's own, the same person twice, two sessions of one role, different admins), denials,
 * sweeps with the clock moved past a run's claim or the request's expiry, approvals racing each other and
 * the sweep, and crashes — before or after a DynamoDB write, and inside the operation before or after its
 * effect — against the real local DynamoDB (dynalite), with its conditional writes.
 *
 * The operation is a model of a revoke: an idempotent effect (the material is deleted if present, one
 * "KMS delete" counted), as the real use cases are. After every sequence, once crashes stop and a sweep
 * runs past the claims:
 * - each request's operation took effect at most once (deletes ≤ 1), and never was started on a request
 *   that did not have its quorum (the requester and repeated people never counted);
 * - a request whose stored approvals make the quorum did take effect (a crash never loses an approved
 *   operation); a denied or expired one never did;
 * - every decision that took effect has exactly one audit event in the key's history, and no other
 *   decision has one: one Operation Approved per stored approval, one Operation Denied if it is denied,
 *   one Operation Expired if it expired — a crash between the state change and the event loses none.
 * TETHER_APPROVALS_MODEL_SEED fixes the seed; TETHER_APPROVALS_MODEL_RUNS the number of sequences.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ApprovalRules,
  type OperationRequest,
  OperationState,
  parseApprovalRules,
  quorumReached,
} from "../../lib/domain/approvals.js";
import { AuditDetailType } from "../../lib/domain/audit-types.js";
import type { LifecycleDeps } from "../../lib/lifecycle/ports.js";
import {
  approve,
  deny,
  type OperationExecutor,
  RUN_CLAIM_MS,
  requestOperation,
  sweepOperations,
} from "../../lib/lifecycle/use-cases/approvals.js";
import { DynamoOperationRequests } from "../../lib/store/dynamo-operation-requests.js";
import { SimulatedCrashError } from "../support/fault-deps.js";
import { CREDENTIALS, type LifecycleTestbed, startLifecycleTestbed } from "../support/lifecycle-testbed.js";
import { SdkCrashSwitch } from "./sdk-faults.js";

const RULES: ApprovalRules = parseApprovalRules(
  JSON.stringify({
    revoke: { quorum: 3, breakGlass: true },
    unmanage: 2,
    people: { "Ops/bob-laptop": "bob" },
  }),
);
const REQUESTER = "arn:aws:iam::111122223333:user/alice";
const PEOPLE = [
  REQUESTER,
  "arn:aws:sts::111122223333:assumed-role/Ops/bob-laptop",
  "arn:aws:sts::111122223333:assumed-role/Ops/carol", // one person with every unmapped Ops session
  "arn:aws:sts::111122223333:assumed-role/Ops/dave",
  "arn:aws:iam::111122223333:user/erin",
] as const;

const SEED = Number(process.env.TETHER_APPROVALS_MODEL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.TETHER_APPROVALS_MODEL_RUNS ?? 40);

type Crash =
  | { readonly at: "dynamodb"; readonly nth: number; readonly when: "before" | "after" }
  | { readonly at: "operation"; readonly when: "before" | "after" }
  | undefined;

type Step =
  /** `sweepDuringRun`: a sweep arrives while the run this approval starts is under way. */
  | { readonly kind: "approve"; readonly by: number; readonly crash: Crash; readonly sweepDuringRun: boolean }
  | { readonly kind: "race"; readonly a: number; readonly b: number; readonly withSweep: boolean }
  | { readonly kind: "deny"; readonly by: number; readonly crash: Crash }
  | { readonly kind: "sweep"; readonly advanceMs: number; readonly crash: Crash };

const crashArb: fc.Arbitrary<Crash> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  fc.record({
    at: fc.constant("dynamodb" as const),
    nth: fc.integer({ min: 1, max: 3 }),
    when: fc.constantFrom("before" as const, "after" as const),
  }),
  fc.record({
    at: fc.constant("operation" as const),
    when: fc.constantFrom("before" as const, "after" as const),
  }),
);
const who = fc.integer({ min: 0, max: PEOPLE.length - 1 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("approve" as const),
      by: who,
      crash: crashArb,
      sweepDuringRun: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("race" as const), a: who, b: who, withSweep: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deny" as const), by: who, crash: crashArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("sweep" as const),
      advanceMs: fc.constantFrom(0, RUN_CLAIM_MS + 1000, 61 * 60_000),
      crash: crashArb,
    }),
  },
);
const scenarioArb = fc.record({
  quorum: fc.constantFrom(2, 3),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 8 }),
});

let bed: LifecycleTestbed;
let dynamodb: DynamoDBClient;
const crash = new SdkCrashSwitch();
let nowMs = Date.parse("2026-12-05T03:00:00.000Z");
let deps: LifecycleDeps;

/**
 * Per request: the model key's material and KMS deletes (the idempotent effect), every run that got past
 * its effect (`effects`, not idempotent: a second one is a second execution), runs started without the
 * quorum, runs that overlapped another, and re-runs a crash after an effect allows (the claim lapsed).
 */
interface Effect {
  present: boolean;
  deletes: number;
  effects: number;
  withoutQuorum: number;
  running: number;
  overlaps: number;
  allowedReruns: number;
}
const material = new Map<string, Effect>();
let operationCrash: "before" | "after" | undefined;
/** A sweep to run from inside the next operation run, as if it arrived meanwhile. */
let sweepDuringRun = false;
/** Set when a run got past its effect during the current attempt (a crash then allows one re-run). */
let effectInAttempt: Effect | undefined;

const execute: OperationExecutor = async (_deps, request: OperationRequest) => {
  const state = material.get(request.id);
  if (state === undefined) throw new Error(`unknown request ${request.id}`);
  if (!(request.emergency || quorumReached(request)) || request.state !== OperationState.Approved) {
    state.withoutQuorum++;
  }
  if (state.running > 0) state.overlaps++;
  state.running++;
  try {
    // A real operation awaits KMS: let racing calls interleave here.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (sweepDuringRun) {
      sweepDuringRun = false;
      await sweepOperations(deps, "during-run", execute);
    }
    if (operationCrash === "before") {
      operationCrash = undefined;
      throw new SimulatedCrashError("operation, before its effect");
    }
    if (state.present) {
      state.present = false;
      state.deletes++;
    }
    state.effects++;
    effectInAttempt = state;
    if (operationCrash === "after") {
      operationCrash = undefined;
      throw new SimulatedCrashError("operation, after its effect");
    }
  } finally {
    state.running--;
  }
};

beforeAll(async () => {
  bed = await startLifecycleTestbed();
  dynamodb = new DynamoDBClient({
    endpoint: bed.aws.endpoints.dynamodb,
    region: "eu-west-1",
    credentials: CREDENTIALS,
  });
  dynamodb.middlewareStack.add(
    (next, context) => async (args) =>
      crash.around("dynamodb", String(context.commandName).replace(/Command$/, ""), () => next(args)),
    { step: "initialize", name: "approvalsModelFaults" },
  );
  const clock = () => new Date(nowMs);
  deps = {
    ...bed.deps,
    clock,
    approvals: RULES,
    operations: new DynamoOperationRequests({ client: dynamodb, tableName: bed.config.tableName, clock }),
  };
}, 60_000);

afterAll(async () => {
  dynamodb?.destroy();
  await bed?.close();
});

/** Runs one call with the crash armed; a simulated crash (or the refusals the rules give) is an outcome. */
async function attempt(call: () => Promise<unknown>, planned: Crash): Promise<void> {
  if (planned?.at === "dynamodb")
    crash.arm({ port: "dynamodb", method: "write", nth: planned.nth, when: planned.when });
  if (planned?.at === "operation") operationCrash = planned.when;
  effectInAttempt = undefined;
  try {
    await call();
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    // A crash after the effect, before the run was recorded as done: the sweep runs it again (idempotent).
    const ran = effectInAttempt as Effect | undefined;
    if (name === "SimulatedCrashError" && ran !== undefined) ran.allowedReruns++;
    if (!["SimulatedCrashError", "StateConflictError", "VersionConflictError"].includes(name)) throw error;
  } finally {
    crash.disarm();
    operationCrash = undefined;
  }
}

let sequence = 0;

async function runScenario(scenario: Scenario) {
  sequence++;
  const reason = "model";
  const key = `model-key-${sequence}`;
  // Opening the request is not under test for crashes: the sequences start from a stored request.
  const opened = await requestOperation(
    deps,
    {
      operation: "revoke",
      keyId: key,
      input: { reason },
      requestedBy: REQUESTER,
      reason,
      quorum: scenario.quorum,
      emergency: false,
      correlationId: `seq-${sequence}`,
    },
    execute,
  );
  const id = opened.id;
  material.set(id, {
    present: true,
    deletes: 0,
    effects: 0,
    withoutQuorum: 0,
    running: 0,
    overlaps: 0,
    allowedReruns: 0,
  });
  const decide = (by: number) =>
    approve(deps, { id, actor: PEOPLE[by] as string, reason, correlationId: "m" }, execute);
  for (const step of scenario.steps) {
    if (step.kind === "approve") {
      sweepDuringRun = step.sweepDuringRun;
      await attempt(() => decide(step.by), step.crash);
      sweepDuringRun = false;
    } else if (step.kind === "deny") {
      await attempt(
        () => deny(deps, { id, actor: PEOPLE[step.by] as string, reason, correlationId: "m" }),
        step.crash,
      );
    } else if (step.kind === "race") {
      const calls = [
        decide(step.a),
        decide(step.b),
        ...(step.withSweep ? [sweepOperations(deps, "race", execute)] : []),
      ];
      for (const result of await Promise.allSettled(calls)) {
        if (result.status === "rejected") {
          const name = (result.reason as Error).name;
          if (!["StateConflictError", "VersionConflictError"].includes(name)) throw result.reason;
        }
      }
    } else {
      nowMs += step.advanceMs;
      await attempt(() => sweepOperations(deps, "sweep", execute), step.crash);
    }
  }
  // Settle: no more crashes; past every claim, the sweep finishes what a crash left.
  nowMs += RUN_CLAIM_MS + 1000;
  await sweepOperations(deps, "settle", execute);
  const stored = await deps.operations?.get(id);
  return { stored, effect: material.get(id), history: await bed.history(key) };
}

interface Scenario {
  readonly quorum: number;
  readonly steps: readonly Step[];
}

/** Runs one sequence and checks every invariant of the file's header. */
async function checkScenario(scenario: Scenario): Promise<void> {
  const { stored, effect, history } = await runScenario(scenario);
  if (stored === undefined || effect === undefined) throw new Error("the request is gone");
  expect(effect.withoutQuorum, "a run started without the quorum").toBe(0);
  expect(effect.overlaps, "two runs of one request at once").toBe(0);
  expect(effect.deletes, "the operation took effect more than once").toBeLessThanOrEqual(1);
  expect(effect.effects, "executed again without a crash in between").toBeLessThanOrEqual(
    1 + effect.allowedReruns,
  );
  const people = new Set(stored.approvals.map((a) => a.person));
  expect(people.size, "a person counted twice").toBe(stored.approvals.length);
  expect(people.has(stored.requesterPerson), "the requester counted").toBe(false);
  if (quorumReached(stored)) {
    expect(stored.state, "an approved request was not run to the end").toBe(OperationState.Executed);
    expect(effect.deletes).toBe(1);
  } else {
    expect(effect.deletes, "ran without the quorum").toBe(0);
    expect([OperationState.Pending, OperationState.Denied, OperationState.Expired]).toContain(stored.state);
  }
  const ids = history.map((e) => e.id);
  expect(new Set(ids).size, "an event recorded twice").toBe(ids.length);
  const count = (type: string) => history.filter((e) => e.detailType === type).length;
  expect(count(AuditDetailType.OperationApproved), "an approval without its event").toBe(
    stored.approvals.length,
  );
  const denied = stored.state === OperationState.Denied ? 1 : 0;
  expect(count(AuditDetailType.OperationDenied), "a denial without its event").toBe(denied);
  const expired = stored.state === OperationState.Expired ? 1 : 0;
  expect(count(AuditDetailType.OperationExpired), "an expiry without its event").toBe(expired);
  expect(stored.auditPending, "a request left waiting for its events").not.toBe(true);
}

describe("dual control under races, duplicates and crashes", () => {
  it(`runs each operation at most once and only with its quorum (seed ${SEED}, ${RUNS} sequences)`, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        await checkScenario(scenario);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  }, 120_000);

  const afterWrite = { at: "dynamodb", nth: 1, when: "after" } as const;
  it.each<[string, Scenario]>([
    [
      "an approval",
      { quorum: 3, steps: [{ kind: "approve", by: 1, crash: afterWrite, sweepDuringRun: false }] },
    ],
    [
      "the approval that makes the quorum",
      {
        quorum: 3,
        steps: [
          { kind: "approve", by: 1, crash: undefined, sweepDuringRun: false },
          { kind: "approve", by: 3, crash: afterWrite, sweepDuringRun: false },
        ],
      },
    ],
    ["a denial", { quorum: 2, steps: [{ kind: "deny", by: 1, crash: afterWrite }] }],
    ["an expiry", { quorum: 2, steps: [{ kind: "sweep", advanceMs: 61 * 60_000, crash: afterWrite }] }],
  ])("keeps the audit event of %s when a crash follows its state change", async (_, scenario) => {
    await checkScenario(scenario);
  });

  it("keeps a request's Operation Requested event and its alert when a crash follows the write that stores it", async () => {
    sequence++;
    const key = `model-key-${sequence}`;
    const open = () =>
      requestOperation(
        deps,
        {
          operation: "revoke",
          keyId: key,
          input: { reason: "model" },
          requestedBy: REQUESTER,
          reason: "model",
          quorum: 2,
          emergency: false,
          correlationId: `seq-${sequence}`,
        },
        execute,
      );
    crash.arm({ port: "dynamodb", method: "write", nth: 1, when: "after" });
    await expect(open()).rejects.toThrow(SimulatedCrashError);
    crash.disarm();
    const listed = await deps.operations?.list({ limit: 100 });
    const stored = listed?.items.find((request) => request.keyId === key);
    expect(stored?.auditPending, "the crash left the request marked").toBe(true);
    await sweepOperations(deps, "sweep", execute);
    const history = await bed.history(key);
    const count = (type: string) => history.filter((e) => e.detailType === type).length;
    expect(count(AuditDetailType.OperationRequested)).toBe(1);
    expect(count(AuditDetailType.TetherAlert)).toBe(1);
    expect((await deps.operations?.get(stored?.id ?? ""))?.auditPending).not.toBe(true);
  });
});
