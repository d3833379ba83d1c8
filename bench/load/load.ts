/**
 * A bounded load run against a running local stack (loopback only): concurrent admin reads and writes
 * while sweeps run and KMS events arrive (out-of-band deletions with their CloudTrail events), with the
 * emulator's AWS request quotas on. Bounded by time and by request count. Reports latency percentiles, the
 * status histogram, leases still held after the run, and RSS at start and end.
 */

import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { DeleteImportedKeyMaterialCommand, KMSClient } from "@aws-sdk/client-kms";
import { LOCAL_ADMIN, LOCAL_READER, type LocalStack } from "../../infra/local/runner/index.js";
import { signedFetch } from "../../test/e2e/support.js";

export interface LoadOptions {
  readonly seconds: number;
  /** Keys registered before the run (through the API, before quotas go on). */
  readonly keys: number;
  /** Clients sending requests at once. */
  readonly concurrency: number;
  /** Stop after this many requests even if time is left. */
  readonly maxRequests?: number;
  readonly log?: (line: string) => void;
}

export interface LoadReport {
  readonly seconds: number;
  readonly requests: number;
  readonly statuses: Record<string, number>;
  /** Answers other than 2xx and the documented 409/429 (and 404 for an unmanaged key in a race). */
  readonly unexpected: number;
  readonly latencyMs: { p50: number; p90: number; p99: number; max: number };
  readonly sweeps: number;
  readonly kmsEvents: number;
  /** Regions whose lease is still held (not expired) once all work stopped. */
  readonly stuckLeases: number;
  readonly rssMb: { start: number; end: number };
}

const admin = { accessKeyId: LOCAL_ADMIN.accessKeyId, secretAccessKey: LOCAL_ADMIN.secretAccessKey };
const reader = { accessKeyId: LOCAL_READER.accessKeyId, secretAccessKey: LOCAL_READER.secretAccessKey };
/** 2xx, and what the API documents for contention: 409 (state or version conflict), 429 (throttled). */
const EXPECTED = new Set([200, 201, 409, 429]);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
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

/**
 * Registers `keys` keys, turns the emulator's quotas on, then runs the load until time or count is up.
 * @throws Error when the registration of the keys fails (nothing to load)
 */
export async function runLoad(stack: LocalStack, options: LoadOptions): Promise<LoadReport> {
  const log = options.log ?? (() => {});
  const api = (method: string, path: string, credentials = admin, body?: unknown) =>
    signedFetch(stack.apiUrl, { method, path, credentials, ...(body === undefined ? {} : { body }) });
  const keys: Array<{ id: string; arn: string }> = [];
  for (let i = 0; i < options.keys; i++) {
    const out = await api("POST", "/keys", admin, {
      mode: "create",
      region: "eu-west-1",
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: `load/${Date.now()}-${i}`,
      generateMaterial: true,
      policy: { validityPeriod: "P30D", wrappingKeySpec: "RSA_2048", restoreAfterOutOfBandDelete: true },
    });
    if (out.status !== 201) throw new Error(`registering load key ${i}: HTTP ${out.status}`);
    const key = (out.body as { key: { id: string; regions: Array<{ keyArn: string }> } }).key;
    keys.push({ id: key.id, arn: key.regions[0]?.keyArn ?? "" });
  }
  await stack.localAws.kms.admin.setQuotas({});
  // Measured once the keys exist and the stack is warm, so start→end shows what the load itself held on to.
  const rssStart = rssMb();
  log(
    `${keys.length} keys registered; quotas on (AWS defaults); ${options.concurrency} clients for ${options.seconds} s`,
  );

  const kms = new KMSClient({
    endpoint: stack.endpoints.kms,
    region: "eu-west-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  const deadline = Date.now() + options.seconds * 1000;
  const maxRequests = options.maxRequests ?? 1_000_000;
  let requests = 0;
  let sweeps = 0;
  let kmsEvents = 0;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
  const more = () => Date.now() < deadline && requests < maxRequests;

  const client = async () => {
    while (more()) {
      const key = pick(keys);
      const id = encodeURIComponent(key.id);
      const roll = Math.random();
      const started = performance.now();
      let status: number;
      try {
        const out =
          roll < 0.3
            ? await api("GET", "/keys?limit=10", reader)
            : roll < 0.5
              ? await api("GET", `/keys/${id}`, reader)
              : roll < 0.6
                ? await api("GET", `/keys/${id}/history?limit=20`, reader)
                : roll < 0.72
                  ? await api("POST", `/keys/${id}/reimport`, admin, {})
                  : roll < 0.82
                    ? await api("PATCH", `/keys/${id}/policy`, admin, {
                        renewBefore: pick(["P5D", "P6D", "P7D"]),
                      })
                    : roll < 0.91
                      ? await api("POST", `/keys/${id}/revoke`, admin, { reason: "load" })
                      : await api("POST", `/keys/${id}/restore`, admin, { reason: "load" });
        status = out.status;
      } catch {
        status = 0; // the connection failed
      }
      latencies.push(performance.now() - started);
      statuses[status] = (statuses[status] ?? 0) + 1;
      requests++;
    }
  };
  const sweeper = async () => {
    while (more()) {
      await stack.sweepNow().catch(() => undefined);
      sweeps++;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const kmsEventSource = async () => {
    while (more()) {
      const key = pick(keys);
      const deleted = await kms
        .send(new DeleteImportedKeyMaterialCommand({ KeyId: key.arn }))
        .then(() => true)
        .catch(() => false); // already gone, or throttled by the quota
      if (deleted) {
        await fetch(`${stack.endpoints.events}/_local/service-events`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ Events: [deletionEvent(key.arn, "eu-west-1")] }),
        });
        kmsEvents++;
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  };
  const started = Date.now();
  await Promise.all([...Array.from({ length: options.concurrency }, client), sweeper(), kmsEventSource()]);
  const elapsed = (Date.now() - started) / 1000;
  // Let the last sweep and event deliveries finish, then look for leases still held.
  await stack.sweepNow().catch(() => undefined);
  await stack.localAws.events.drain();
  await stack.localAws.kms.admin.setQuotas(false);
  const stuckLeases = await heldLeases(stack);
  kms.destroy();

  latencies.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  const report: LoadReport = {
    seconds: round(elapsed),
    requests,
    statuses,
    unexpected: Object.entries(statuses)
      .filter(([s]) => !EXPECTED.has(Number(s)))
      .reduce((n, [, c]) => n + c, 0),
    latencyMs: {
      p50: round(percentile(latencies, 50)),
      p90: round(percentile(latencies, 90)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies.at(-1) ?? 0),
    },
    sweeps,
    kmsEvents,
    stuckLeases,
    rssMb: { start: rssStart, end: rssMb() },
  };
  log(JSON.stringify(report));
  return report;
}

/** Region items whose lease has not expired (by the stack's clock, which is the real one here). */
async function heldLeases(stack: LocalStack): Promise<number> {
  const dynamodb = new DynamoDBClient({
    endpoint: stack.endpoints.dynamodb,
    region: stack.region,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  try {
    let held = 0;
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
        const expires = Number(item.leaseExpiresAt?.N ?? 0);
        if (item.leaseOwner?.S !== undefined && expires > now) held++;
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return held;
  } finally {
    dynamodb.destroy();
  }
}
