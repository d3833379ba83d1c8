/**
 * A bounded load run against a running local stack (loopback only): concurrent admin reads and writes
 * while sweeps run and KMS events arrive (out-of-band deletions with their CloudTrail events, some
 * delivered twice or late, as EventBridge may), with the emulator's AWS request quotas on. Bounded by time
 * and by request count. Reports latency percentiles (overall, reads, writes, per minute), the status
 * histogram, leases still held after the run, and memory sampled over the run.
 */

import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { ClientRequest } from "node:http";
import { DeleteTableCommand, DynamoDBClient, QueryCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { DeleteImportedKeyMaterialCommand, KMSClient } from "@aws-sdk/client-kms";
import { LOCAL_ADMIN, LOCAL_READER, type LocalStack } from "../../infra/local/runner/index.js";
import { signedFetch } from "../../test/e2e/support.js";
import { type MemorySample, MemorySampler, type MemorySummary } from "./memory.js";
import { registerDirect } from "./register-direct.js";

export interface LoadOptions {
  readonly seconds: number;
  /** Keys registered before the run (before quotas go on). */
  readonly keys: number;
  /** Clients sending requests at once. */
  readonly concurrency: number;
  /** Stop after this many requests even if time is left. */
  readonly maxRequests?: number;
  /**
   * How the keys are registered: "api" (POST /keys, default) or "direct" (Tether's registerKey use case
   * against the same table, vault and KMS, without the client-side rate limiter: GetParametersForImport's
   * 1/s quota would make 1,000 registrations through the API take over 20 minutes of setup).
   */
  readonly register?: "api" | "direct";
  /**
   * After the run, delete Tether's table and sample memory again, to tell how much of the growth is the
   * table's data held by dynalite in this process. Leaves the stack without its table: last use only.
   */
  readonly measureTableMemory?: boolean;
  /** Relative weights of the admin operations; default DEFAULT_MIX. */
  readonly mix?: Readonly<Partial<Record<Operation, number>>>;
  /** Run sweeps and KMS events alongside (default both true). */
  readonly sweeps?: boolean;
  readonly kmsEvents?: boolean;
  /** Memory sample period; default 5 s. */
  readonly sampleEveryMs?: number;
  /**
   * Pause between out-of-band deletions (each with its CloudTrail event); default 300 ms. Each one costs
   * a restore, and restores share GetParametersForImport's 1 request per second with the admin writes:
   * above that rate the restores queue (a backlog, not a steady state).
   */
  readonly eventEveryMs?: number;
  readonly log?: (line: string) => void;
}

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface MinuteWindow extends Percentiles {
  readonly minute: number;
  readonly statuses: Record<string, number>;
}

export interface LoadReport {
  readonly seconds: number;
  /** After the load stopped: in-flight requests, late events, a last sweep and the bus's deliveries. */
  readonly drainSeconds: number;
  readonly keys: number;
  readonly concurrency: number;
  readonly registerSeconds: number;
  readonly requests: number;
  readonly statuses: Record<string, number>;
  /** Status histogram per operation. */
  readonly statusesByOperation: Record<string, Record<string, number>>;
  /** Answers other than 2xx and the documented 409/429. */
  readonly unexpected: number;
  /** The first few unexpected answers: operation, status, latency and body (cut to 300 characters). */
  readonly unexpectedSamples: Array<{ operation: string; status: number; ms: number; body: string }>;
  readonly latencyMs: { p50: number; p90: number; p99: number; max: number };
  readonly latencyByKind: { read: Percentiles; write: Percentiles };
  readonly perMinute: MinuteWindow[];
  readonly sweeps: number;
  /** Sweeps that threw (the scheduled function failed). */
  readonly sweepErrors: number;
  /** Region outcomes of every sweep, summed by kind. */
  readonly sweepOutcomes: Record<string, number>;
  readonly kmsEvents: number;
  /** Of kmsEvents: delivered a second time, and delivered 2–5 s late. */
  readonly kmsEventsDuplicated: number;
  readonly kmsEventsLate: number;
  /** What the emulator counted during the run: calls and throttles (quota) per operation, all Regions. */
  readonly kms: { calls: Record<string, number>; throttles: Record<string, number> };
  /** Regions whose lease is still held (not expired) once all work stopped. */
  readonly stuckLeases: number;
  /**
   * DynamoDB requests every client in this process sent during the run (by operation), and what one
   * Query costs dynalite's memory here (it keeps part of every Query: see bench/results/soak/README.md),
   * measured after the run with `calibrationQueries` Queries; `estimatedMb` = queries × that cost.
   */
  readonly dynamodb: {
    readonly requests: Record<string, number>;
    readonly calibrationQueries: number;
    readonly perQueryKb: { heap: number; external: number };
    readonly estimatedMb: { heap: number; external: number };
  };
  /**
   * Events the local buses hold at the end (they keep a bounded history in this process, for
   * `GET /_local/events`), by bus, and their size as JSON, MB.
   */
  readonly eventBusHistory: { readonly events: Record<string, number>; readonly jsonMb: number };
  /** Tether's table at the end: items, and their size as DynamoDB counts it (names + values), MB. */
  readonly table: { items: number; mb: number };
  /** Memory (after a full GC when available) just before and after deleting the table (measureTableMemory). */
  readonly tableMemory?: { before: MemorySample; after: MemorySample };
  readonly rssMb: { start: number; end: number };
  readonly memory: MemorySummary;
  readonly memorySamples: MemorySample[];
}

const admin = { accessKeyId: LOCAL_ADMIN.accessKeyId, secretAccessKey: LOCAL_ADMIN.secretAccessKey };
const reader = { accessKeyId: LOCAL_READER.accessKeyId, secretAccessKey: LOCAL_READER.secretAccessKey };
/** 2xx, and what the API documents for contention: 409 (state or version conflict), 429 (throttled). */
const EXPECTED = new Set([200, 201, 409, 429]);
const POLICY = { validityPeriod: "P30D", wrappingKeySpec: "RSA_2048", restoreAfterOutOfBandDelete: true };

const round = (n: number) => Math.round(n * 10) / 10;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? 0),
  };
}

