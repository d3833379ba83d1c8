/**
 * Dual control's use cases: open an operation request, approve, deny, run an approved one exactly once,
 * and the sweep's part (close expired requests, finish a run a crash interrupted, report unconfirmed
 * emergency revokes). The rules are lib/domain/approvals.ts; what runs is lib/lifecycle/use-cases/operation-runner.ts.
 *
 * Exactly once: a request moves by conditional writes on its version. Reaching the quorum and claiming the
 * run are two such writes; only the writer that wins the claim runs the operation. A crash during the run
 * leaves the claim to lapse; the sweep then runs it again — the operations are idempotent (a second revoke
 * finds the material gone, a resumed rotation finishes the one started), and the Operation Executed event
 * has a fixed id and time, so a repeat is a duplicate consumers drop, not a second fact.
 *
 * Nothing lost: without transactions (dynalite has none), a decision (approval, denial, expiry) is written
 * with an `auditPending` mark, then its event (id and time fixed by the stored decision), then the mark goes.
 * A crash in between leaves the mark; the next decision on the request, or the sweep, records the events the
 * stored request shows again — the same facts, appended once — before the mark goes.
 */
import { AlertReason, AlertSeverity } from "../../domain/alerts.js";
import {
  type ApprovalRules,
  approveOperation,
  DEFAULT_APPROVAL_RULES,
  denyOperation,
  finishedState,
  isExpired,
  isOverdueUnconfirmed,
  mayStartRun,
  type NewOperationRequest,
  type OperationRequest,
  OperationState,
  openOperationRequest,
} from "../../domain/approvals.js";
import {
  AuditDetailType,
  type AuditEvent,
  buildAlertEvent,
  buildFactEvent,
} from "../../domain/audit-types.js";
import { errorName, NotFoundError, TetherError, VersionConflictError } from "../../domain/errors.js";
import type { LifecycleDeps, OperationRequestRepository } from "../ports.js";

/** What runs an approved request's operation; throws a TetherError when the operation is refused. */
export type OperationExecutor = (deps: LifecycleDeps, request: OperationRequest) => Promise<void>;

/** How long a run holds its request: longer than a Lambda runs, so a live run is never taken over. */
export const RUN_CLAIM_MS = 15 * 60_000;
/** A concurrent writer makes an approval or denial read the request again this many times. */
const MAX_ATTEMPTS = 5;

export function approvalRulesOf(deps: LifecycleDeps): ApprovalRules {
  return deps.approvals ?? DEFAULT_APPROVAL_RULES;
}

function repository(deps: LifecycleDeps): OperationRequestRepository {
  if (deps.operations === undefined) throw new TetherError("No operation request store is configured.");
  return deps.operations;
}

/** A request id that sorts by creation time: `op-20261205T024500Z-1a2b3c4d`. */
export function newOperationId(now: Date, unique: string): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  return `op-${stamp}-${unique.replace(/-/g, "").slice(0, 12)}`;
}

export interface OpenRequest extends Omit<NewOperationRequest, "id"> {
  readonly correlationId: string;
}

/**
 * Stores a new request and tells on-call; an emergency revoke is run at once (critical alert) and then
 * waits for a second admin's confirmation.
 * @throws ValidationError (reason, emergency)
 */
export async function requestOperation(
  deps: LifecycleDeps,
  input: OpenRequest,
  execute: OperationExecutor,
): Promise<OperationRequest> {
  const now = deps.clock();
  const { correlationId, ...fields } = input;
  const request = openOperationRequest(
    { ...fields, id: newOperationId(now, deps.newId()) },
    approvalRulesOf(deps),
    now,
  );
  // Stored with the mark, then its events, then the mark goes: a crash between the write and the events
  // leaves the mark, and the sweep records them (same ids and times), as for every decision.
  const marked = { ...request, auditPending: true };
  await repository(deps).create(marked);
  await deps.audit.record(...requestedEvents(request, correlationId));
  const stored =
    (await clearAuditPending(deps, marked)) ?? (await repository(deps).get(request.id)) ?? request;
  if (!stored.emergency) return stored;
  return runApproved(deps, stored, correlationId, execute);
}

