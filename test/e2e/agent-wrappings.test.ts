/**
 * `vault: agent` with a backend that can wrap with RSAES_OAEP_SHA_1 only (an HSM's limit; here the local file
 * vault behind a test double that refuses any other algorithm): the agent reports that with its polls, the
 * import asks KMS for OAEP-SHA-1 parameters, and the key is created and imported through the agent.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeKeyCommand, type KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../infra/local/runner/index.js";
import { localAgent } from "../../infra/local/runner/local-agent.js";
import type { KeyActionResponse } from "../../lib/api/schemas.js";
import { allowedWrappings } from "../../lib/domain/wrapping.js";
import type { Vault } from "../../lib/lifecycle/ports.js";
import { UnsupportedWrappingError } from "../../lib/vault/errors.js";
import { ADMIN, E2E_STACK_START_MS, READER, stackKmsClient, startE2eStack } from "../support/e2e-stack.js";
import { signedFetch } from "./support.js";

let stack: LocalStack;
let kms: KMSClient;
let dir: string;
let stop: (() => Promise<void>) | undefined;
const wrapAlgorithms: string[] = [];

/** The stack's file vault, limited to OAEP-SHA-1 as an HSM without SHA-256 OAEP would be. */
function sha1OnlyBackend(vault: Vault): Vault {
  return {
    kind: "sha1-only-hsm",
    checkValue: (ref) => vault.checkValue(ref),
    generate: (ref, keySpec) => vault.generate(ref, keySpec),
    has: (ref) => vault.has(ref),
    describe: (ref) => vault.describe(ref),
    supportedWrappings: async (keySpec) =>
      allowedWrappings(keySpec).filter((c) => c.wrappingAlgorithm === "RSAES_OAEP_SHA_1"),
    wrap: async (ref, publicKeyDer, algorithm) => {
      wrapAlgorithms.push(algorithm);
      if (algorithm !== "RSAES_OAEP_SHA_1") {
        throw new UnsupportedWrappingError(`this HSM cannot wrap with ${algorithm}`, { algorithm });
      }
      return vault.wrap(ref, publicKeyDer, algorithm);
    },
  };
}

beforeAll(async () => {
  process.env.TETHER_AGENT_TIMEOUT_SECONDS = "5";
  process.env.TETHER_AGENT_POLL_MS = "50";
  dir = await mkdtemp(join(tmpdir(), "tether-agent-wrappings-"));
  stack = await startE2eStack({ agent: { start: false } });
  kms = stackKmsClient(stack);
  const setup = stack.agent;
  if (setup === undefined) throw new Error("the stack runs without the agent");
  const agent = await localAgent(setup, {
    apiUrl: stack.apiUrl,
    region: stack.region,
    regions: stack.regions,
    deployment: process.env.TETHER_DEPLOYMENT as string,
    logFile: join(dir, "hsm.log"),
    name: "sha1-hsm",
    backend: sha1OnlyBackend(setup.vault.vault),
    clock: () => new Date(Date.now() + stack.localAws.kms.clockOffsetMs()),
  });
  const controller = new AbortController();
  const loop = agent.run(controller.signal, 50);
  stop = async () => {
    controller.abort();
    await loop;
  };
}, E2E_STACK_START_MS);

afterAll(async () => {
  await stop?.();
  kms?.destroy();
  await stack?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("vault: agent, a backend limited to RSAES_OAEP_SHA_1", () => {
  it("imports with OAEP-SHA-1: the agent's report chose the wrapping, not a failure", async () => {
    // The agent has polled (its heartbeat, with its wrappings) before the import asks for a wrapping.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const health = await signedFetch(stack.apiUrl, {
        method: "GET",
        path: "/agent/health",
        credentials: READER,
      });
      if ((health.body as { state?: string }).state === "healthy") break;
      if (Date.now() > deadline) throw new Error(`agent never healthy: ${JSON.stringify(health.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const answer = await signedFetch(stack.apiUrl, {
      method: "POST",
      path: "/keys",
      credentials: ADMIN,
      body: {
        mode: "create",
        region: stack.region,
        keySpec: "SYMMETRIC_DEFAULT",
        materialRef: `test/sha1-${Date.now()}`,
        generateMaterial: true,
        policy: { validityPeriod: "P30D" },
      },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    const key = (answer.body as KeyActionResponse).key;
    const metadata = (await kms.send(new DescribeKeyCommand({ KeyId: key.keyArn }))).KeyMetadata;
    expect(metadata?.KeyState).toBe("Enabled");
    expect(metadata?.Origin).toBe("EXTERNAL");
    expect(wrapAlgorithms.length).toBeGreaterThanOrEqual(1);
    expect(new Set(wrapAlgorithms)).toEqual(new Set(["RSAES_OAEP_SHA_1"]));
  }, 60_000);
});
