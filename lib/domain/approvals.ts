/**
 * Dual control (split knowledge and dual control: PCI DSS, ISO 27001): which operator actions need more
 * than one person, who counts as a person, what "weakening a policy" means, and how an operation request
 * moves from asked to approved, denied, expired or executed. Pure: no clock, no I/O; times come in.
 *
 * A quorum of N means N different people: the requester and N − 1 approvers. The defaults (1 for every
 * operation) keep single-admin behaviour: nothing waits until a deployment asks for it.
 */
import { DAY_MS, formatDuration, HOUR_MS, MINUTE_MS, parseDuration } from "./duration.js";
import { StateConflictError, ValidationError } from "./errors.js";
import type { ImportPolicy } from "./import-policy.js";
import { ExpirationModel } from "./kms-constants.js";

/** The operations dual control can hold back. */
export const OperationKind = {
  Revoke: "revoke",
  Unmanage: "unmanage",
  /** A rotation by key swap (new keys, the alias moved); in-key rotation is not held back. */
  Swap: "swap",
  Pause: "pause",
  /** A policy change that {@link policyWeakenings} finds weaker (see there). */
  PolicyWeaken: "policy-weaken",
} as const;
export type OperationKind = (typeof OperationKind)[keyof typeof OperationKind];
export const OPERATION_KINDS: readonly OperationKind[] = Object.values(OperationKind);

export interface ApprovalRule {
  /** People needed, the requester included: 1 = no approval. */
  readonly quorum: number;
  /** Revoke only: an admin may run it at once as an emergency, confirmed afterwards by another. */
  readonly breakGlass: boolean;
}

export interface ApprovalRules {
  readonly operations: Readonly<Record<OperationKind, ApprovalRule>>;
  /** How long a request waits for its approvals (default PT1H). */
  readonly requestTtlMs: number;
  /** How long an emergency revoke may stay unconfirmed before every sweep reports it (default PT1H). */
  readonly confirmWithinMs: number;
  /**
   * `<role name>/<session name>` → person. Without an entry, every session of an IAM role is one person
   * (the role): a session name is chosen by whoever assumes the role, so it proves nothing by itself.
   */
  readonly people: Readonly<Record<string, string>>;
}

export const QUORUM_LIMITS = { min: 1, max: 5 } as const;
export const REQUEST_TTL_LIMITS = { minMs: 5 * MINUTE_MS, maxMs: 7 * DAY_MS, defaultMs: HOUR_MS } as const;

const SINGLE: ApprovalRule = { quorum: 1, breakGlass: false };

/** Today's behaviour: one admin does everything. */
export const DEFAULT_APPROVAL_RULES: ApprovalRules = {
  operations: Object.fromEntries(OPERATION_KINDS.map((k) => [k, SINGLE])) as Record<
    OperationKind,
    ApprovalRule
  >,
  requestTtlMs: REQUEST_TTL_LIMITS.defaultMs,
  confirmWithinMs: REQUEST_TTL_LIMITS.defaultMs,
  people: {},
};

const PERSON = /^[\w.@+-]{1,64}$/;
const SESSION_KEY = /^[\w+=,.@-]{1,64}\/[\w+=,.@-]{2,64}$/;

/**
 * The deployment's rules from their JSON form (serverless.yml's `approvals` parameter, TETHER_APPROVALS):
 * `{"revoke": {"quorum": 2, "breakGlass": true}, "unmanage": 2, "swap": 2, "policy-weaken": 2, "pause": 1,
 * "requestTtl": "PT1H", "confirmWithin": "PT1H", "people": {"TetherOps/alice-laptop": "alice"}}`. Every
 * field is optional; empty text is the defaults.
 * @throws ValidationError naming the field (`approvals.<field>`)
 */
export function parseApprovalRules(text: string | undefined): ApprovalRules {
  if (text === undefined || text.trim() === "") return DEFAULT_APPROVAL_RULES;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ValidationError("approvals", "is not JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ValidationError("approvals", "must be a JSON object");
  }
  const input = raw as Record<string, unknown>;
  const known = new Set<string>([...OPERATION_KINDS, "requestTtl", "confirmWithin", "people"]);
  for (const name of Object.keys(input)) {
    if (!known.has(name))
      throw new ValidationError(`approvals.${name}`, `is not one of ${[...known].join(", ")}`);
  }
  const operations = Object.fromEntries(
    OPERATION_KINDS.map((kind) => [kind, parseRule(kind, input[kind])]),
  ) as Record<OperationKind, ApprovalRule>;
  return {
    operations,
    requestTtlMs: boundedDuration(input.requestTtl, "requestTtl"),
    confirmWithinMs: boundedDuration(input.confirmWithin, "confirmWithin"),
    people: parsePeople(input.people),
  };
}

