/**
 * Mass renewal across member accounts (issue 20): N accounts × K keys each, all due at once, the emulator
 * enforcing AWS's default request quotas per account and Region (ImportKeyMaterial 15/s, GetParametersForImport
 * 1/s: https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html), one sweep run with
 * Tether's defaults (TETHER_KMS_QUOTA_SHARE 0.8, TETHER_SWEEP_CONCURRENCY 8 per partition, TETHER_SWEEP_PARTITIONS
 * 10). The aggregate renewal rate at 4 and 10 accounts is given as a ratio to 1 account, measured in the same
 * process; throttling errors are counted by the emulator (each one a ThrottlingException it answered). Sweep runs
 * go back to back, each taking TETHER_SWEEP_LIMIT (500) due Regions, until nothing is due (as a drain does);
 * the time between them (the next run's Query) is in the figure.
 *
 * Members as a deployment has them: each account has the member role in the local STS (trusting the hub with
 * an external id) and is registered in Tether's registry (the table), and the sweep's KMS adapter is the
 * composition's: each key's calls go to the account its ARN names, through a client signing with the member
 * role's session (StsMemberCredentials, `tether-sweep`), paced by one rate limiter in each account's own
 * budget. Each account's keys are created by an operator of that account (an IAM user of it) and imported by
 * Tether through the member role. Import parameters are warm (kept from registration in one cache, as a warm
 * Lambda keeps them): ImportKeyMaterial is the bound, as in bench/mass-renewal.ts.
 *
 *   npx tsx bench/multi-account-renewal.ts [--keys=200] [--accounts=1,4,10] [--serial] [--out=bench/results]
 *
 * --serial adds, for the largest N, a run with the partitions drained one at a time (TETHER_SWEEP_PARTITIONS=1:
 * what one global due list gave), on the same keys made due again: the baseline the partitioning is for.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SHARED_PRIME_ENV } from "../infra/local/kms/wrapping-key-pool.js";
import { ImportParametersCache } from "../lib/kms/import-parameters.js";
import { sweep } from "../lib/lifecycle/scheduled/sweep.js";
import { type Bed, startBed } from "./lib/bed.js";
import { BENCH_DIR } from "./lib/child.js";

const POLICY = { validityPeriod: "PT2H", renewBefore: "PT1H" };
/** Past the renew window of POLICY (validTo - 1 h), short of expiry. */
const ADVANCE_MS = 61 * 60 * 1000;
/** AWS's default ImportKeyMaterial quota per account and Region, and Tether's default share of it. */
const IMPORT_QUOTA = 15;
const SHARE = 0.8;

export interface AccountsRow {
  readonly accounts: number;
  readonly keysPerAccount: number;
  /** Partitions drained at once. */
  readonly partitionConcurrency: number;
  readonly renewed: number;
  readonly failed: number;
  readonly wallMs: number;
  readonly renewalsPerSecond: number;
  /** renewalsPerSecond / the 1-account row's (undefined when that row was not run). */
  readonly ratioToOne: number | undefined;
  /** Quota-bound ideal: accounts × 15/s × 0.8. */
  readonly idealPerSecond: number;
  readonly throttles: number;
  readonly partitions: number;
}

interface Options {
  readonly keys: number;
  readonly accounts: readonly number[];
  readonly serial: boolean;
  readonly log: (line: string) => void;
}