/** A request's Operation Requested fact and its on-call alert, with ids and time fixed by the request. */
function requestedEvents(request: OperationRequest, correlationId: string): AuditEvent[] {
  const who = { actor: request.requestedBy, correlationId };
  const alert = request.emergency
    ? {
        severity: AlertSeverity.Critical,
        reason: AlertReason.EmergencyRevoke,
        summary: `Emergency revoke of ${request.keyId} by ${request.requestedBy}: runs now; another admin must confirm (${request.id}).`,
      }
    : {
        severity: AlertSeverity.Warning,
        reason: AlertReason.ApprovalRequested,
        summary: `${request.operation} of ${request.keyId} by ${request.requestedBy} waits for approval until ${request.expiresAt.toISOString()} (${request.id}).`,
      };
  const time = request.createdAt;
  return [
    buildFactEvent(
      AuditDetailType.OperationRequested,
      { id: `${request.id}:requested`, time, ...who },
      subjectOf(request),
    ),
    buildAlertEvent(
      AuditDetailType.TetherAlert,
      { id: `${request.id}:alert`, time, ...who },
      subjectOf(request),
      alert,
    ),
  ];
}

export interface DecisionRequest {
  readonly id: string;
  readonly actor: string;
  readonly reason: string;
  readonly correlationId: string;
}

/**
 * One admin's approval. When it makes the quorum, the operation runs now (in this call); an unconfirmed
 * emergency revoke becomes confirmed.
 * @throws NotFoundError; StateConflictError (own or repeated approval, not pending, expired);
 *   ValidationError (reason)
 */
export async function approve(
  deps: LifecycleDeps,
  decision: DecisionRequest,
  execute: OperationExecutor,
): Promise<OperationRequest> {
  const decided = await decide(deps, decision, (current, at) =>
    approveOperation(current, { by: decision.actor, reason: decision.reason, at }, approvalRulesOf(deps)),
  );
  const saved = await recordDecision(
    deps,
    decided,
    approvalEvent(decided, decided.approvals.length, decision.correlationId),
  );
  if (saved.state !== OperationState.Approved) return saved;
  return runApproved(deps, saved, decision.correlationId, execute);
}

/**
 * Denies a pending request: it will never run.
 * @throws NotFoundError; StateConflictError (not pending, expired, an emergency revoke); ValidationError
 */
export async function deny(deps: LifecycleDeps, decision: DecisionRequest): Promise<OperationRequest> {
  const decided = await decide(deps, decision, (current, at) =>
    denyOperation(current, { by: decision.actor, reason: decision.reason, at }, approvalRulesOf(deps)),
  );
  return recordDecision(deps, decided, deniedEvent(decided, decision.correlationId));
}

/**
 * Read, change, conditional write; a concurrent writer makes it read again. The write marks the request
 * `auditPending`; a decision whose events a crash left unrecorded has them recorded before this one.
 */
async function decide(
  deps: LifecycleDeps,
  decision: DecisionRequest,
  change: (current: OperationRequest, at: Date) => OperationRequest,
): Promise<OperationRequest> {
  const store = repository(deps);
  for (let attempt = 1; ; attempt++) {
    const current = await store.get(decision.id);
    if (current === undefined) throw new NotFoundError("Operation request", decision.id);
    if (current.auditPending) await deps.audit.record(...decisionEvents(current, decision.correlationId));
    try {
      return await store.save({ ...change(current, deps.clock()), auditPending: true });
    } catch (error) {
      if (error instanceof VersionConflictError && attempt < MAX_ATTEMPTS) continue;
      throw error;
    }
  }
}

/**
 * A decision's event, after the write that made it and marked the request `auditPending`; then the mark
 * goes. A crash before the event leaves the mark, and the sweep records the event (same id and time).
 * Returns the request as stored now.
 */
async function recordDecision(
  deps: LifecycleDeps,
  saved: OperationRequest,
  event: AuditEvent,
): Promise<OperationRequest> {
  await deps.audit.record(event);
  return (await clearAuditPending(deps, saved)) ?? (await repository(deps).get(saved.id)) ?? saved;
}

/** Drops the mark (a conditional write); undefined when another writer came first (the mark may stay). */
async function clearAuditPending(
  deps: LifecycleDeps,
  request: OperationRequest,
): Promise<OperationRequest | undefined> {
  try {
    return await repository(deps).save({ ...request, auditPending: undefined });
  } catch (error) {
    if (error instanceof VersionConflictError) return undefined;
    throw error;
  }
}

