/**
 * `tether keys adopt` against the running local stack: the real CLI (in process, through main), SigV4 to
 * the runner's API, the real register route, the KMS emulator and the stack's file vault. Keys are made
 * the way a team adopting Tether has them: EXTERNAL keys created outside Tether, material already in the
 * vault under references the manifest names, with its check value.
 *
 * Speed (500 rows must take seconds, not minutes): registration makes one GetParametersForImport per key,
 * and AWS's default quota for it is 1 request/s per account and Region, which Tether's KMS rate limiter
 * keeps to (0.8 of it): 500 keys would take over 10 minutes with the default quota, here as in AWS. Every
 * KMS request quota is adjustable (https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html),
 * so this stack models an account with raised quotas: Tether's rates (serverless.yml's kmsRates) and the
 * emulator's enforced quotas both at RAISED_RATE. The emulator's RSA wrapping pairs come from shared primes
 * (random test material only), and dynalite and the emulator run in child processes, so the API's process
 * has a core of its own: what is left is about 35 local AWS calls per registration. The 5-row rerun test
 * keeps the CLI's default pace.
 */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CreateKeyCommand, type KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KmsAdmin } from "../../infra/local/kms/admin-client.js";
import { SHARED_PRIME_ENV } from "../../infra/local/kms/wrapping-key-pool.js";
import type { LocalStack } from "../../infra/local/runner/index.js";
import { ExitCode } from "../../lib/cli/exit-codes.js";
import { fileVaultFromEnv } from "../../lib/vault/file/file-vault.js";
import { type CliRun, emptyWorkingDirectory, runCli } from "../integration/cli/run-cli.js";
import { ADMIN, E2E_STACK_START_MS, stackKmsClient, startE2eStack } from "../support/e2e-stack.js";

/** Requests per second per Region for GetParametersForImport and ImportKeyMaterial (a raised quota). */
const RAISED_RATE = 100;
/**
 * The CLI's own pace (default 4 requests/s, under API Gateway's POST /keys throttle, apiWriteRate 5/s) raised
 * to match: a deployment adopting a fleet raises apiWriteRate with its quotas (the local API does not throttle).
 */
const RAISED_API_RATE = ["--rate", String(RAISED_RATE)];

interface AdoptableKey {
  readonly keyArn: string;
  readonly materialRef: string;
  readonly checkValue: string;
}

interface ResultsFile {
  summary: Record<string, number>;
  rows: Array<{ row: number; status: string; keyArn?: string; error?: { field?: string; message: string } }>;
}