/** Every scenario on a bed of its own (only its keys due), the 1-account one first: the baseline. */
export async function benchAccounts(options: Options): Promise<AccountsRow[]> {
  const rows: AccountsRow[] = [];
  const largest = Math.max(...options.accounts);
  for (const n of options.accounts) {
    // The emulator and DynamoDB in processes of their own: in one process with the sweep, their CPU (an RSA
    // unwrap per import, every table write) caps the rate of the whole bed, not Tether's partitions.
    const bed = await startBed({ childProcesses: true });
    try {
      const members = await addMembers(bed, n);
      const cache = new ImportParametersCache({ maxEntries: 100_000 });
      await register(bed, members, options.keys, cache, options.log);
      const runs = options.serial && n === largest && n > 1 ? [1, undefined] : [undefined];
      for (const partitionConcurrency of runs) {
        const row = await renewRound(bed, members, options.keys, cache, partitionConcurrency);
        const base = rows.find((r) => r.accounts === 1 && r.partitionConcurrency > 1)?.renewalsPerSecond;
        const done = { ...row, ratioToOne: base === undefined ? undefined : row.renewalsPerSecond / base };
        rows.push(done);
        options.log(
          `multi-account: ${n} account(s) × ${options.keys}, partitions at once ${done.partitionConcurrency}: ` +
            `${done.renewalsPerSecond.toFixed(1)} renewals/s` +
            (done.ratioToOne === undefined ? "" : ` (${done.ratioToOne.toFixed(2)}x 1 account)`) +
            `, ${done.throttles} throttles, ${done.failed} failed`,
        );
      }
    } finally {
      await bed.close();
    }
  }
  return rows;
}

/** A member account: its id and the credentials of its operator (an IAM user of that account). */
interface BenchAccount {
  readonly accountId: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

const EXTERNAL_ID = "tether-bench-external-id";

/**
 * `count` member accounts (2000000000NN), set up as a deployment has them: the member role in the local STS
 * (trusting the hub's principals with the external id, as infra/member-account.yml), registered in Tether's
 * registry (what `tether accounts add` writes after its check), and an operator of each (an IAM user there).
 */
async function addMembers(bed: Bed, count: number): Promise<BenchAccount[]> {
  const setup = bed.deps({ memberAccounts: true });
  const hub = await (setup.deps.deploymentAccount as () => Promise<string>)();
  const accounts: BenchAccount[] = [];
  try {
    for (let i = 1; i <= count; i++) {
      const accountId = `2000000000${String(i).padStart(2, "0")}`;
      const roleArn = `arn:aws:iam::${accountId}:role/tether-member`;
      await bed.aws.kms.admin.putRole({
        arn: roleArn,
        trustPolicy: {
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { AWS: `arn:aws:iam::${hub}:root` },
              Action: "sts:AssumeRole",
              Condition: { StringEquals: { "sts:ExternalId": EXTERNAL_ID } },
            },
          ],
        },
      });
      const now = bed.now().toISOString();
      await setup.deps.accounts?.add({
        accountId,
        roleArn,
        externalId: EXTERNAL_ID,
        addedAt: now,
        addedBy: "operator:bench",
        check: { checkedAt: now, assumeRole: { ok: true }, missing: [] },
      });
      const accessKeyId = `AKIDBENCHMEMBER${String(i).padStart(5, "0")}`;
      await bed.aws.kms.admin.registerIdentity({
        accessKeyId,
        arn: `arn:aws:iam::${accountId}:user/tether-bench`,
      });
      accounts.push({ accountId, credentials: { accessKeyId, secretAccessKey: "bench-member-secret" } });
    }
  } finally {
    setup.close();
  }
  return accounts;
}

