/**
 * The vault agent's memory over a soak (docs/agent.md): the local stack (in memory, `vault: agent`) runs in
 * this process; the agent runs in a child process of its own, exactly as `npm start -- --agent` builds it
 * (HTTP to the local API with the local agent identity, the stack's file vault as its backend), so what is
 * sampled is the agent's memory and not the stack's. This process keeps the agent busy: a few keys
 * registered through it, then an operator re-import of one of them every `workMs`, each a check value and a
 * wrap through the agent. The child samples its heap (after a forced GC) and RSS every `sampleMs` and
 * answers the least-squares slope per minute of each: after a first minute of warm-up left out, and over the
 * second half of the run alone (after the allocator and the JIT have warmed up, and after the replay store has
 * filled its window when the run is long enough). It also answers what could grow without showing in the heap's
 * slope: external and ArrayBuffer memory, the process's active handles (sockets, timers, file handles) and the
 * agent's own counted structures (the replay store's ids, answers not yet recorded), first and last sample of the
 * second half.
 *
 * `nice -n 10 npx tsx bench/agent-soak.ts [minutes=30] [sampleSeconds=5] [keys=3] [workMs=2000]`;
 * `nice -n 10 npx tsx bench/agent-soak.ts quick`: the shorter mode, 8 minutes, a sample every 5 s, 3 keys, a
 * re-import every 500 ms (four times the default load, so the second half is past warm-up sooner).
 */
import { fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";
import { LOCAL_ADMIN, LOCAL_REGION, type LocalIdentity } from "../infra/local/runner/identities.js";
import { startLocalStack } from "../infra/local/runner/index.js";
import { localAgent } from "../infra/local/runner/local-agent.js";
import type { LocalVault } from "../infra/local/runner/local-vault.js";
import { AgentLog } from "../lib/agent/agent-log.js";
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
  readonly external: number;
  readonly arrayBuffers: number;
  /** The heap's spaces' used bytes (v8.getHeapSpaceStatistics): code_space is the JIT's, old_space the data's. */
  readonly spaces: Readonly<Record<string, number>>;
  /** process.getActiveResourcesInfo(): sockets, timers, file handles, ... by kind. */
  readonly resources: Readonly<Record<string, number>>;
  /** The replay store's ids (AgentLog.remembered). */
  readonly remembered: number;
  /** Answers the API has not recorded yet (VaultAgent.unsentAnswers). */
  readonly unsent: number;
}

