/**
 * `vault: agent` with a backend that can wrap with RSAES_OAEP_SHA_1 only (an HSM's limit; here the local file
 * vault behind a test double that refuses any other algorithm): the agent reports that with its polls, the
 * import asks KMS for OAEP-SHA-1 parameters, and the key is created and imported through the agent. And the
 * sweep, run as Lambda runs it (a process of its own), publishes the agents' health as CloudWatch metrics
 * (the embedded-metric-format line the agent-health alarm reads, infra/alerts.yml).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeKeyCommand, type KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_SERVICE_CREDENTIALS, type LocalStack } from "../../infra/local/runner/index.js";
import { localAgent } from "../../infra/local/runner/local-agent.js";
import type { KeyActionResponse } from "../../lib/api/schemas.js";
import { allowedWrappings } from "../../lib/domain/wrapping.js";
import type { Vault } from "../../lib/lifecycle/ports.js";
import { UnsupportedWrappingError } from "../../lib/vault/errors.js";
import { runFunctionProcessWithOutput } from "../support/deployed-function.js";
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
  await stack?.localAws.kms.admin.setClockOffset(0);
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

/** One sweep run as Lambda runs it; the embedded-metric records it wrote that carry the agents' health. */
async function sweepAgentRecords(clockOffsetMs = 0): Promise<Record<string, unknown>[]> {
  const { stdout } = await runFunctionProcessWithOutput(
    "sweep",
    [{ id: `sweep-${Date.now()}`, "detail-type": "Scheduled Event", source: "aws.events", detail: {} }],
    {
      AWS_REGION: stack.region,
      AWS_ACCESS_KEY_ID: LOCAL_SERVICE_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_SERVICE_CREDENTIALS.secretAccessKey,
      POWERTOOLS_LOG_LEVEL: "ERROR",
    },
    clockOffsetMs,
  );
  return stdout
    .split("\n")
    .filter((line) => line.includes('"_aws"') && line.includes("VaultAgentsHealthy"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("the sweep's agent-health metric", () => {
  it("a sweep run publishes VaultAgentsHealthy 1 while the agent polls, 0 once it is gone", async () => {
    const [up, ...more] = await sweepAgentRecords();
    expect(more).toEqual([]);
    expect(up).toMatchObject({ Deployment: process.env.TETHER_TABLE_NAME, VaultAgentsHealthy: 1 });
    expect(up?.VaultAgentOldestPendingSeconds).toBeTypeOf("number");
    expect(JSON.stringify(up?._aws)).toContain('"Name":"VaultAgentsHealthy"');

    // The agent stops; three minutes on (the emulator's clock, the functions' too) it is down.
    await stop?.();
    stop = undefined;
    await stack.localAws.kms.admin.advanceClock(3 * 60_000);
    const down = await sweepAgentRecords(stack.localAws.kms.clockOffsetMs());
    expect(down.map((r) => r.VaultAgentsHealthy)).toEqual([0]);
  }, 120_000);
});
