/**
 * One sweep in a process of its own, so its peak RSS is the sweep's alone (as in a Lambda), not that of
 * the benchmark process that also hosts dynalite and the KMS emulator. Prints one JSON line.
 *
 * Usage: node --import tsx bench/sweep-worker.ts '<json WorkerInput>'
 */
import { DescribeKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { sweep } from "../lib/lifecycle/sweep.js";
import { FileVault } from "../lib/vault/file-vault.js";
import { buildDeps, CREDENTIALS, PASSPHRASE, REGION } from "./lib/bed.js";
import { instrumentKms, newKmsTiming } from "./lib/instrument.js";

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
  readonly maxRssMb: number;
}

async function runTether(input: WorkerInput): Promise<Omit<WorkerOutput, "maxRssMb">> {
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
async function runNaive(input: WorkerInput): Promise<Omit<WorkerOutput, "maxRssMb">> {
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

const input = JSON.parse(process.argv[2] ?? "{}") as WorkerInput;
const result = input.mode === "tether" ? await runTether(input) : await runNaive(input);
// maxRSS is in kilobytes (https://nodejs.org/api/process.html#processresourceusage).
const output: WorkerOutput = { ...result, maxRssMb: process.resourceUsage().maxRSS / 1024 };
process.stdout.write(`${JSON.stringify(output)}\n`);
