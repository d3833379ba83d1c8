/** The vault agent's routes (docs/agent.md): agents poll and answer; readers see their health. */
import { agentStatus, answerAgentRequest, claimAgentRequests } from "../../lifecycle/use-cases/agent.js";
import { Access, defineRoute } from "../route.js";

export const agentRequestsRoute = defineRoute({
  method: "GET",
  path: "/agent/requests",
  operationId: "claimAgentRequests",
  summary:
    "A vault agent's poll: records its heartbeat and claims (for 30 s) up to `max` waiting requests no other agent holds. Vault agents only.",
  access: Access.Agent,
  query: (s) => s.AgentPollQuery,
  response: { status: 200, description: "The claimed requests", schema: (s) => s.AgentRequestsResponse },
  errors: [400, 403, 404],
  async handle({ deps, caller, query }) {
    const claimed = await claimAgentRequests(deps, {
      name: query.agent,
      principal: caller,
      max: query.max,
      version: query.version,
      answered: query.answered,
      refused: query.refused,
      wrappings: query.wrappings,
    });
    return {
      status: 200,
      body: {
        requests: claimed.map((r) => ({
          id: r.id,
          text: r.text,
          signature: r.signature,
          signingKeyId: r.signingKeyId,
          expiresAt: r.expiresAt.toISOString(),
        })),
      },
    };
  },
});

export const agentAnswerRoute = defineRoute({
  method: "POST",
  path: "/agent/requests/{id}/answer",
  operationId: "answerAgentRequest",
  summary:
    "A vault agent's answer to one request: recorded once (409 when another agent answered first). Vault agents only.",
  access: Access.Agent,
  body: (s) => s.AgentAnswerBody,
  bodyRequired: true,
  response: { status: 200, description: "Recorded", schema: (s) => s.AgentAnswerResponse },
  errors: [400, 403, 404, 409, 413, 415],
  // A retried answer (the agent's connection dropped) is recorded once and answered the same.
  idempotent: true,
  async handle({ deps, caller, params, body }) {
    const id = params.id ?? "";
    await answerAgentRequest(deps, { id, name: body.agent, principal: caller, answer: body.answer });
    return { status: 200, body: { id, answered: true } };
  },
});

export const agentHealthRoute = defineRoute({
  method: "GET",
  path: "/agent/health",
  operationId: "agentHealth",
  summary: "The vault agents' health: each agent's last call, and whether requests wait too long.",
  access: Access.Read,
  response: { status: 200, description: "The agents' health", schema: (s) => s.AgentHealthResponse },
  errors: [400, 403, 404],
  async handle({ deps }) {
    const health = await agentStatus(deps);
    return {
      status: 200,
      body: {
        state: health.state,
        summary: health.summary,
        ...(health.oldestPending === undefined ? {} : { oldestPending: health.oldestPending.toISOString() }),
        agents: health.agents.map((a) => ({
          name: a.name,
          principal: a.principal,
          state: a.state,
          lastSeen: a.lastSeen.toISOString(),
          ...(a.version === undefined ? {} : { version: a.version }),
          ...(a.answered === undefined ? {} : { answered: a.answered }),
          ...(a.refused === undefined ? {} : { refused: a.refused }),
        })),
      },
    };
  },
});