describe("tether keys adopt against the local stack", () => {
  let stack: LocalStack;
  let kms: KMSClient;
  let admin: KmsAdmin;
  let cwd: { path: string; remove(): Promise<void> };

  const cli = (argv: string[]): Promise<CliRun> =>
    runCli([...argv, "--api-url", stack.apiUrl], { cwd: cwd.path, credentials: ADMIN });
  const imports = async (): Promise<number> => {
    const stats = await admin.stats();
    return Object.values(stats.calls).reduce((sum, ops) => sum + (ops.ImportKeyMaterial ?? 0), 0);
  };
  const results = async (name: string): Promise<ResultsFile> =>
    JSON.parse(await readFile(join(cwd.path, name), "utf8")) as ResultsFile;

  /** `count` EXTERNAL keys made outside Tether, each with material of its own in the stack's vault. */
  async function externalKeys(prefix: string, count: number): Promise<AdoptableKey[]> {
    const vault = fileVaultFromEnv(process.env);
    const keys: AdoptableKey[] = [];
    for (let i = 0; i < count; i++) {
      const created = await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
      const materialRef = `${prefix}/${i}`;
      const { checkValue } = await vault.put(materialRef, randomBytes(32), "SYMMETRIC_DEFAULT");
      keys.push({ keyArn: created.KeyMetadata?.Arn as string, materialRef, checkValue });
    }
    return keys;
  }

  function csv(rows: readonly (readonly string[])[]): string {
    const header = "keyArn,materialRef,checkValue,validityPeriod,renewBefore";
    return `${[header, ...rows.map((r) => r.join(","))].join("\n")}\n`;
  }

  const sharedPrimes = process.env[SHARED_PRIME_ENV];
  beforeAll(async () => {
    cwd = await emptyWorkingDirectory();
    process.env[SHARED_PRIME_ENV] = "1";
    stack = await startE2eStack({
      childProcesses: true,
      params: { kmsRates: `GetParametersForImport=${RAISED_RATE},ImportKeyMaterial=${RAISED_RATE}` },
    });
    kms = stackKmsClient(stack);
    admin = new KmsAdmin(stack.endpoints.kms);
    await admin.setQuotas({
      limits: { GetParametersForImport: RAISED_RATE, ImportKeyMaterial: RAISED_RATE },
    });
  }, E2E_STACK_START_MS);
  afterAll(async () => {
    await stack?.close();
    await cwd?.remove();
    if (sharedPrimes === undefined) delete process.env[SHARED_PRIME_ENV];
    else process.env[SHARED_PRIME_ENV] = sharedPrimes;
  });

  it("adopts a 500-row manifest, and a rerun does nothing", async () => {
    const keys = await externalKeys("adopt500", 500);
    await writeFile(
      join(cwd.path, "fleet.csv"),
      csv(keys.map((k) => [k.keyArn, k.materialRef, k.checkValue, "P90D", "P14D"])),
    );
    const importsBefore = await imports();

    const started = performance.now();
    const first = await cli([
      "keys",
      "adopt",
      "--manifest",
      "fleet.csv",
      "--concurrency",
      "8",
      ...RAISED_API_RATE,
    ]);
    const seconds = (performance.now() - started) / 1000;
    console.log(`adopt: 500 rows in ${seconds.toFixed(1)} s`);

    expect(first.code, first.stderr.slice(-2000)).toBe(ExitCode.Ok);
    expect(first.stdout).toMatch(/^500 rows: 500 adopted, 0 already done, 0 failed\. Results: /);
    // Not a terminal: one plain line per row on stderr.
    expect(first.stderr.trim().split("\n")).toHaveLength(500);
    const written = await results("fleet.csv.results.json");
    expect(written.summary).toMatchObject({ rows: 500, adopted: 500, failed: 0 });
    expect(written.rows.map((r) => r.row)).toEqual(keys.map((_, i) => i + 1));
    expect(await imports()).toBe(importsBefore + 500);
    const listed = await cli(["keys", "list", "--all", "--json"]);
    const items = (JSON.parse(listed.stdout) as { items: Array<{ keyArn: string; materialRef: string }> })
      .items;
    const managed = new Map(items.map((item) => [item.keyArn, item.materialRef]));
    for (const key of keys) expect(managed.get(key.keyArn)).toBe(key.materialRef);

    // A rerun with the results file: every row is skipped, nothing is sent.
    const rerun = await cli(["keys", "adopt", "--manifest", "fleet.csv"]);
    expect(rerun.code, rerun.stderr.slice(-2000)).toBe(ExitCode.Ok);
    expect(rerun.stdout).toMatch(/^500 rows: 0 adopted, 500 already done, 0 failed\./);
    expect((await results("fleet.csv.results.json")).summary).toMatchObject({ skipped: 500 });
    expect(await imports()).toBe(importsBefore + 500);
  }, 600_000);

  it("without the results file, a rerun gets the first answers back through the idempotency keys and changes nothing", async () => {
    const keys = await externalKeys("adopt-again", 5);
    await writeFile(
      join(cwd.path, "again.csv"),
      csv(keys.map((k) => [k.keyArn, k.materialRef, k.checkValue, "", ""])),
    );
    expect((await cli(["keys", "adopt", "--manifest", "again.csv", "--results", "first.json"])).code).toBe(
      ExitCode.Ok,
    );
    const importsBefore = await imports();
    const again = await cli(["keys", "adopt", "--manifest", "again.csv", "--results", "second.json"]);
    expect(again.code, again.stderr).toBe(ExitCode.Ok);
    expect((await results("second.json")).summary).toMatchObject({ failed: 0 });
    expect(await imports()).toBe(importsBefore);
  }, 60_000);

  it("dry-runs, then adopts the good rows of a manifest with 10 bad ones, naming each bad field", async () => {
    const good = await externalKeys("adopt-mixed", 30);
    const sp = await externalKeys("adopt-spare", 10);
    const awsKey = await kms.send(new CreateKeyCommand({})); // origin AWS_KMS
    const missing = `${good[0]?.keyArn.slice(0, -12)}000000000000`;
    type Change = Partial<Record<"arn" | "ref" | "cv" | "validity" | "renew", string>>;
    const row = (k: AdoptableKey | undefined, change: Change = {}) => [
      change.arn ?? (k as AdoptableKey).keyArn,
      change.ref ?? (k as AdoptableKey).materialRef,
      change.cv ?? (k as AdoptableKey).checkValue,
      change.validity ?? "P90D",
      change.renew ?? "P14D",
    ];
    // Each bad row on a spare key of its own, so only the one thing it gets wrong is wrong.
    const bad: Array<{ cells: string[]; field: string }> = [
      { cells: row(sp[0], { arn: missing }), field: "keyArn" }, // no such key
      { cells: row(sp[1], { arn: awsKey.KeyMetadata?.Arn as string }), field: "keyArn" }, // not EXTERNAL
      { cells: row(sp[2], { arn: "not-an-arn" }), field: "keyArn" },
      { cells: row(sp[3], { cv: sp[4]?.checkValue as string }), field: "checkValue" }, // another material's
      { cells: row(sp[4], { ref: "adopt-mixed/none" }), field: "materialRef" }, // nothing in the vault
      { cells: row(sp[5], { cv: "" }), field: "checkValue" }, // missing
      { cells: row(sp[6], { validity: "ninety days" }), field: "validityPeriod" },
      { cells: row(sp[7], { renew: "P100D" }), field: "renewBefore" }, // longer than the validity
      {
        cells: row(good[3], { ref: sp[8]?.materialRef as string, cv: sp[8]?.checkValue as string }),
        field: "keyArn",
      }, // repeats
      { cells: row(sp[9], { ref: good[4]?.materialRef as string }), field: "materialRef" }, // repeats
    ];
    const rows = good.map((k) => row(k));
    const badAt = [2, 5, 9, 12, 15, 19, 22, 26, 31, 35]; // rows (1-based) where the bad ones go
    for (const [i, b] of bad.entries()) rows.splice((badAt[i] as number) - 1, 0, b.cells);
    await writeFile(join(cwd.path, "mixed.csv"), csv(rows));

    const importsBefore = await imports();
    const dry = await cli(["keys", "adopt", "--manifest", "mixed.csv", "--dry-run", ...RAISED_API_RATE]);
    expect(dry.code, dry.stderr).toBe(ExitCode.InvalidInput);
    expect(dry.stdout).toMatch(/^40 rows: 30 would be adopted, 10 failed \(dry run: nothing changed\)/);
    const dryResults = await results("mixed.csv.dry-run.json");
    expect(dryResults.rows.filter((r) => r.status === "failed").map((r) => [r.row, r.error?.field])).toEqual(
      badAt.map((at, i) => [at, bad[i]?.field]),
    );
    expect(await imports()).toBe(importsBefore);
    const listed = JSON.parse((await cli(["keys", "list", "--all", "--json"])).stdout) as {
      items: Array<{ keyArn: string }>;
    };
    const managedArns = new Set(listed.items.map((i) => i.keyArn));
    expect(good.filter((k) => managedArns.has(k.keyArn))).toEqual([]);

    const real = await cli(["keys", "adopt", "--manifest", "mixed.csv", ...RAISED_API_RATE]);
    expect(real.code).toBe(ExitCode.InvalidInput);
    expect(real.stdout).toMatch(/^40 rows: 30 adopted, 0 already done, 10 failed\./);
    const written = await results("mixed.csv.results.json");
    expect(written.rows.filter((r) => r.status === "failed").map((r) => [r.row, r.error?.field])).toEqual(
      badAt.map((at, i) => [at, bad[i]?.field]),
    );
    for (const line of real.stderr.split("\n").filter((l) => l.includes(" failed: "))) {
      expect(line).toMatch(
        /^row \d+ \(line \d+\) failed: \S+: (keyArn|checkValue|materialRef|validityPeriod|renewBefore): /,
      );
    }
    expect(await imports()).toBe(importsBefore + 30);
  }, 120_000);
});