const rssMb = () => Math.round(process.memoryUsage().rss / 1024 / 1024);

/** CloudTrail's record of someone else's DeleteImportedKeyMaterial, as EventBridge delivers it. */
function deletionEvent(arn: string, region: string): unknown {
  const account = arn.split(":")[4] ?? "111122223333";
  return {
    version: "0",
    id: crypto.randomUUID(),
    "detail-type": "AWS API Call via CloudTrail",
    source: "aws.kms",
    account,
    time: `${new Date().toISOString().slice(0, 19)}Z`,
    region,
    resources: [],
    detail: {
      eventSource: "kms.amazonaws.com",
      eventName: "DeleteImportedKeyMaterial",
      awsRegion: region,
      userIdentity: { type: "AssumedRole", arn: `arn:aws:sts::${account}:assumed-role/BreakGlass/load` },
      requestParameters: { keyId: arn.split("/")[1] },
      resources: [{ accountId: account, type: "AWS::KMS::Key", ARN: arn }],
    },
  };
}

export type Operation = "list" | "show" | "history" | "reimport" | "policy" | "revoke" | "restore";
const READS = new Set<Operation>(["list", "show", "history"]);

/** The default mix: 60 % reads, 40 % writes. */
export const DEFAULT_MIX: Readonly<Record<Operation, number>> = {
  list: 30,
  show: 20,
  history: 10,
  reimport: 12,
  policy: 10,
  revoke: 9,
  restore: 9,
};
export const OPERATIONS = Object.keys(DEFAULT_MIX) as Operation[];

function chooser(mix: Readonly<Partial<Record<Operation, number>>>): (roll: number) => Operation {
  const entries = OPERATIONS.map((op) => [op, mix[op] ?? 0] as const).filter(([, w]) => w > 0);
  const total = entries.reduce((n, [, w]) => n + w, 0);
  if (total <= 0) throw new RangeError("the operation mix has no positive weight");
  return (roll) => {
    let left = roll * total;
    for (const [op, w] of entries) {
      if (left < w) return op;
      left -= w;
    }
    return entries.at(-1)?.[0] as Operation;
  };
}

/**
 * Registers `keys` keys, turns the emulator's quotas on, then runs the load until time or count is up.
 * @throws Error when the registration of the keys fails (nothing to load)
 */