function parseRule(kind: OperationKind, value: unknown): ApprovalRule {
  const field = `approvals.${kind}`;
  if (value === undefined) return SINGLE;
  const object =
    typeof value === "number"
      ? { quorum: value }
      : typeof value === "object" && value !== null
        ? value
        : null;
  if (object === null || Array.isArray(object)) {
    throw new ValidationError(field, "must be a quorum (a number) or {quorum, breakGlass}");
  }
  const { quorum, breakGlass = false, ...rest } = object as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw new ValidationError(`${field}.${extra}`, "is not quorum or breakGlass");
  if (
    !Number.isInteger(quorum) ||
    (quorum as number) < QUORUM_LIMITS.min ||
    (quorum as number) > QUORUM_LIMITS.max
  ) {
    throw new ValidationError(
      `${field}.quorum`,
      `must be an integer from ${QUORUM_LIMITS.min} to ${QUORUM_LIMITS.max}`,
    );
  }
  if (typeof breakGlass !== "boolean")
    throw new ValidationError(`${field}.breakGlass`, "must be true or false");
  if (breakGlass && kind !== OperationKind.Revoke) {
    throw new ValidationError(`${field}.breakGlass`, "only a revoke (the kill switch) may break glass");
  }
  if (breakGlass && quorum === 1) {
    throw new ValidationError(
      `${field}.breakGlass`,
      "needs a quorum of 2 or more (with 1 a revoke runs at once anyway)",
    );
  }
  return { quorum: quorum as number, breakGlass };
}

function boundedDuration(value: unknown, name: string): number {
  const field = `approvals.${name}`;
  if (value === undefined) return REQUEST_TTL_LIMITS.defaultMs;
  const ms = parseDuration(value, field);
  if (ms < REQUEST_TTL_LIMITS.minMs || ms > REQUEST_TTL_LIMITS.maxMs) {
    throw new ValidationError(
      field,
      `must be from ${formatDuration(REQUEST_TTL_LIMITS.minMs)} to ${formatDuration(REQUEST_TTL_LIMITS.maxMs)}`,
    );
  }
  return ms;
}

function parsePeople(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError("approvals.people", "must map <role name>/<session name> to a person");
  }
  const people: Record<string, string> = {};
  for (const [session, person] of Object.entries(value)) {
    if (!SESSION_KEY.test(session)) {
      throw new ValidationError(`approvals.people.${session}`, "is not <role name>/<session name>");
    }
    if (typeof person !== "string" || !PERSON.test(person)) {
      throw new ValidationError(
        `approvals.people.${session}`,
        "must be a person's name (1 to 64 of A-Z a-z 0-9 _ . @ + -)",
      );
    }
    people[session] = person;
  }
  return people;
}

const ASSUMED_ROLE = /^arn:(aws(?:-[a-z]+)*):sts::(\d{12}):assumed-role\/([^/]+)\/([^/]+)$/;

/**
 * Who a caller is for counting: a mapped session's person; else every session of an IAM role is the role
 * (one person); an IAM user (or anything else) is its ARN.
 */
export function personOf(principalArn: string, people: Readonly<Record<string, string>> = {}): string {
  const match = ASSUMED_ROLE.exec(principalArn);
  if (match === null) return principalArn;
  const [, partition, account, role, session] = match;
  const person = people[`${role}/${session}`];
  if (person !== undefined) return `person:${person}`;
  return `arn:${partition}:iam::${account}:role/${role}`;
}

/**
 * How a policy change weakens the key's protection, one code per weakening (empty: not a weakening):
 * - `restore-after-loss-off`: restoreAfterLoss true → false (keys stay gone after an expiry or a
 *   regional loss);
 * - `out-of-band-restore-on`: restoreAfterOutOfBandDelete false → true (someone's deliberate delete
 *   outside Tether is undone automatically);
 * - `expiry-removed`: KEY_MATERIAL_EXPIRES → KEY_MATERIAL_DOES_NOT_EXPIRE (no dead man's switch left);
 * - `validity-lengthened`: material lives longer after Tether stops renewing it (a longer period, a later
 *   fixed ValidTo, or a fixed ValidTo given up for a period);
 * - `renew-window-past-validity`: renewBefore as long as the validity or longer (every run renews: the
 *   material never nears its end; parseImportPolicy refuses it, so this guards hand-built policies);
 * - `rotation-ended`: a rotation schedule removed; `rotation-slowed`: rotateEvery lengthened.
 * Not weakenings: priority, wrapping, reconcile interval, attribution grace, rotation method, a shorter
 * validity, a rotation schedule added or shortened, and the opposite of each change above.
 */