/** What the second half's first and last samples held. */
export interface SoakCounts {
  readonly externalMiB: number;
  readonly arrayBuffersMiB: number;
  readonly resources: Readonly<Record<string, number>>;
  readonly remembered: number;
  readonly unsent: number;
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
  /** The slopes over the second half of the run alone. */
  readonly secondHalf: {
    readonly samples: number;
    readonly heapSlopeKiBPerMinute: number;
    readonly rssSlopeKiBPerMinute: number;
    readonly externalSlopeKiBPerMinute: number;
    /** Per heap space (code_space: compiled code; old_space: long-lived data). */
    readonly spaceSlopesKiBPerMinute: Readonly<Record<string, number>>;
    readonly rssFirstMiB: number;
    readonly rssLastMiB: number;
    readonly first: SoakCounts;
    readonly last: SoakCounts;
  };
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

/** Active resources by kind (a socket or timer kept per poll shows here as a growing count). */
function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** Slope per minute in KiB of one measure over the samples. */
function perMinute(samples: readonly Sample[], pick: (s: Sample) => number): number {
  return Number((slope(samples.map((s) => [s.atMs / 60_000, pick(s)] as const)) / 1024).toFixed(1));
}

function countsOf(s: Sample): SoakCounts {
  return {
    externalMiB: mib(s.external),
    arrayBuffersMiB: mib(s.arrayBuffers),
    resources: s.resources,
    remembered: s.remembered,
    unsent: s.unsent,
  };
}

/** The figures of a run from its samples (the agent's counts added by the caller). */
export function soakFigures(
  samples: readonly Sample[],
  durationMs: number,
): Omit<SoakResult, "answered" | "refused"> {
  const steady = samples.filter((s) => s.atMs >= Math.min(WARM_UP_MS, durationMs / 5));
  const half = samples.filter((s) => s.atMs >= durationMs / 2);
  const first = steady[0] as Sample;
  const last = steady[steady.length - 1] as Sample;
  const halfFirst = half[0] as Sample;
  return {
    minutes: Number((durationMs / 60_000).toFixed(2)),
    samples: steady.length,
    heapSlopeKiBPerMinute: perMinute(steady, (s) => s.heapUsed),
    rssSlopeKiBPerMinute: perMinute(steady, (s) => s.rss),
    heapFirstMiB: mib(first.heapUsed),
    heapLastMiB: mib(last.heapUsed),
    rssFirstMiB: mib(first.rss),
    rssLastMiB: mib(last.rss),
    secondHalf: {
      samples: half.length,
      heapSlopeKiBPerMinute: perMinute(half, (s) => s.heapUsed),
      rssSlopeKiBPerMinute: perMinute(half, (s) => s.rss),
      externalSlopeKiBPerMinute: perMinute(half, (s) => s.external),
      spaceSlopesKiBPerMinute: Object.fromEntries(
        Object.keys(halfFirst.spaces).map((space) => [space, perMinute(half, (s) => s.spaces[space] ?? 0)]),
      ),
      rssFirstMiB: mib(halfFirst.rss),
      rssLastMiB: mib(last.rss),
      first: countsOf(halfFirst),
      last: countsOf(last),
    },
  };
}

async function child(config: ChildConfig): Promise<void> {
  const vault = new FileVault({ directory: config.vaultDirectory, passphrase: config.vaultPassphrase });
  await vault.unlock();
  // A diagnostic: TETHER_AGENT_SOAK_REPLAY_WINDOW_MS=<ms> shortens the replay store's window (default 17 min),
  // so a short run sees the store full and the heap's slope without its filling.
  const windowMs = Number(process.env.TETHER_AGENT_SOAK_REPLAY_WINDOW_MS ?? Number.NaN);
  const log = await AgentLog.open(config.logFile, Number.isFinite(windowMs) ? windowMs : undefined);
  const agent = await localAgent(
    { publicKeyPem: config.publicKeyPem, identity: config.identity, vault: { vault } as LocalVault },
    { ...config, name: "soak-agent", log },
  );
  const controller = new AbortController();
  const serving = agent.run(controller.signal, 100);
  process.send?.({ ready: true });
  const samples: Sample[] = [];
  const started = performance.now();
  const gc = (globalThis as { gc?: () => void }).gc;
  // A diagnostic: TETHER_AGENT_SOAK_SNAPSHOTS=<dir> writes a heap snapshot at half time and at the end.
  const snapshots = process.env.TETHER_AGENT_SOAK_SNAPSHOTS;
  let halfSnapshot = snapshots === undefined;
  while (performance.now() - started < config.durationMs) {
    await new Promise((resolve) => setTimeout(resolve, config.sampleMs));
    gc?.();
    if (!halfSnapshot && performance.now() - started >= config.durationMs / 2) {
      halfSnapshot = true;
      writeHeapSnapshot(join(snapshots as string, "half.heapsnapshot"));
    }
    const { heapUsed, rss, external, arrayBuffers } = process.memoryUsage();
    samples.push({
      atMs: performance.now() - started,
      heapUsed,
      rss,
      external,
      arrayBuffers,
      spaces: Object.fromEntries(getHeapSpaceStatistics().map((x) => [x.space_name, x.space_used_size])),
      resources: resourceCounts(),
      remembered: log.remembered,
      unsent: agent.unsentAnswers,
    });
  }
  if (snapshots !== undefined) writeHeapSnapshot(join(snapshots, "end.heapsnapshot"));
  controller.abort();
  await serving;
  const result: SoakResult = {
    ...soakFigures(samples, config.durationMs),
    answered: agent.counts.answered,
    refused: agent.counts.refused,
  };
  process.send?.({ result });
}

async function parent(
  minutes: number,
  sampleSeconds: number,
  keyCount: number,
  workMs: number,
): Promise<void> {
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
      await new Promise((resolve) => setTimeout(resolve, workMs));
    }
    process.stdout.write(
      `${JSON.stringify({ ...(await result), keys: keyCount, workMs, reimports, failures }, null, 2)}\n`,
    );
  } finally {
    await stack.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes("--child")) {
  await child(JSON.parse(process.env.TETHER_AGENT_SOAK_CONFIG as string) as ChildConfig);
  process.exit(0);
} else if (process.argv[2] === "quick") {
  await parent(8, 5, 3, 500);
} else {
  await parent(
    Number(process.argv[2] ?? "30"),
    Number(process.argv[3] ?? "5"),
    Number(process.argv[4] ?? "3"),
    Number(process.argv[5] ?? "2000"),
  );
}
