/**
 * The agent reports its backend's wrappings with each poll, and the agent vault offers the import only what
 * every agent up now can do: a backend limited to RSAES_OAEP_SHA_1 is asked for that, not told to fail.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VaultAgent } from "../../../lib/agent/agent.js";
import { AgentLog } from "../../../lib/agent/agent-log.js";
import { type AgentHeartbeat, parseAgentWrappings } from "../../../lib/domain/agent-protocol.js";
import { allowedWrappings, chooseWrapping } from "../../../lib/domain/wrapping.js";
import type { AgentQueue, Vault } from "../../../lib/lifecycle/ports.js";
import { AgentVault } from "../../../lib/vault/agent/agent-vault.js";
import { VaultLockedError } from "../../../lib/vault/errors.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tether-agent-wrappings-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const NOW = new Date("2026-12-05T04:00:00.000Z");

function backend(supportedWrappings?: Vault["supportedWrappings"]): Vault {
  return {
    kind: "memory",
    wrap: async () => new Uint8Array([1]),
    checkValue: async () => "cv",
    generate: async () => ({ checkValue: "cv" }),
    has: async () => true,
    describe: async () => undefined,
    ...(supportedWrappings === undefined ? {} : { supportedWrappings }),
  };
}

/** One poll of an agent over `vault`; the query it sent. */
async function pollQuery(vault: Vault): Promise<Record<string, string | undefined>> {
  const queries: Record<string, string | undefined>[] = [];
  const agent = new VaultAgent({
    api: {
      request: async (_method, _path, options) => {
        queries.push(options?.query ?? {});
        return { requests: [] };
      },
    },
    name: "a",
    backend: vault,
    publicKeys: [],
    policy: {
      deployments: ["d"],
      materialPrefixes: ["p"],
      accounts: ["111122223333"],
      regions: ["eu-west-1"],
      maxLifetimeMs: 60_000,
      clockSkewMs: 1_000,
    },
    log: await AgentLog.open(join(dir, `${Math.random()}.log`)),
  });
  await agent.pollOnce();
  return queries[0] ?? {};
}

function heartbeatQueue(beats: AgentHeartbeat[]): AgentQueue {
  const never = async (): Promise<never> => {
    throw new VaultLockedError("not in this test");
  };
  return {
    publish: never,
    answerOf: never,
    withdraw: never,
    claim: never,
    answer: never,
    heartbeat: never,
    heartbeats: async () => beats,
    oldestPending: async () => undefined,
    alertedState: async () => undefined,
    setAlertedState: async () => undefined,
  };
}

describe("wrappings the agent's backend supports", () => {
  it("an HSM limited to RSAES_OAEP_SHA_1: the agent reports it, and the import is offered OAEP-SHA-1", async () => {
    const sha1Only = backend(async (keySpec) =>
      allowedWrappings(keySpec).filter((c) => c.wrappingAlgorithm === "RSAES_OAEP_SHA_1"),
    );
    const query = await pollQuery(sha1Only);
    expect(query.wrappings).toMatch(/SYMMETRIC_DEFAULT=RSAES_OAEP_SHA_1:RSA_4096\+RSA_3072\+RSA_2048/);
    const reported = parseAgentWrappings(query.wrappings ?? "");
    // RSA private keys cannot be wrapped with OAEP alone (KMS): nothing for them.
    expect(reported.RSA_2048).toEqual([]);

    const vault = new AgentVault({
      queue: heartbeatQueue([
        { name: "hsm", principal: "p", lastSeen: new Date(NOW.getTime() - 5_000), wrappings: reported },
      ]),
      signer: { keyId: "k", sign: async () => "" },
      deployment: "d",
      timeoutMs: 100,
      pollMs: 5,
      clock: () => NOW,
    });
    const can = await vault.supportedWrappings("SYMMETRIC_DEFAULT");
    expect(chooseWrapping("SYMMETRIC_DEFAULT", {}, can)).toEqual({
      wrappingAlgorithm: "RSAES_OAEP_SHA_1",
      wrappingKeySpec: "RSA_4096",
    });
    // Without the report the import would have asked for OAEP-SHA-256, which this HSM cannot produce.
    expect(chooseWrapping("SYMMETRIC_DEFAULT", {}, undefined).wrappingAlgorithm).toBe("RSAES_OAEP_SHA_256");
  });

  it("a backend without limits reports none, and the agent vault then offers whatever KMS accepts", async () => {
    expect((await pollQuery(backend())).wrappings).toBeUndefined();
    const vault = new AgentVault({
      queue: heartbeatQueue([{ name: "file", principal: "p", lastSeen: NOW }]),
      signer: { keyId: "k", sign: async () => "" },
      deployment: "d",
      timeoutMs: 100,
      pollMs: 5,
      clock: () => NOW,
    });
    expect(await vault.supportedWrappings("ECC_NIST_P256")).toEqual(allowedWrappings("ECC_NIST_P256"));
  });
});
