/**
 * The vault agent against the direct file vault, same process, same keys (docs/agent.md): renewal
 * throughput (operator re-imports, `concurrency` at once) with the file vault wrapping in process, then with
 * the agent vault (signed request in the table, an agent polling every 20 ms through the routes' use cases,
 * the file vault as its backend). Prints keys per second and the per-key latency. Then restore latency, the
 * same way both sides: the emulator loses the Region's material (the sentinel's too), the probe opens the
 * incident, and one sweep by a cold process restores every key (lost → Enabled): per key, sweep start to its
 * import answered, and the sweep's wall time; `restoreRuns` losses per side. The client-side KMS limiter is
 * off for the restores (as for setup), so the figures show the wrap path, not the 0.8/s GetParametersForImport
 * budget that dominates a deployed restore of many keys. `npx tsx bench/agent.ts [keys] [concurrency]
 * [restoreRuns]`; small by default (the numbers say what the round trip costs, not what AWS does).
 */
import { CreateKeyCommand, GetPublicKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { type AgentApi, parsePublicKey, VaultAgent } from "../lib/agent/agent.js";
import { AgentLog } from "../lib/agent/agent-log.js";
import { DEFAULT_AGENT_CLOCK_SKEW_MS, DEFAULT_AGENT_MAX_LIFETIME_MS } from "../lib/domain/agent-protocol.js";
import { parseAwsRegion } from "../lib/domain/ids.js";
import type { LifecycleDeps } from "../lib/lifecycle/ports.js";
import { probeSentinels } from "../lib/lifecycle/scheduled/sentinels.js";
import { sweep } from "../lib/lifecycle/scheduled/sweep.js";
import { answerAgentRequest, claimAgentRequests } from "../lib/lifecycle/use-cases/agent.js";
import { reimport } from "../lib/lifecycle/use-cases/operator-actions.js";
import { DynamoSentinelRepository } from "../lib/store/dynamo-sentinel-repository.js";
import { DynamoAgentQueue } from "../lib/vault/agent/agent-queue.js";
import { AgentVault, kmsRequestSigner } from "../lib/vault/agent/agent-vault.js";
import { type Bed, type BenchDeps, buildDeps, CREDENTIALS, REGION, startBed } from "./lib/bed.js";
import { timedImports } from "./lib/instrument.js";
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

/** The deps with the Region's sentinel, as deployed (TETHER_SENTINELS on): a loss proves itself regional. */
function withSentinel(bed: Bed, b: BenchDeps): LifecycleDeps {
  return {
    ...b.deps,
    sentinels: new DynamoSentinelRepository({
      client: b.dynamodbClient,
      tableName: bed.tableName,
      clock: bed.now,
    }),
    sentinelRegions: [parseAwsRegion(REGION)],
  };
}

/**
 * `runs` regional losses, each restored by one sweep of a cold process built by `coldDeps`: per key, sweep
 * start to its import answered (pooled over runs), and each sweep's wall time.
 */
async function restoreAll(
  bed: Bed,
  arns: ReadonlySet<string>,
  runs: number,
  coldDeps: () => BenchDeps,
  label: string,
) {
  const perKey: number[] = [];
  const walls: number[] = [];
  let restored = 0;
  for (let run = 0; run < runs; run++) {
    await bed.aws.kms.admin.loseRegion(REGION);
    await bed.advance(60_000);
    const cold = coldDeps();
    try {
      const probe = await probeSentinels(withSentinel(bed, cold), `bench-${label}-probe-${run}`);
      if (probe.opened.length !== 1)
        throw new Error(`${label}: the probe opened ${probe.opened.length} incidents`);
      const t0 = performance.now();
      const timed = timedImports(cold.deps.kms, (at, keyId) => {
        if (arns.has(keyId)) perKey.push(at - t0);
      });
      const report = await sweep(
        { ...withSentinel(bed, cold), kms: timed },
        {
          correlationId: `bench-${label}-loss-${run}`,
          limit: arns.size,
          concurrency: cold.config.sweepConcurrency,
        },
      );
      walls.push(performance.now() - t0);
      restored += report.outcomes.restored ?? 0;
      if (!report.incidentsClosed?.includes(REGION)) throw new Error(`${label}: the incident stayed open`);
    } finally {
      cold.close();
    }
  }
  perKey.sort((a, b) => a - b);
  walls.sort((a, b) => a - b);
  return {
    restored,
    perKeyP50Ms: Math.round(percentile(perKey, 50)),
    perKeyP95Ms: Math.round(percentile(perKey, 95)),
    sweepWallP50Ms: Math.round(percentile(walls, 50)),
  };
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? "10");
  const concurrency = Number(process.argv[3] ?? "2");
  const restoreRuns = Number(process.argv[4] ?? "2");
  const bed = await startBed();
  try {
    const setup = bed.deps({ unlimited: true });
    const keys = await bed.registerMany(count, { validityPeriod: "P30D" }, setup, 4);
    const ids = keys.map((k) => k.id);
    const arns = new Set(keys.map((k) => k.regions[0]?.keyArn as string));
    await sweep(withSentinel(bed, setup), { correlationId: "bench-sentinel" }); // creates the sentinel
    await probeSentinels(withSentinel(bed, setup), "bench-probe-intact");
    const direct = await renewAll(bed.deps(), ids, concurrency);
    const directRestore = await restoreAll(
      bed,
      arns,
      restoreRuns,
      () => bed.deps({ unlimited: true }),
      "direct",
    );

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
    const agentRestore = await restoreAll(
      bed,
      arns,
      restoreRuns,
      () => buildDeps(bed.env, agentVault, () => bed.now(), { unlimited: true }),
      "agent",
    );
    controller.abort();
    await serving;
    kms.destroy();
    const ratio = (a: number, d: number) => Number((a / d).toFixed(2));
    const restore = {
      runs: restoreRuns,
      direct: directRestore,
      agent: agentRestore,
      ratioP50: ratio(agentRestore.perKeyP50Ms, directRestore.perKeyP50Ms),
      ratioWall: ratio(agentRestore.sweepWallP50Ms, directRestore.sweepWallP50Ms),
    };
    const renewal = {
      direct,
      agent: throughAgent,
      ratioKeysPerSecond: ratio(throughAgent.keysPerSecond, direct.keysPerSecond),
    };
    process.stdout.write(
      `${JSON.stringify({ keys: count, concurrency, renewal, restore, agentAnswered: agent.counts.answered }, null, 2)}\n`,
    );
  } finally {
    await bed.close();
  }
}

await main();
