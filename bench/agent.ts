/**
 * The vault agent against the direct file vault, same process, same keys (docs/agent.md): renewal
 * throughput (operator re-imports, `concurrency` at once) with the file vault wrapping in process, then with
 * the agent vault (signed request in the table, an agent polling every 20 ms through the routes' use cases,
 * the file vault as its backend). Prints keys per second and the per-key latency. `npx tsx bench/agent.ts
 * [keys] [concurrency]`; small by default (the numbers say what the round trip costs, not what AWS does).
 */
import { CreateKeyCommand, GetPublicKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { type AgentApi, parsePublicKey, VaultAgent } from "../lib/agent/agent.js";
import { AgentLog } from "../lib/agent/agent-log.js";
import { DEFAULT_AGENT_CLOCK_SKEW_MS, DEFAULT_AGENT_MAX_LIFETIME_MS } from "../lib/domain/agent-protocol.js";
import type { LifecycleDeps } from "../lib/lifecycle/ports.js";
import { answerAgentRequest, claimAgentRequests } from "../lib/lifecycle/use-cases/agent.js";
import { reimport } from "../lib/lifecycle/use-cases/operator-actions.js";
import { DynamoAgentQueue } from "../lib/vault/agent/agent-queue.js";
import { AgentVault, kmsRequestSigner } from "../lib/vault/agent/agent-vault.js";
import { type BenchDeps, buildDeps, CREDENTIALS, REGION, startBed } from "./lib/bed.js";
import { percentile } from "./lib/stats.js";

async function renewAll(setup: BenchDeps, ids: readonly string[], concurrency: number) {
  const latencies: number[] = [];
  const queue = [...ids];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        const t = performance.now();
        await reimport(setup.deps, { key: id, actor: "bench", correlationId: `bench-${id}` });
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    keysPerSecond: Number((ids.length / seconds).toFixed(2)),
    p50Ms: Math.round(percentile(latencies, 50)),
    p95Ms: Math.round(percentile(latencies, 95)),
  };
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? "10");
  const concurrency = Number(process.argv[3] ?? "2");
  const bed = await startBed();
  try {
    const setup = bed.deps({ unlimited: true });
    const keys = await bed.registerMany(count, { validityPeriod: "P30D" }, setup, 4);
    const ids = keys.map((k) => k.id);
    const direct = await renewAll(bed.deps(), ids, concurrency);

    const kms = new KMSClient({
      endpoint: bed.env.TETHER_KMS_ENDPOINT,
      region: REGION,
      credentials: CREDENTIALS,
    });
    const signingKey = (
      await kms.send(new CreateKeyCommand({ KeyUsage: "SIGN_VERIFY", KeySpec: "RSA_2048" }))
    ).KeyMetadata?.Arn as string;
    const publicKey = (await kms.send(new GetPublicKeyCommand({ KeyId: signingKey })))
      .PublicKey as Uint8Array;
    const queue = new DynamoAgentQueue({ client: setup.dynamodbClient, tableName: bed.tableName });
    const agentVault = new AgentVault({
      queue,
      signer: kmsRequestSigner(kms, signingKey),
      deployment: setup.config.deployment,
      timeoutMs: 20_000,
      pollMs: 20,
      clock: () => bed.now(),
    });
    const agentDeps = { agents: queue, clock: () => bed.now() } as unknown as LifecycleDeps;
    const api: AgentApi = {
      async request(method, path, options) {
        if (method === "GET") {
          const claimed = await claimAgentRequests(agentDeps, { name: "bench", principal: "bench", max: 10 });
          return { requests: claimed.map((r) => ({ ...r, expiresAt: r.expiresAt.toISOString() })) };
        }
        const id = decodeURIComponent(path.split("/")[3] ?? "");
        const answer = (options?.body as { answer: unknown } | undefined)?.answer;
        await answerAgentRequest(agentDeps, { id, name: "bench", principal: "bench", answer });
        return {};
      },
    };
    const agent = new VaultAgent({
      api,
      name: "bench",
      backend: bed.vault,
      publicKeys: [parsePublicKey(Buffer.from(publicKey).toString("base64"))],
      policy: {
        deployments: [setup.config.deployment],
        materialPrefixes: ["bench", "tether-sentinel"],
        accounts: ["111122223333"],
        regions: [REGION],
        maxLifetimeMs: DEFAULT_AGENT_MAX_LIFETIME_MS,
        clockSkewMs: DEFAULT_AGENT_CLOCK_SKEW_MS,
      },
      log: await AgentLog.open(`${bed.vaultDir}/../agent.log`),
      clock: () => bed.now(),
    });
    const controller = new AbortController();
    const serving = agent.run(controller.signal, 20);
    const throughAgent = await renewAll(
      buildDeps(bed.env, agentVault, () => bed.now()),
      ids,
      concurrency,
    );
    controller.abort();
    await serving;
    kms.destroy();
    process.stdout.write(
      `${JSON.stringify({ keys: count, concurrency, direct, agent: throughAgent, agentAnswered: agent.counts.answered }, null, 2)}\n`,
    );
  } finally {
    await bed.close();
  }
}

await main();
