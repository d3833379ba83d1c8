/**
 * The vault agent's memory over a soak (docs/agent.md): the local stack (in memory, `vault: agent`) runs in
 * this process; the agent runs in a child process of its own, exactly as `npm start -- --agent` builds it
 * (HTTP to the local API with the local agent identity, the stack's file vault as its backend), so what is
 * sampled is the agent's memory and not the stack's. This process keeps the agent busy: a few keys
 * registered through it, then an operator re-import of one of them every `workMs`, each a check value and a
 * wrap through the agent. The child samples its heap (after a forced GC) and RSS every `sampleMs` and
 * answers the least-squares slope per minute of each, after a first minute of warm-up left out.
 *
 * `nice -n 10 npx tsx bench/agent-soak.ts [minutes=30] [sampleSeconds=5] [keys=3]`.
 */
import { fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LOCAL_ADMIN, LOCAL_REGION, type LocalIdentity } from "../infra/local/runner/identities.js";
import { startLocalStack } from "../infra/local/runner/index.js";
import { localAgent } from "../infra/local/runner/local-agent.js";
import type { LocalVault } from "../infra/local/runner/local-vault.js";
import { TetherApiClient } from "../lib/cli/client.js";
import { FileVault } from "../lib/vault/file/file-vault.js";

const WARM_UP_MS = 60_000;

interface ChildConfig {
  readonly apiUrl: string;
  readonly region: string;
  readonly regions: readonly string[];
  readonly deployment: string;
  readonly publicKeyPem: string;
  readonly identity: LocalIdentity;
  readonly vaultDirectory: string;
  readonly vaultPassphrase: string;
  readonly logFile: string;
  readonly durationMs: number;
  readonly sampleMs: number;
}

interface Sample {
  readonly atMs: number;
  readonly heapUsed: number;
  readonly rss: number;
}

export interface SoakResult {
  readonly minutes: number;
  readonly samples: number;
  readonly heapSlopeKiBPerMinute: number;
  readonly rssSlopeKiBPerMinute: number;
  readonly heapFirstMiB: number;
  readonly heapLastMiB: number;
  readonly rssFirstMiB: number;
  readonly rssLastMiB: number;
  readonly answered: number;
  readonly refused: number;
}

