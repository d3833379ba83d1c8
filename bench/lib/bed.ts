/**
 * The local AWS (started in this process) with Tether's table, audit bus and a file vault, and Tether's
 * lifecycle deps wired to it (deps.ts). Tether's clock follows the KMS emulator's.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type LocalAws, startLocalAws } from "../../infra/local/index.js";
import type { ManagedKey } from "../../lib/domain/managed-key.js";
import { registerKey } from "../../lib/lifecycle/use-cases/register.js";
import { ensureTable } from "../../lib/store/ensure-table.js";
import { FileVault } from "../../lib/vault/file/file-vault.js";
import {
  AUDIT_BUS,
  type BenchDeps,
  buildDeps,
  CREDENTIALS,
  type DepsOptions,
  PASSPHRASE,
  REGION,
} from "./deps.js";

export { AUDIT_BUS, type BenchDeps, buildDeps, CREDENTIALS, type DepsOptions, PASSPHRASE, REGION };

export interface Bed {
  readonly aws: LocalAws;
  readonly tableName: string;
  readonly vault: FileVault;
  readonly vaultDir: string;
  readonly env: Record<string, string>;
  /** Milliseconds each KMS request took inside the emulator (its own log), in arrival order. */
  readonly emulatorMs: number[];
  /** Tether's now (equal to the emulator's). */
  now(): Date;
  /** Moves the emulator's clock and Tether's together. */
  advance(ms: number): Promise<void>;
  deps(options?: DepsOptions): BenchDeps;
  /** Registers `count` new symmetric keys through Tether (quotas off, no limiter), `concurrency` at once. */
  registerMany(
    count: number,
    policy: Record<string, unknown>,
    setup: BenchDeps,
    concurrency?: number,
  ): Promise<ManagedKey[]>;
  close(): Promise<void>;
}

/**
 * @param options.childProcesses the KMS emulator and DynamoDB each in a process of its own (as `npm start`
 *   runs them), so a benchmark whose local AWS is the bottleneck uses more than one core
 */
export async function startBed(options: { readonly childProcesses?: boolean } = {}): Promise<Bed> {
  const emulatorMs: number[] = [];
  // The emulator logs `kms <region> <operation> <status> [<type>] <n>ms` per request: its own handling time.
  const logger = (line: string) => {
    const match = /^kms \S+ \S+ \d{3} (?:\S+ )?(\d+)ms$/.exec(line);
    if (match?.[1] !== undefined) emulatorMs.push(Number(match[1]));
  };
  const aws = await startLocalAws({
    ports: { kms: 0, dynamodb: 0, events: 0 },
    logger,
    ...(options.childProcesses === true ? { childProcesses: true } : {}),
  });
  const dir = await mkdtemp(join(tmpdir(), "tether-bench-"));
  const tableName = `tether-bench-${randomUUID().slice(0, 8)}`;
  aws.events.createEventBus(AUDIT_BUS);
  const admin = new DynamoDBClient({
    endpoint: aws.endpoints.dynamodb,
    region: REGION,
    credentials: CREDENTIALS,
  });
  await ensureTable(admin, tableName);
  admin.destroy();
  const vault = new FileVault({
    directory: join(dir, "vault"),
    passphrase: PASSPHRASE,
    scrypt: { N: 2 ** 14, r: 8, p: 1 },
  });
  const env: Record<string, string> = {
    AWS_REGION: REGION,
    TETHER_TABLE_NAME: tableName,
    TETHER_AUDIT_BUS_NAME: AUDIT_BUS,
    TETHER_KMS_ENDPOINT: aws.endpoints.kms,
    TETHER_DYNAMODB_ENDPOINT: aws.endpoints.dynamodb,
    TETHER_EVENTS_ENDPOINT: aws.endpoints.events,
    TETHER_SELF_PRINCIPALS: "arn:aws:iam::111122223333:role/tether-test-sweep",
  };
  let offsetMs = (await aws.kms.admin.now()).getTime() - Date.now();
  const clock = () => new Date(Date.now() + offsetMs);

  const deps = (options: DepsOptions = {}) => buildDeps(env, vault, clock, options);

  return {
    aws,
    tableName,
    vault,
    vaultDir: join(dir, "vault"),
    env,
    emulatorMs,
    now: clock,
    async advance(ms) {
      // Tether's clock moves first: work started by the emulator's events during the advance (an expiry)
      // must not run on the old time.
      offsetMs += ms;
      const view = await aws.kms.admin.advanceClock(ms);
      offsetMs = view.epochMs - Date.now();
    },
    deps,
    async registerMany(count, policy, setup, concurrency = 8) {
      const keys: ManagedKey[] = new Array(count);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < count; i = next++) {
          const ref = `bench/${randomUUID()}`;
          const material = randomBytes(32);
          let checkValue: string;
          try {
            ({ checkValue } = await vault.put(ref, material, "SYMMETRIC_DEFAULT"));
          } finally {
            material.fill(0);
          }
          const result = await registerKey(setup.deps, {
            mode: "create",
            region: REGION,
            keySpec: "SYMMETRIC_DEFAULT",
            materialRef: ref,
            checkValue,
            // RSA_2048 wrapping keys unless the benchmark asks otherwise: the emulator makes a real RSA pair
            // per GetParametersForImport, and RSA_4096 generation (seconds each on this machine) would
            // measure the emulator's key generation, which AWS does not make callers wait for.
            policy: { wrappingKeySpec: "RSA_2048", ...policy },
            actor: "bench:setup",
            correlationId: `bench-register-${i}`,
          });
          keys[i] = result.key;
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
      return keys;
    },
    async close() {
      await aws.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