/**
 * The sweep's half of {@link recordDecision}: records every decision event the stored request shows
 * (appending one already recorded changes nothing; the bus may see a duplicate, same id) and drops the
 * mark — not while a run holds the request (its end would be lost to a version conflict): then a later
 * sweep drops it. Returns the request as stored now, or undefined when another writer came first.
 */
async function settleAudit(
  deps: LifecycleDeps,
  request: OperationRequest,
  now: Date,
  correlationId: string,
): Promise<OperationRequest | undefined> {
  await deps.audit.record(...decisionEvents(request, correlationId));
  const running = request.claimedUntil !== undefined && request.claimedUntil > now;
  return running ? request : clearAuditPending(deps, request);
}

/** The request's events and those of the decisions it shows, each with a fixed id and time: a retry rebuilds them alike. */
function decisionEvents(request: OperationRequest, correlationId: string): AuditEvent[] {
  const events = requestedEvents(request, correlationId);
  events.push(...request.approvals.map((_, n) => approvalEvent(request, n + 1, correlationId)));
  if (request.denial !== undefined) events.push(deniedEvent(request, correlationId));
  if (request.state === OperationState.Expired) events.push(expiredEvent(request, correlationId));
  return events;
}

/** The `count`-th approval's event: Operation Confirmed for an emergency revoke, else Operation Approved. */
function approvalEvent(request: OperationRequest, count: number, correlationId: string): AuditEvent {
  const approvals = request.approvals.slice(0, count);
  const approval = approvals[count - 1];
  if (approval === undefined)
    throw new TetherError(`Operation request ${request.id} has no approval ${count}.`);
  return buildFactEvent(
    request.emergency ? AuditDetailType.OperationConfirmed : AuditDetailType.OperationApproved,
    { id: `${request.id}:approval:${count}`, time: approval.at, actor: approval.by, correlationId },
    { ...subjectOf({ ...request, approvals }), reason: approval.reason },
  );
}

function deniedEvent(request: OperationRequest, correlationId: string): AuditEvent {
  const denial = request.denial;
  if (denial === undefined) throw new TetherError(`Operation request ${request.id} is not denied.`);
  return buildFactEvent(
    AuditDetailType.OperationDenied,
    { id: `${request.id}:denied`, time: denial.at, actor: denial.by, correlationId },
    { ...subjectOf(request), reason: denial.reason },
  );
}

function expiredEvent(request: OperationRequest, correlationId: string): AuditEvent {
  return buildFactEvent(
    AuditDetailType.OperationExpired,
    { id: `${request.id}:expired`, time: request.expiresAt, actor: "tether:sweep", correlationId },
    subjectOf(request),
  );
}

/**
 * Runs an approved request if nobody runs it now: claims it (a conditional write), runs the operation,
 * records Operation Executed (fixed id and time), then marks it done. A refused operation (a TetherError:
 * the key is gone, its state forbids it) is `failed` and never retried; anything else leaves the claim to
 * lapse so the sweep runs it again. Returns the request as this call left it.
 */
export async function runApproved(
  deps: LifecycleDeps,
  request: OperationRequest,
  correlationId: string,
  execute: OperationExecutor,
): Promise<OperationRequest> {
  const store = repository(deps);
  const now = deps.clock();
  if (!mayStartRun(request, now)) return request;
  let claimed: OperationRequest;
  try {
    claimed = await store.save({
      ...request,
      executionStartedAt: request.executionStartedAt ?? now,
      claimedUntil: new Date(now.getTime() + RUN_CLAIM_MS),
    });
  } catch (error) {
    if (error instanceof VersionConflictError) return (await store.get(request.id)) ?? request;
    throw error;
  }
  let failure: string | undefined;
  try {
    await execute(deps, claimed);
  } catch (error) {
    if (!(error instanceof TetherError) || error instanceof VersionConflictError) throw error;
    failure = errorName(error);
  }
  const state = finishedState(claimed, failure !== undefined);
  await deps.audit.record(executedEvent(claimed, state, correlationId));
  try {
    return await store.save({
      ...claimed,
      state,
      finishedAt: deps.clock(),
      claimedUntil: undefined,
      errorName: failure,
    });
  } catch (error) {
    // The claim lapsed and another run took over: its own save records the end.
    if (error instanceof VersionConflictError) return (await store.get(request.id)) ?? claimed;
    throw error;
  }
}