/** Each account's keys, created with its own credentials (quotas off, no limiter), accounts in parallel. */
async function register(
  bed: Bed,
  members: readonly BenchAccount[],
  keys: number,
  cache: ImportParametersCache,
  log: (line: string) => void,
): Promise<void> {
  await bed.aws.kms.admin.setQuotas(false);
  const started = performance.now();
  await Promise.all(
    members.map(async (member) => {
      // CreateKey as the member's operator; the imports through the member role, routed by the key's account.
      const setup = bed.deps({
        unlimited: true,
        parametersCache: cache,
        kmsCredentials: member.credentials,
        memberAccounts: true,
      });
      try {
        await bed.registerMany(keys, POLICY, setup, Math.max(2, Math.ceil(8 / members.length)));
      } finally {
        setup.close();
      }
    }),
  );
  log(
    `multi-account: ${members.length} × ${keys} keys registered in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

async function renewRound(
  bed: Bed,
  members: readonly BenchAccount[],
  keys: number,
  cache: ImportParametersCache,
  partitionConcurrency: number | undefined,
): Promise<Omit<AccountsRow, "ratioToOne">> {
  await bed.aws.kms.admin.setQuotas(false);
  await bed.advance(ADVANCE_MS);
  // The quota windows start empty, as after a quiet minute; AWS's defaults, per account and Region.
  await bed.aws.kms.admin.setQuotas({});
  await bed.aws.kms.admin.resetStats();
  // One process's deps: one adapter, one limiter (each account paced in its own budget), the real registry.
  const first = bed.deps({ parametersCache: cache, memberAccounts: true });
  const deps = first.deps;
  try {
    const concurrency = partitionConcurrency ?? first.config.sweepPartitions;
    const started = performance.now();
    // Runs back to back, each taking TETHER_SWEEP_LIMIT (500) due Regions, as a drain does, until none is due.
    let renewed = 0;
    let processed = 0;
    let partitions = 0;
    for (let run = 1; run <= Math.ceil((members.length * keys) / first.config.sweepLimit) + 2; run++) {
      const report = await sweep(deps, {
        correlationId: `bench-accounts-${members.length}-${run}`,
        limit: first.config.sweepLimit,
        concurrency: first.config.sweepConcurrency,
        partitionConcurrency: concurrency,
      });
      if (report.due === 0) break;
      renewed += report.outcomes.renewed ?? 0;
      processed += report.processed;
      partitions = Math.max(partitions, report.partitions?.length ?? 0);
    }
    const wallMs = performance.now() - started;
    const stats = await bed.aws.kms.admin.stats();
    return {
      accounts: members.length,
      keysPerAccount: keys,
      partitionConcurrency: concurrency,
      renewed,
      failed: processed - renewed,
      wallMs,
      renewalsPerSecond: renewed / (wallMs / 1000),
      idealPerSecond: members.length * IMPORT_QUOTA * SHARE,
      throttles: Object.values(stats.throttles).reduce(
        (total, byOperation) => total + Object.values(byOperation).reduce((a, b) => a + b, 0),
        0,
      ),
      partitions,
    };
  } finally {
    first.close();
  }
}

export function toMarkdown(rows: readonly AccountsRow[]): string {
  const lines = [
    "| accounts × keys | partitions at once | renewed | failed | wall s | renewals/s | vs 1 account | ideal/s | throttles |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.accounts} × ${r.keysPerAccount} | ${r.partitionConcurrency} | ${r.renewed} | ${r.failed} | ` +
        `${(r.wallMs / 1000).toFixed(1)} | ${r.renewalsPerSecond.toFixed(1)} | ` +
        `${r.ratioToOne === undefined ? "—" : `${r.ratioToOne.toFixed(2)}x`} | ${r.idealPerSecond} | ${r.throttles} |`,
    );
  }
  return lines.join("\n");
}

function parseArgs(args: readonly string[]): Omit<Options, "log"> & { out: string } {
  const value = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const keys = Number(value("keys") ?? 200);
  const accounts = (value("accounts") ?? "1,4,10").split(",").map(Number);
  if (!(Number.isInteger(keys) && keys > 0)) throw new RangeError("--keys must be a positive integer");
  if (!accounts.every((n) => Number.isInteger(n) && n > 0 && n <= 99)) {
    throw new RangeError("--accounts must list integers from 1 to 99");
  }
  return {
    keys,
    accounts,
    serial: args.includes("--serial"),
    out: value("out") ?? join(BENCH_DIR, "results"),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  // Registration makes a wrapping key pair per key: shared-prime pairs (infra/local/kms/wrapping-key-pool.ts)
  // cost a modular inverse instead of a prime search. Fine here: the material is random and thrown away, and
  // the measured renewals reuse warm parameters (no pair made).
  process.env[SHARED_PRIME_ENV] ??= "1";
  const { out, ...options } = parseArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const started = Date.now();
  const rows = await benchAccounts({ ...options, log });
  const markdown = toMarkdown(rows);
  await mkdir(out, { recursive: true });
  const result = { command: process.argv.slice(1).join(" "), durationS: (Date.now() - started) / 1000, rows };
  await writeFile(join(out, "multi-account-renewal.json"), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${markdown}\nWritten to ${out}/multi-account-renewal.json\n`);
}