export function policyWeakenings(before: ImportPolicy, after: ImportPolicy): string[] {
  const found: string[] = [];
  if (before.restoreAfterLoss && !after.restoreAfterLoss) found.push("restore-after-loss-off");
  if (!before.restoreAfterOutOfBandDelete && after.restoreAfterOutOfBandDelete)
    found.push("out-of-band-restore-on");
  const expiring = ExpirationModel.KEY_MATERIAL_EXPIRES;
  if (before.expirationModel === expiring && after.expirationModel !== expiring) found.push("expiry-removed");
  if (before.expirationModel === expiring && after.expirationModel === expiring) {
    const was = before.validity;
    const is = after.validity;
    const longer =
      (was.kind === "period" && is.kind === "period" && is.periodMs > was.periodMs) ||
      (was.kind === "fixed" && is.kind === "fixed" && is.validTo.getTime() > was.validTo.getTime()) ||
      (was.kind === "fixed" && is.kind === "period");
    if (longer) found.push("validity-lengthened");
  }
  if (
    after.expirationModel === expiring &&
    after.validity.kind === "period" &&
    after.renewBeforeMs >= after.validity.periodMs
  ) {
    found.push("renew-window-past-validity");
  }
  if (before.rotateEveryMs !== undefined && after.rotateEveryMs === undefined) found.push("rotation-ended");
  if (
    before.rotateEveryMs !== undefined &&
    after.rotateEveryMs !== undefined &&
    after.rotateEveryMs > before.rotateEveryMs
  ) {
    found.push("rotation-slowed");
  }
  return found;
}

/** Where a request stands. `unconfirmed` / `confirmed`: an emergency revoke, run at once. */
export const OperationState = {
  Pending: "pending",
  /** The quorum is reached; the operation runs (or a crash left it to the sweep to finish). */
  Approved: "approved",
  Executed: "executed",
  /** Ran and was refused (the key was gone, its state forbade it): never retried. */
  Failed: "failed",
  Denied: "denied",
  Expired: "expired",
  Unconfirmed: "unconfirmed",
  Confirmed: "confirmed",
} as const;
export type OperationState = (typeof OperationState)[keyof typeof OperationState];

export interface Approval {
  /** The caller's principal ARN. */
  readonly by: string;
  /** Who that is for counting ({@link personOf}). */
  readonly person: string;
  readonly at: Date;
  readonly reason: string;
}

/** An operation that waits for (or ran with) other people's approval. */
export interface OperationRequest extends NewOperationRequest {
  readonly requesterPerson: string;
  readonly createdAt: Date;
  /** Pending until then; for an emergency revoke, when an unconfirmed one starts being reported. */
  readonly expiresAt: Date;
  readonly state: OperationState;
  readonly approvals: readonly Approval[];
  readonly denial?: Approval | undefined;
  /** When the operation started running (fixed at the first start, so a resumed run audits the same). */
  readonly executionStartedAt?: Date | undefined;
  /** A run in progress holds the request until then; after it, the sweep may finish a crashed run. */
  readonly claimedUntil?: Date | undefined;
  readonly finishedAt?: Date | undefined;
  /** Failed: the error class, never its message. */
  readonly errorName?: string | undefined;
  /**
   * Set by the write that stores the request or makes a decision (approval, denial, expiry), in that same
   * write, until its audit events are recorded: a crash in between leaves it set, and the sweep records
   * the events again (fixed ids and times, so the same facts) and clears it.
   */
  readonly auditPending?: boolean | undefined;
  /** Optimistic concurrency: every write is conditional on it. */
  readonly version: number;
}

/** What a new request is made of (openOperationRequest); a stored one adds its state (OperationRequest). */
export interface NewOperationRequest {
  readonly id: string;
  readonly operation: OperationKind;
  /** The Tether key id. */
  readonly keyId: string;
  readonly keyArn?: string | undefined;
  /** What to run: the original request's fields (reason, policy patch, paused); JSON, no secrets. */
  readonly input: Readonly<Record<string, unknown>>;
  /** Policy weakenings found (policy-weaken only). */
  readonly weakenings?: readonly string[] | undefined;
  readonly requestedBy: string;
  readonly reason: string;
  readonly quorum: number;
  readonly emergency: boolean;
}

/**
 * A new request: pending for the deployment's request TTL, or (emergency) approved at once, to be
 * confirmed within the confirmation window.
 * @throws ValidationError when the reason is empty, or an emergency is asked where the rules allow none
 */
export function openOperationRequest(
  input: NewOperationRequest,
  rules: ApprovalRules,
  now: Date,
): OperationRequest {
  if (input.reason.trim() === "") throw new ValidationError("reason", "must say why");
  if (input.emergency && !(input.operation === OperationKind.Revoke && rules.operations.revoke.breakGlass)) {
    throw new ValidationError(
      "emergency",
      "this deployment allows no break-glass revoke (approvals.revoke.breakGlass)",
    );
  }
  const window = input.emergency ? rules.confirmWithinMs : rules.requestTtlMs;
  return {
    ...input,
    requesterPerson: personOf(input.requestedBy, rules.people),
    createdAt: now,
    expiresAt: new Date(now.getTime() + window),
    state: input.emergency ? OperationState.Approved : OperationState.Pending,
    approvals: [],
    version: 0,
  };
}

