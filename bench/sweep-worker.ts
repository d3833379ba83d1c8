/**
 * One sweep in a process of its own, so its peak RSS is the sweep's alone (as in a Lambda), not that of
 * the benchmark process that also hosts dynalite and the KMS emulator (measured as VmHWM: lib/peak-rss.ts). Prints one JSON line. It imports
 * nothing of the local AWS (lib/deps.ts, not lib/bed.ts), so its bundle holds what a sweep Lambda's does
 * plus the counting middleware and the naive sweep.
 *
 * Usage (sweep-cost.ts bundles it first, lib/bundle.ts): node --enable-source-maps <bundle>.mjs '<json WorkerInput>'
 * or, unbundled: node --import tsx bench/sweep-worker.ts '<json WorkerInput>'
 */
import { DescribeKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { sweep } from "../lib/lifecycle/scheduled/sweep.js";
import { FileVault } from "../lib/vault/file/file-vault.js";
import { buildDeps, CREDENTIALS, PASSPHRASE, REGION } from "./lib/deps.js";
import { instrumentKms, newKmsTiming } from "./lib/instrument.js";
import { type PeakRss, peakRss } from "./lib/peak-rss.js";

export interface WorkerInput {
  readonly mode: "tether" | "naive";
  readonly env: Record<string, string>;
  readonly vaultDir: string;
  /** Tether's clock = Date.now() + offsetMs (the emulator's). */
  readonly offsetMs: number;
  readonly limit: number;
  readonly concurrency: number;
}

export interface WorkerOutput {
  readonly wallMs: number;
  readonly itemsRead: number;
  readonly readCapacityUnits: number;
  readonly itemsByOperation: Record<string, number>;
  /** Regions the sweep worked on (Tether), or Region items found (naive). */
  readonly processed: number;
  readonly outcomes: Record<string, number>;
  /** This process's peak RSS (lib/peak-rss.ts: VmHWM, not getrusage's maxRSS). */
  readonly peakRssMb: number;
  readonly peakRssSource: PeakRss["source"];
  /** getrusage's ru_maxrss, for comparison: on Linux it includes memory of the benchmark process that forked this one. */
  readonly ruMaxRssMb: number;
  /** RSS once the modules are loaded, before the sweep starts: the process's fixed cost. */
  readonly loadedRssMb: number;
}

type Measured = Omit<WorkerOutput, "peakRssMb" | "peakRssSource" | "ruMaxRssMb" | "loadedRssMb">;

async function runTether(input: WorkerInput): Promise<Measured> {
  const vault = new FileVault({ directory: input.vaultDir, passphrase: PASSPHRASE });
  const bench = buildDeps(input.env, vault, () => new Date(Date.now() + input.offsetMs));
  const started = performance.now();
  const report = await sweep(bench.deps, {
    correlationId: "bench-sweep",
    limit: input.limit,
    concurrency: input.concurrency,
  });
  const wallMs = performance.now() - started;
  bench.close();
  return {
    wallMs,
    itemsRead: bench.dynamo.itemsRead,
    readCapacityUnits: bench.dynamo.readCapacityUnits,
    itemsByOperation: { ...bench.dynamo.byOperation },
    processed: report.processed,
    outcomes: { ...report.outcomes },
  };
}

/**
 * What a cron script or a Terraform refresh does: read every item of the table (page by page, never all
 * in memory), and DescribeKey every Region item's key ARN, `concurrency` at once, without a limiter.
 */
async function runNaive(input: WorkerInput): Promise<Measured> {
  const bench = buildDeps(
    input.env,
    new FileVault({ directory: input.vaultDir, passphrase: PASSPHRASE }),
    () => new Date(),
  );
  const doc = DynamoDBDocumentClient.from(bench.dynamodbClient);
  const kms = new KMSClient({
    region: REGION,
    endpoint: input.env.TETHER_KMS_ENDPOINT,
    credentials: CREDENTIALS,
    maxAttempts: 4,
  });
  instrumentKms(kms, newKmsTiming());
  const outcomes: Record<string, number> = {};
  let processed = 0;
  const started = performance.now();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({ TableName: input.env.TETHER_TABLE_NAME, ExclusiveStartKey: start }),
    );
    const arns = (page.Items ?? [])
      .filter((item) => String(item.sk).startsWith("REGION#"))
      .map((item) => String(item.keyArn));
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(input.concurrency, arns.length) }, async () => {
        for (let i = next++; i < arns.length; i = next++) {
          let state: string;
          try {
            const out = await kms.send(new DescribeKeyCommand({ KeyId: arns[i] }));
            state = out.KeyMetadata?.KeyState ?? "Unknown";
          } catch (error) {
            state = error instanceof Error ? error.name : "UnknownError";
          }
          outcomes[state] = (outcomes[state] ?? 0) + 1;
          processed++;
        }
      }),
    );
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  const wallMs = performance.now() - started;
  kms.destroy();
  bench.close();
  return {
    wallMs,
    itemsRead: bench.dynamo.itemsRead,
    readCapacityUnits: bench.dynamo.readCapacityUnits,
    itemsByOperation: { ...bench.dynamo.byOperation },
    processed,
    outcomes,
  };
}

const loadedRssMb = process.memoryUsage().rss / (1024 * 1024);
const input = JSON.parse(process.argv[2] ?? "{}") as WorkerInput;
const result = input.mode === "tether" ? await runTether(input) : await runNaive(input);
const peak = peakRss();
const output: WorkerOutput = {
  ...result,
  peakRssMb: peak.mb,
  peakRssSource: peak.source,
  // In kilobytes (https://nodejs.org/api/process.html#processresourceusage).
  ruMaxRssMb: process.resourceUsage().maxRSS / 1024,
  loadedRssMb,
};
process.stdout.write(`${JSON.stringify(output)}\n`);