export async function runLoad(stack: LocalStack, options: LoadOptions): Promise<LoadReport> {
  const log = options.log ?? (() => {});
  const api = (method: string, path: string, credentials = admin, body?: unknown) =>
    signedFetch(stack.apiUrl, { method, path, credentials, ...(body === undefined ? {} : { body }) });
  const registerStarted = Date.now();
  const keys: Array<{ id: string; arn: string }> = [];
  if (options.register === "direct") {
    keys.push(
      ...(await registerDirect(stack, options.keys, POLICY, (done) => log(`${done} keys registered`))),
    );
  } else {
    for (let i = 0; i < options.keys; i++) {
      const out = await api("POST", "/keys", admin, {
        mode: "create",
        region: "eu-west-1",
        keySpec: "SYMMETRIC_DEFAULT",
        materialRef: `load/${Date.now()}-${i}`,
        generateMaterial: true,
        policy: POLICY,
      });
      if (out.status !== 201) throw new Error(`registering load key ${i}: HTTP ${out.status}`);
      const key = (out.body as { key: { id: string; regions: Array<{ keyArn: string }> } }).key;
      keys.push({ id: key.id, arn: key.regions[0]?.keyArn ?? "" });
    }
  }
  const registerSeconds = round((Date.now() - registerStarted) / 1000);
  await stack.localAws.kms.admin.setQuotas({});
  await stack.localAws.kms.admin.resetStats();
  // Measured once the keys exist and the stack is warm, so start→end shows what the load itself held on to.
  const rssStart = rssMb();
  const dynamoRequests: Record<string, number> = {};
  const countDynamo = (message: unknown) => {
    const target = (message as { request?: ClientRequest }).request?.getHeader("x-amz-target");
    if (typeof target === "string" && target.startsWith("DynamoDB_20120810.")) {
      const op = target.slice("DynamoDB_20120810.".length);
      dynamoRequests[op] = (dynamoRequests[op] ?? 0) + 1;
    }
  };
  subscribe("http.client.request.start", countDynamo);
  const processes = stack.localAws.processes;
  const sampler = new MemorySampler(
    options.sampleEveryMs ?? 5000,
    processes === undefined
      ? []
      : [
          { name: "dynalite", pid: processes.dynamodb.pid, memory: () => processes.dynamodb.memory() },
          { name: "kms", pid: processes.kms.pid, memory: () => processes.kms.memory() },
        ],
  );
  await sampler.start();
  log(
    `${keys.length} keys registered in ${registerSeconds} s; quotas on (AWS defaults); ` +
      `${options.concurrency} clients for ${options.seconds} s`,
  );

  const kms = new KMSClient({
    endpoint: stack.endpoints.kms,
    region: "eu-west-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const statuses: Record<string, number> = {};
  const unexpectedSamples: LoadReport["unexpectedSamples"] = [];
  const statusesByOperation: Record<string, Record<string, number>> = {};
  const latencies: number[] = [];
  const byKind = { read: [] as number[], write: [] as number[] };
  const minutes: Array<{ latencies: number[]; statuses: Record<string, number> }> = [];
  const started = Date.now();
  const deadline = started + options.seconds * 1000;
  const maxRequests = options.maxRequests ?? 1_000_000_000;
  let requests = 0;
  let sweeps = 0;
  let sweepErrors = 0;
  const sweepOutcomes: Record<string, number> = {};
  let kmsEvents = 0;
  let kmsEventsDuplicated = 0;
  let kmsEventsLate = 0;
  const late: Promise<unknown>[] = [];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
  const more = () => Date.now() < deadline && requests < maxRequests;

  const chooseOperation = chooser(options.mix ?? DEFAULT_MIX);
  const send = async (operation: Operation, id: string) => {
    switch (operation) {
      case "list":
        return api("GET", "/keys?limit=10", reader);
      case "show":
        return api("GET", `/keys/${id}`, reader);
      case "history":
        return api("GET", `/keys/${id}/history?limit=20`, reader);
      case "reimport":
        return api("POST", `/keys/${id}/reimport`, admin, {});
      case "policy":
        return api("PATCH", `/keys/${id}/policy`, admin, { renewBefore: pick(["P5D", "P6D", "P7D"]) });
      case "revoke":
        return api("POST", `/keys/${id}/revoke`, admin, { reason: "load" });
      case "restore":
        return api("POST", `/keys/${id}/restore`, admin, { reason: "load" });
    }
  };

  const client = async () => {
    while (more()) {
      const key = pick(keys);
      const operation = chooseOperation(Math.random());
      const t0 = performance.now();
      let status: number;
      let answer: unknown;
      try {
        const out = await send(operation, encodeURIComponent(key.id));
        status = out.status;
        answer = out.body;
      } catch (error) {
        status = 0; // the connection failed
        // fetch says only "fetch failed"; the reason (ECONNRESET, a timeout, ...) is in its cause.
        const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
        answer = `${error instanceof Error ? error.message : String(error)}${cause === undefined ? "" : ` (${String(cause.code ?? cause.message)})`}`;
      }
      const ms = performance.now() - t0;
      if (!EXPECTED.has(status) && unexpectedSamples.length < 10) {
        const body = typeof answer === "string" ? answer : JSON.stringify(answer);
        unexpectedSamples.push({ operation, status, ms: round(ms), body: (body ?? "").slice(0, 300) });
      }
      latencies.push(ms);
      byKind[READS.has(operation) ? "read" : "write"].push(ms);
      statuses[status] = (statuses[status] ?? 0) + 1;
      const perOp = statusesByOperation[operation] ?? {};
      perOp[status] = (perOp[status] ?? 0) + 1;
      statusesByOperation[operation] = perOp;
      const minute = Math.floor((Date.now() - started) / 60_000);
      const window = minutes[minute] ?? { latencies: [], statuses: {} };
      window.latencies.push(ms);
      window.statuses[status] = (window.statuses[status] ?? 0) + 1;
      minutes[minute] = window;
      requests++;
    }
  };
  const sweeper = async () => {
    while (more()) {
      try {
        const report = await stack.sweepNow();
        for (const [kind, n] of Object.entries(report.outcomes)) {
          sweepOutcomes[kind] = (sweepOutcomes[kind] ?? 0) + n;
        }
      } catch {
        sweepErrors++;
      }
      sweeps++;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const deliver = (event: unknown) =>
    fetch(`${stack.endpoints.events}/_local/service-events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ Events: [event] }),
    });
  const kmsEventSource = async () => {
    while (more()) {
      const key = pick(keys);
      const deleted = await kms
        .send(new DeleteImportedKeyMaterialCommand({ KeyId: key.arn }))
        .then(() => true)
        .catch(() => false); // already gone, or throttled by the quota
      if (deleted) {
        const event = deletionEvent(key.arn, "eu-west-1");
        const roll = Math.random();
        if (roll < 0.15) {
          // Late: after other work on the key (EventBridge gives no ordering or timing guarantee).
          kmsEventsLate++;
          late.push(
            new Promise((resolve) => setTimeout(resolve, 2000 + Math.random() * 3000)).then(() =>
              deliver(event),
            ),
          );
        } else {
          await deliver(event);
          if (roll < 0.4) {
            kmsEventsDuplicated++;
            await deliver(event);
          }
        }
        kmsEvents++;
      }
      await new Promise((resolve) => setTimeout(resolve, options.eventEveryMs ?? 300));
    }
  };
  await Promise.all([
    ...Array.from({ length: options.concurrency }, client),
    ...(options.sweeps === false ? [] : [sweeper()]),
    ...(options.kmsEvents === false ? [] : [kmsEventSource()]),
  ]);
  const elapsed = (Date.now() - started) / 1000;
  const drainStarted = Date.now();
  await Promise.allSettled(late);
  // Let the last sweep and event deliveries finish, then look for leases still held.
  await stack.sweepNow().catch(() => {
    sweepErrors++;
  });
  await stack.localAws.events.drain();
  const drainSeconds = round((Date.now() - drainStarted) / 1000);
  const stats = await stack.localAws.kms.admin.stats();
  await stack.localAws.kms.admin.setQuotas(false);
  unsubscribe("http.client.request.start", countDynamo);
  const { held: stuckLeases, items, bytes } = await scanTable(stack);
  const busEvents: Record<string, number> = {};
  let busJsonBytes = 0;
  for (const name of ["default", stack.auditBusName]) {
    const held = stack.localAws.events.events(name);
    busEvents[name] = held.length;
    for (const event of held) busJsonBytes += JSON.stringify(event).length;
  }
  kms.destroy();
  await sampler.stop();
  const calibration = await queryCost(stack, 3000);
  const queries = dynamoRequests.Query ?? 0;
  let tableMemory: LoadReport["tableMemory"];
  if (options.measureTableMemory === true) {
    await sampler.sample();
    const before = sampler.samples.pop() as MemorySample;
    await dropTable(stack);
    await sampler.sample();
    tableMemory = { before, after: sampler.samples.pop() as MemorySample };
  }

  const sumRegions = (table: Record<string, Record<string, number>>) => {
    const out: Record<string, number> = {};
    for (const row of Object.values(table)) {
      for (const [op, n] of Object.entries(row)) out[op] = (out[op] ?? 0) + n;
    }
    return out;
  };
  const overall = percentiles(latencies);
  const report: LoadReport = {
    seconds: round(elapsed),
    drainSeconds,
    keys: keys.length,
    concurrency: options.concurrency,
    registerSeconds,
    requests,
    statuses,
    statusesByOperation,
    unexpected: Object.entries(statuses)
      .filter(([s]) => !EXPECTED.has(Number(s)))
      .reduce((n, [, c]) => n + c, 0),
    unexpectedSamples,
    latencyMs: { p50: overall.p50, p90: overall.p90, p99: overall.p99, max: overall.max },
    latencyByKind: { read: percentiles(byKind.read), write: percentiles(byKind.write) },
    perMinute: minutes.map((w, minute) => ({ minute, ...percentiles(w.latencies), statuses: w.statuses })),
    sweeps,
    sweepErrors,
    sweepOutcomes,
    kmsEvents,
    kmsEventsDuplicated,
    kmsEventsLate,
    kms: { calls: sumRegions(stats.calls), throttles: sumRegions(stats.throttles) },
    stuckLeases,
    dynamodb: {
      requests: dynamoRequests,
      calibrationQueries: 3000,
      perQueryKb: calibration,
      estimatedMb: {
        heap: round((queries * calibration.heap) / 1024),
        external: round((queries * calibration.external) / 1024),
      },
    },
    eventBusHistory: { events: busEvents, jsonMb: Math.round((busJsonBytes / 1024 / 1024) * 10) / 10 },
    table: { items, mb: Math.round((bytes / 1024 / 1024) * 10) / 10 },
    ...(tableMemory === undefined ? {} : { tableMemory }),
    rssMb: { start: rssStart, end: rssMb() },
    memory: sampler.summary(),
    memorySamples: sampler.samples,
  };
  const { memorySamples: _samples, perMinute: _minutes, ...brief } = report;
  log(JSON.stringify(brief));
  return report;
}

/**
 * Region items whose lease has not expired (by the stack's clock, which is the real one here), and the
 * table's items and size (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html:
 * attribute names plus values).
 */
async function scanTable(stack: LocalStack): Promise<{ held: number; items: number; bytes: number }> {
  const dynamodb = new DynamoDBClient({
    endpoint: stack.endpoints.dynamodb,
    region: stack.region,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  try {
    let held = 0;
    let items = 0;
    let bytes = 0;
    let start: Record<string, unknown> | undefined;
    const now = Date.now();
    do {
      const page = await dynamodb.send(
        new ScanCommand({
          TableName: stack.tableName,
          ...(start ? { ExclusiveStartKey: start as never } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        items++;
        bytes += itemBytes(item);
        const expires = Number(item.leaseExpiresAt?.N ?? 0);
        if (item.leaseOwner?.S !== undefined && expires > now) held++;
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return { held, items, bytes };
  } finally {
    dynamodb.destroy();
  }
}

/** An item's size, roughly as DynamoDB counts it: attribute names plus values (JSON of each value). */
function itemBytes(item: Record<string, unknown>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += name.length + JSON.stringify(value).length;
  return bytes;
}

/** Memory kept per Query (heap and external KB), from `n` Queries of an empty partition after full GCs. */
async function queryCost(stack: LocalStack, n: number): Promise<{ heap: number; external: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const dynamodb = new DynamoDBClient({
    endpoint: stack.endpoints.dynamodb,
    region: stack.region,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const query = () =>
    dynamodb.send(
      new QueryCommand({
        TableName: stack.tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: "LOAD#calibration" } },
        Limit: 10,
      }),
    );
  try {
    // dynalite's own process when it runs apart, else this one.
    const child = stack.localAws.processes?.dynamodb;
    const memory = async () => {
      if (child !== undefined) return child.memory();
      gc?.();
      return process.memoryUsage();
    };
    for (let i = 0; i < 100; i++) await query();
    const before = await memory();
    for (let i = 0; i < n; i++) await query();
    const after = await memory();
    const kb = (bytes: number) => Math.round((bytes / n / 1024) * 100) / 100;
    return { heap: kb(after.heapUsed - before.heapUsed), external: kb(after.external - before.external) };
  } finally {
    dynamodb.destroy();
  }
}

async function dropTable(stack: LocalStack): Promise<void> {
  const dynamodb = new DynamoDBClient({
    endpoint: stack.endpoints.dynamodb,
    region: stack.region,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  try {
    await dynamodb.send(new DeleteTableCommand({ TableName: stack.tableName }));
    // dynalite deletes a table's data asynchronously, after a short delay.
    await new Promise((resolve) => setTimeout(resolve, 3000));
  } finally {
    dynamodb.destroy();
  }
}
