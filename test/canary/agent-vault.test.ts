/**
 * Canary for `vault: agent` (docs/agent.md): the functions get a vault that cannot hold plaintext — the agent
 * vault, behind a test double that fails the run if the in-process wrap (the path where a vault adapter
 * holds the material to wrap it) is ever asked for. An agent with the file vault as its backend serves it
 * through the agent use cases (the API routes' own), as it would over HTTP. Then the usual search of
 * everything Tether wrote or returned — logs, events, the table (requests and sealed answers included),
 * answers — for the material, the import tokens and the wrapped material. Zero hits.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { CreateKeyCommand, GetPublicKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentApi, parsePublicKey, VaultAgent } from "../../lib/agent/agent.js";
import { AgentLog } from "../../lib/agent/agent-log.js";
import {
  DEFAULT_AGENT_CLOCK_SKEW_MS,
  DEFAULT_AGENT_MAX_LIFETIME_MS,
} from "../../lib/domain/agent-protocol.js";
import type { LifecycleDeps, Vault } from "../../lib/lifecycle/ports.js";
import { answerAgentRequest, claimAgentRequests } from "../../lib/lifecycle/use-cases/agent.js";
import { DynamoAgentQueue } from "../../lib/vault/agent/agent-queue.js";
import { AgentVault, kmsRequestSigner } from "../../lib/vault/agent/agent-vault.js";
import { expectNoLeak, runCanary } from "../support/canary.js";
import { CREDENTIALS, type LifecycleTestbed, startLifecycleTestbed } from "../support/lifecycle-testbed.js";

const AGENT_PRINCIPAL = "arn:aws:iam::111122223333:role/tether-vault-agent";
let bed: LifecycleTestbed;
let dir: string;
beforeAll(async () => {
  bed = await startLifecycleTestbed();
  dir = `${bed.config.tableName}-${randomUUID()}`;
});
afterAll(async () => {
  await bed?.close();
});

/** The functions' vault: the agent vault, and a wrap that fails the test if anyone asks for it. */
function noPlaintextVault(agentVault: AgentVault, asked: string[]): Vault {
  return {
    kind: agentVault.kind,
    wrap: async (ref) => {
      asked.push(ref);
      throw new Error(`plaintext asked for: the in-process wrap of "${ref}" ran with vault: agent`);
    },
    wrapFor: (request) => agentVault.wrapFor(request),
    checkValue: (ref) => agentVault.checkValue(ref),
    generate: (ref, keySpec) => agentVault.generate(ref, keySpec),
    has: (ref) => agentVault.has(ref),
    describe: (ref) => agentVault.describe(ref),
  };
}

describe("canary: vault agent", () => {
  it("never lets the material, an import token or wrapped material out, and never wraps in process", async () => {
    const known = { ref: `canary/${randomUUID()}`, material: randomBytes(32) };
    await bed.vault.put(known.ref, known.material, "SYMMETRIC_DEFAULT");

    const kms = new KMSClient({
      endpoint: bed.aws.endpoints.kms,
      region: "eu-west-1",
      credentials: CREDENTIALS,
    });
    const signingKey = (
      await kms.send(new CreateKeyCommand({ KeyUsage: "SIGN_VERIFY", KeySpec: "RSA_2048" }))
    ).KeyMetadata?.Arn as string;
    const publicKey = (await kms.send(new GetPublicKeyCommand({ KeyId: signingKey })))
      .PublicKey as Uint8Array;
    const queue = new DynamoAgentQueue({ client: bed.dynamodb, tableName: bed.config.tableName });
    const agentVault = new AgentVault({
      queue,
      signer: kmsRequestSigner(kms, signingKey),
      deployment: bed.config.deployment,
      timeoutMs: 10_000,
      pollMs: 20,
      clock: () => bed.now(),
    });

    // The agent's side of the API: the same use cases the routes call.
    const agentDeps = { agents: queue, clock: () => bed.now() } as unknown as LifecycleDeps;
    const api: AgentApi = {
      async request(method, path, options) {
        if (method === "GET") {
          const claimed = await claimAgentRequests(agentDeps, {
            name: "canary",
            principal: AGENT_PRINCIPAL,
            max: 10,
          });
          return { requests: claimed.map((r) => ({ ...r, expiresAt: r.expiresAt.toISOString() })) };
        }
        const id = decodeURIComponent(path.split("/")[3] ?? "");
        const body = options?.body as { answer: unknown };
        await answerAgentRequest(agentDeps, {
          id,
          name: "canary",
          principal: AGENT_PRINCIPAL,
          answer: body.answer,
        });
        return {};
      },
    };
    const agent = new VaultAgent({
      api,
      name: "canary",
      backend: bed.vault,
      publicKeys: [parsePublicKey(Buffer.from(publicKey).toString("base64"))],
      policy: {
        deployments: [bed.config.deployment],
        materialPrefixes: ["canary", "tether-sentinel"],
        accounts: ["111122223333"],
        regions: ["eu-west-1", "us-east-1"],
        maxLifetimeMs: DEFAULT_AGENT_MAX_LIFETIME_MS,
        clockSkewMs: DEFAULT_AGENT_CLOCK_SKEW_MS,
      },
      log: await AgentLog.open(`/tmp/${dir}/agent.log`),
      clock: () => bed.now(),
    });
    const controller = new AbortController();
    const serving = agent.run(controller.signal, 20);
    const asked: string[] = [];
    try {
      const report = await runCanary({
        name: "agent",
        bed,
        vault: noPlaintextVault(agentVault, asked),
        known,
      });
      console.info(report.summary());
      expectNoLeak(report);
    } finally {
      controller.abort();
      await serving;
      kms.destroy();
    }
    expect(asked).toEqual([]);
    // Every import went through the agent: it wrapped for each Region the canary imported into.
    expect(agent.counts.answered).toBeGreaterThan(3);
    expect(agent.counts.refused).toBe(0);
  }, 120_000);
});
