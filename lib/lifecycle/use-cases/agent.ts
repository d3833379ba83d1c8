/**
 * The vault agent's side of the API (docs/agent.md): agents claim requests and answer them, each call a
 * heartbeat; readers see the agents' health; the sweep alerts when they are down or behind, once per state.
 */
import {
  type AgentHealth,
  AgentHealthState,
  type AgentHealthThresholds,
  agentHealth,
  agentHealthTransition,
  DEFAULT_AGENT_HEALTH,
  parseAgentAnswer,
  parseAgentWrappings,
} from "../../domain/agent-protocol.js";
import { AlertReason, AlertSeverity } from "../../domain/alerts.js";
import { AuditDetailType, buildAlertEvent } from "../../domain/audit-types.js";
import { NotFoundError, StateConflictError, ValidationError } from "../../domain/errors.js";
import type { AgentQueue, LifecycleDeps, PendingAgentRequest } from "../ports.js";

/** How long a claim keeps other agents off a request: long enough to wrap once. */
export const AGENT_CLAIM_MS = 30_000;
const AGENT_SUBJECT = "vault-agent";

function queueOf(deps: LifecycleDeps): AgentQueue {
  if (deps.agents === undefined) throw new NotFoundError("vault agent queue", "(not configured)");
  return deps.agents;
}

/** An agent's poll: its heartbeat, then the requests it may work on now. */
export async function claimAgentRequests(
  deps: LifecycleDeps,
  input: {
    readonly name: string;
    readonly principal: string;
    readonly max: number;
    readonly version?: string | undefined;
    readonly answered?: number | undefined;
    readonly refused?: number | undefined;
    /** Its backend's wrappings (agentWrappingsText), when the backend is limited. */
    readonly wrappings?: string | undefined;
  },
): Promise<PendingAgentRequest[]> {
  const queue = queueOf(deps);
  const wrappings = input.wrappings === undefined ? undefined : parseAgentWrappings(input.wrappings);
  const now = deps.clock();
  await queue.heartbeat({
    name: input.name,
    principal: input.principal,
    lastSeen: now,
    version: input.version,
    answered: input.answered,
    refused: input.refused,
    wrappings,
  });
  return queue.claim(`${input.principal}#${input.name}`, now, input.max, AGENT_CLAIM_MS);
}

/**
 * Records an agent's answer, once.
 * @throws ValidationError naming the bad field of the answer; StateConflictError when another answer was
 *   recorded first; NotFoundError when the request is gone (expired, or withdrawn by the function that asked)
 */
export async function answerAgentRequest(
  deps: LifecycleDeps,
  input: { readonly id: string; readonly name: string; readonly principal: string; readonly answer: unknown },
): Promise<void> {
  const answer = parseAgentAnswer(input.answer);
  if (!/^[\w-]{1,64}$/.test(input.id)) throw new ValidationError("id", "not a request id");
  const outcome = await queueOf(deps).answer(
    input.id,
    `${input.principal}#${input.name}`,
    JSON.stringify(answer),
    deps.clock(),
  );
  if (outcome === "unknown") throw new NotFoundError("agent request", input.id);
  if (outcome === "already") {
    throw new StateConflictError(`Agent request ${input.id} was answered already.`, {
      keyId: input.id,
      state: "answered",
    });
  }
}

/** The agents' health as of now. */
export async function agentStatus(
  deps: LifecycleDeps,
  thresholds: AgentHealthThresholds = DEFAULT_AGENT_HEALTH,
): Promise<AgentHealth> {
  const queue = queueOf(deps);
  const now = deps.clock();
  const [beats, oldest] = await Promise.all([queue.heartbeats(), queue.oldestPending(now)]);
  return agentHealth(beats, oldest, now, thresholds);
}

/**
 * Alerts when the agents go down or fall behind, and when they recover: once per state entered (the state
 * alerted on is kept in the table). Run by the sweep when the vault is the agent.
 */
export async function watchAgents(
  deps: LifecycleDeps,
  options: { readonly correlationId: string; readonly thresholds?: AgentHealthThresholds | undefined },
): Promise<AgentHealth> {
  const queue = queueOf(deps);
  const health = await agentStatus(deps, options.thresholds);
  const previous = await queue.alertedState();
  const change = agentHealthTransition(previous, health.state);
  if (change === undefined) {
    if (previous === undefined) await queue.setAlertedState(health.state, deps.clock());
    return health;
  }
  const now = deps.clock();
  await deps.audit.record(
    buildAlertEvent(
      AuditDetailType.TetherAlert,
      { id: deps.newId(), time: now, actor: "tether:sweep", correlationId: options.correlationId },
      { keyId: AGENT_SUBJECT, reason: health.summary },
      change === "recovered"
        ? {
            severity: AlertSeverity.Warning,
            reason: AlertReason.VaultAgentRecovered,
            summary: `Vault agents recovered: ${health.summary}`,
          }
        : {
            severity: health.state === AgentHealthState.Down ? AlertSeverity.Critical : AlertSeverity.Warning,
            reason: AlertReason.VaultAgentUnavailable,
            summary: `Vault agent ${health.state}: ${health.summary}; imports wait and retry until an agent answers`,
          },
    ),
  );
  await queue.setAlertedState(health.state, now);
  return health;
}