/** Least-squares slope of y over x. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

const mib = (bytes: number) => Number((bytes / 2 ** 20).toFixed(1));

async function child(config: ChildConfig): Promise<void> {
  const vault = new FileVault({ directory: config.vaultDirectory, passphrase: config.vaultPassphrase });
  await vault.unlock();
  const agent = await localAgent(
    { publicKeyPem: config.publicKeyPem, identity: config.identity, vault: { vault } as LocalVault },
    { ...config, name: "soak-agent" },
  );
  const controller = new AbortController();
  const serving = agent.run(controller.signal, 100);
  process.send?.({ ready: true });
  const samples: Sample[] = [];
  const started = performance.now();
  const gc = (globalThis as { gc?: () => void }).gc;
  while (performance.now() - started < config.durationMs) {
    await new Promise((resolve) => setTimeout(resolve, config.sampleMs));
    gc?.();
    const { heapUsed, rss } = process.memoryUsage();
    samples.push({ atMs: performance.now() - started, heapUsed, rss });
  }
  controller.abort();
  await serving;
  const steady = samples.filter((s) => s.atMs >= Math.min(WARM_UP_MS, config.durationMs / 5));
  const perMinute = (pick: (s: Sample) => number) =>
    Number((slope(steady.map((s) => [s.atMs / 60_000, pick(s)] as const)) / 1024).toFixed(1));
  const first = steady[0] as Sample;
  const last = steady[steady.length - 1] as Sample;
  const result: SoakResult = {
    minutes: Number((config.durationMs / 60_000).toFixed(2)),
    samples: steady.length,
    heapSlopeKiBPerMinute: perMinute((s) => s.heapUsed),
    rssSlopeKiBPerMinute: perMinute((s) => s.rss),
    heapFirstMiB: mib(first.heapUsed),
    heapLastMiB: mib(last.heapUsed),
    rssFirstMiB: mib(first.rss),
    rssLastMiB: mib(last.rss),
    answered: agent.counts.answered,
    refused: agent.counts.refused,
  };
  process.send?.({ result });
}

async function parent(minutes: number, sampleSeconds: number, keyCount: number): Promise<void> {
  process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
  const dir = await mkdtemp(join(tmpdir(), "tether-agent-soak-"));
  const stack = await startLocalStack({
    memory: true,
    sweepIntervalMs: 0,
    ports: { api: 0, kms: 0, dynamodb: 0, events: 0 },
    agent: { start: false },
  });
  try {
    const setup = stack.agent;
    if (setup === undefined) throw new Error("the stack runs without the agent");
    const config: ChildConfig = {
      apiUrl: stack.apiUrl,
      region: stack.region,
      regions: stack.regions,
      deployment: process.env.TETHER_DEPLOYMENT as string,
      publicKeyPem: setup.publicKeyPem,
      identity: setup.identity,
      vaultDirectory: setup.vault.directory,
      vaultPassphrase: setup.vault.passphrase,
      logFile: join(dir, "agent.log"),
      durationMs: minutes * 60_000,
      sampleMs: sampleSeconds * 1000,
    };
    const worker = fork(fileURLToPath(import.meta.url), ["--child"], {
      execArgv: ["--expose-gc", "--import", "tsx"],
      env: { ...process.env, TETHER_AGENT_SOAK_CONFIG: JSON.stringify(config) },
    });
    const result = new Promise<SoakResult>((resolve, reject) => {
      worker.on("message", (m: { result?: SoakResult }) => m.result && resolve(m.result));
      worker.on("exit", (code) => reject(new Error(`the agent process exited (${code}) before answering`)));
    });
    const ready = new Promise<void>((resolve) =>
      worker.on("message", (m: { ready?: boolean }) => m.ready && resolve()),
    );
    await Promise.race([ready, result]);
    const admin = new TetherApiClient({
      apiUrl: stack.apiUrl,
      region: LOCAL_REGION,
      credentials: { accessKeyId: LOCAL_ADMIN.accessKeyId, secretAccessKey: LOCAL_ADMIN.secretAccessKey },
      timeoutMs: 30_000,
    });
    const ids: string[] = [];
    for (let i = 0; i < keyCount; i++) {
      const body = {
        mode: "create",
        region: stack.region,
        keySpec: "SYMMETRIC_DEFAULT",
        materialRef: `bench/soak-${Date.now()}-${i}`,
        generateMaterial: true,
        policy: { validityPeriod: "P30D" },
      };
      ids.push(((await admin.request("POST", "/keys", { body })) as { key: { id: string } }).key.id);
    }
    let done = false;
    let reimports = 0;
    let failures = 0;
    const started = Date.now();
    let nextReport = started + 60_000;
    void result.finally(() => {
      done = true;
    });
    while (!done) {
      const id = ids[reimports % ids.length] as string;
      await admin.request("POST", `/keys/${id}/reimport`, { body: {} }).then(
        () => reimports++,
        () => failures++,
      );
      if (Date.now() >= nextReport) {
        process.stderr.write(`${Math.round((Date.now() - started) / 60_000)} min: ${reimports} re-imports\n`);
        nextReport += 60_000;
      }
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    process.stdout.write(
      `${JSON.stringify({ ...(await result), keys: keyCount, reimports, failures }, null, 2)}\n`,
    );
  } finally {
    await stack.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes("--child")) {
  await child(JSON.parse(process.env.TETHER_AGENT_SOAK_CONFIG as string) as ChildConfig);
  process.exit(0);
} else {
  await parent(
    Number(process.argv[2] ?? "30"),
    Number(process.argv[3] ?? "5"),
    Number(process.argv[4] ?? "3"),
  );
}
