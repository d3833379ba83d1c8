/**
 * What a scheduled sweep does besides the keys (functions/sweep.ts calls these after the key sweep): dual
 * control's part and the vault agents' health. Neither may fail the sweep: a failure is logged (through
 * `deps.log`) and the next run tries again.
 */
import type { AgentHealth } from "../../domain/agent-protocol.js";
import type { LifecycleDeps } from "../ports.js";
import { watchAgents } from "../use-cases/agent.js";
import { type OperationsSweepReport, sweepOperations } from "../use-cases/approvals.js";
import { runOperation } from "../use-cases/operation-runner.js";

/**
 * Dual control's part of a scheduled run (not a drain's): expired requests closed, a run a crash left
 * finished, unconfirmed emergency revokes reported (use-cases/approvals.ts sweepOperations). Undefined when
 * the operation requests could not be looked at: the sweep's report stands, the next run tries again.
 */
export async function sweepOperationRequests(
  deps: LifecycleDeps,
  correlationId: string,
): Promise<OperationsSweepReport | undefined> {
  try {
    return await sweepOperations(deps, correlationId, runOperation);
  } catch (error) {
    deps.log?.("error", "operation requests not swept", { error });
    return undefined;
  }
}

/**
 * The vault agents' health: an alert when they go down or fall behind, and when they recover
 * (docs/agent.md); undefined when it could not be checked (logged; the metric then says not healthy).
 */
export async function checkAgentHealth(
  deps: LifecycleDeps,
  correlationId: string,
): Promise<AgentHealth | undefined> {
  try {
    const health = await watchAgents(deps, { correlationId });
    if (health.state !== "healthy")
      deps.log?.("warn", "vault agents not healthy", { summary: health.summary });
    return health;
  } catch (error) {
    deps.log?.("error", "the vault agents' health could not be checked", { error });
    return undefined;
  }
}