/** The different people who approved, the requester never among them. */
export function countedApprovers(request: OperationRequest): number {
  const people = new Set(request.approvals.map((a) => a.person));
  people.delete(request.requesterPerson);
  return people.size;
}

/** Whether the approvals make the quorum (requester + approvers). */
export function quorumReached(request: OperationRequest): boolean {
  return 1 + countedApprovers(request) >= request.quorum;
}

export interface Decision {
  readonly by: string;
  readonly reason: string;
  readonly at: Date;
}

/**
 * Adds an approval. A pending request reaching its quorum becomes approved (to run); an unconfirmed
 * emergency revoke becomes confirmed.
 * @throws StateConflictError (field `approver`) for the requester's own approval or a second one from the
 *   same person; (field `state`) when the request is not pending or unconfirmed, or has expired
 */
export function approveOperation(
  request: OperationRequest,
  decision: Decision,
  rules: ApprovalRules,
): OperationRequest {
  assertOpen(request, decision.at, [OperationState.Pending, OperationState.Unconfirmed]);
  const approval = approvalOf(decision, rules);
  if (approval.person === request.requesterPerson) {
    throw conflict(
      request,
      "approver",
      "The requester's own approval does not count; another admin must approve.",
    );
  }
  if (request.approvals.some((a) => a.person === approval.person)) {
    throw conflict(request, "approver", "This person already approved; another admin must approve.");
  }
  const approvals = [...request.approvals, approval];
  if (request.state === OperationState.Unconfirmed) {
    return { ...request, approvals, state: OperationState.Confirmed };
  }
  const next = { ...request, approvals };
  return quorumReached(next) ? { ...next, state: OperationState.Approved } : next;
}

/**
 * Denies a pending request (it will never run). The requester may withdraw their own request this way.
 * @throws StateConflictError (field `state`) unless pending and not expired
 */
export function denyOperation(
  request: OperationRequest,
  decision: Decision,
  rules: ApprovalRules,
): OperationRequest {
  if (request.emergency) {
    throw conflict(
      request,
      "state",
      "An emergency revoke has run and cannot be denied; restore the key to undo it.",
    );
  }
  assertOpen(request, decision.at, [OperationState.Pending]);
  return { ...request, state: OperationState.Denied, denial: approvalOf(decision, rules) };
}

/** Whether the sweep closes this pending request as expired at `now`. */
export function isExpired(request: OperationRequest, now: Date): boolean {
  return request.state === OperationState.Pending && now.getTime() >= request.expiresAt.getTime();
}

/** Whether an emergency revoke is past its confirmation window, unconfirmed (reported every sweep). */
export function isOverdueUnconfirmed(request: OperationRequest, now: Date): boolean {
  return request.state === OperationState.Unconfirmed && now.getTime() >= request.expiresAt.getTime();
}

/**
 * Whether a run may start (or take over a crashed one) now: approved, and either never started or its
 * claim has lapsed.
 */
export function mayStartRun(request: OperationRequest, now: Date): boolean {
  if (request.state !== OperationState.Approved) return false;
  return request.claimedUntil === undefined || request.claimedUntil.getTime() <= now.getTime();
}

/** Where a finished run leaves the request. */
export function finishedState(request: OperationRequest, failed: boolean): OperationState {
  if (failed) return OperationState.Failed;
  return request.emergency ? OperationState.Unconfirmed : OperationState.Executed;
}

function approvalOf(decision: Decision, rules: ApprovalRules): Approval {
  if (decision.reason.trim() === "") throw new ValidationError("reason", "must say why");
  return {
    by: decision.by,
    person: personOf(decision.by, rules.people),
    at: decision.at,
    reason: decision.reason,
  };
}

function assertOpen(request: OperationRequest, now: Date, states: readonly OperationState[]): void {
  if (request.state === OperationState.Pending && now.getTime() >= request.expiresAt.getTime()) {
    throw conflict(
      request,
      "state",
      `Operation request ${request.id} expired at ${request.expiresAt.toISOString()}.`,
    );
  }
  if (!states.includes(request.state)) {
    throw conflict(
      request,
      "state",
      `Operation request ${request.id} is ${request.state}, not ${states.join(" or ")}.`,
    );
  }
}

function conflict(request: OperationRequest, field: string, message: string): StateConflictError {
  return new StateConflictError(message, { keyId: request.keyId, state: request.state, field });
}