function executedEvent(
  request: OperationRequest,
  outcome: OperationState,
  correlationId: string,
): AuditEvent {
  return buildFactEvent(
    AuditDetailType.OperationExecuted,
    {
      id: `${request.id}:executed`,
      time: request.executionStartedAt ?? request.createdAt,
      actor: request.requestedBy,
      correlationId,
    },
    { ...subjectOf(request), operation: { ...operationOf(request), outcome } },
  );
}

function operationOf(request: OperationRequest) {
  return {
    id: request.id,
    kind: request.operation,
    quorum: request.quorum,
    approvers: request.approvals.map((a) => a.by),
  };
}

function subjectOf(request: OperationRequest) {
  return {
    keyId: request.keyId,
    keyArn: request.keyArn,
    reason: request.reason,
    operation: operationOf(request),
  };
}

export interface OperationsSweepReport {
  readonly expired: number;
  readonly executed: number;
  /** Emergency revokes past their confirmation window, unconfirmed (reported again by every run). */
  readonly unconfirmed: number;
}

/** Open requests one sweep looks at, at most (pages of 100). */
const SWEEP_PAGE = 100;

/**
 * The sweep's part: closes pending requests past their expiry (Operation Expired), runs approved ones a
 * crash left behind once their claim lapsed, and raises a critical alert for each emergency revoke past its
 * confirmation window that nobody confirmed — every run, never undoing it.
 */
export async function sweepOperations(
  deps: LifecycleDeps,
  correlationId: string,
  execute: OperationExecutor,
): Promise<OperationsSweepReport> {
  if (deps.operations === undefined) return { expired: 0, executed: 0, unconfirmed: 0 };
  const open: readonly OperationState[] = [
    OperationState.Pending,
    OperationState.Approved,
    OperationState.Unconfirmed,
  ];
  let expired = 0;
  let executed = 0;
  let unconfirmed = 0;
  let nextToken: string | undefined;
  do {
    const page = await deps.operations.open({ limit: SWEEP_PAGE, nextToken });
    for (const listed of page.items) {
      const now = deps.clock();
      const request = listed.auditPending ? await settleAudit(deps, listed, now, correlationId) : listed;
      if (request === undefined || !open.includes(request.state)) continue;
      if (isExpired(request, now)) expired += await expire(deps, request, correlationId);
      else if (mayStartRun(request, now)) {
        const after = await runApproved(deps, request, correlationId, execute);
        if (after.state !== OperationState.Approved) executed++;
      } else if (isOverdueUnconfirmed(request, now)) {
        unconfirmed++;
        await reportUnconfirmed(deps, request, now, correlationId);
      }
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return { expired, executed, unconfirmed };
}

async function expire(
  deps: LifecycleDeps,
  request: OperationRequest,
  correlationId: string,
): Promise<number> {
  let saved: OperationRequest;
  try {
    saved = await repository(deps).save({ ...request, state: OperationState.Expired, auditPending: true });
  } catch (error) {
    if (error instanceof VersionConflictError) return 0;
    throw error;
  }
  await recordDecision(deps, saved, expiredEvent(saved, correlationId));
  return 1;
}

async function reportUnconfirmed(
  deps: LifecycleDeps,
  request: OperationRequest,
  now: Date,
  correlationId: string,
): Promise<void> {
  await deps.audit.record(
    buildAlertEvent(
      AuditDetailType.TetherAlert,
      { id: deps.newId(), time: now, actor: "tether:sweep", correlationId },
      subjectOf(request),
      {
        severity: AlertSeverity.Critical,
        reason: AlertReason.EmergencyRevokeUnconfirmed,
        summary: `Emergency revoke of ${request.keyId} by ${request.requestedBy} is unconfirmed since ${request.expiresAt.toISOString()} (${request.id}); it stays revoked.`,
      },
    ),
  );
}

/** Requests newest first (GET /operations). */
export async function listOperations(
  deps: LifecycleDeps,
  options: { limit: number; nextToken?: string | undefined; states?: readonly string[] | undefined },
) {
  return repository(deps).list(options);
}

/** One request. @throws NotFoundError */
export async function showOperation(deps: LifecycleDeps, id: string): Promise<OperationRequest> {
  const request = await repository(deps).get(id);
  if (request === undefined) throw new NotFoundError("Operation request", id);
  return request;
}
