/**
 * A local AWS with Tether's table, audit bus and a file vault, and the lifecycle deps wired to them, for
 * integration tests of the use cases. Tether's clock follows the KMS emulator's: both move together
 * through `advance`, so "now" means the same instant to Tether and to KMS.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DecryptCommand, EncryptCommand, type KMSClient } from "@aws-sdk/client-kms";
import { type LocalAws, startLocalAws } from "../../infra/local/index.js";
import { createLifecycleDeps } from "../../lib/composition-root.js";
import { loadConfig, type TetherConfig } from "../../lib/config.js";
import type { AuditEvent } from "../../lib/domain/audit-types.js";
import type { LifecycleDeps } from "../../lib/lifecycle/ports.js";
import { DynamoAuditLog } from "../../lib/store/dynamo-audit-log.js";
import { ensureTable } from "../../lib/store/ensure-table.js";
import { FileVault } from "../../lib/vault/file/file-vault.js";
import { localKmsClient } from "./kms-testbed.js";

export const AUDIT_BUS = "tether-audit";
export const AUDIT_RECORDER = "audit-recorder";
export const KMS_RECORDER = "kms-recorder";
export const CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" } as const;
/** The testbed's file vault passphrase. */
export const TESTBED_PASSPHRASE = "lifecycle-test-passphrase";

export interface LifecycleTestbed {
  readonly aws: LocalAws;
  readonly config: TetherConfig;
  readonly deps: LifecycleDeps;
  readonly vault: FileVault;
  readonly dynamodb: DynamoDBClient;
  readonly auditLog: DynamoAuditLog;
  /** Tether's now (equal to the emulator's). */
  now(): Date;
  /** Moves the emulator's clock and Tether's together. */
  advance(ms: number): Promise<void>;
  /** A fresh material reference holding 32 random bytes. */
  putMaterial(): Promise<{ ref: string; material: Buffer; checkValue: string }>;
  kms(region: string): KMSClient;
  /** Deps built like `deps` but with other config (e.g. an events endpoint that refuses). */
  depsWith(env: Record<string, string>): LifecycleDeps;
  /** A key's whole history, oldest first. */
  history(keyId: string): Promise<AuditEvent[]>;
  close(): Promise<void>;
}

/** Starts the local AWS and wires Tether to it. Call once per test file (beforeAll). */
export async function startLifecycleTestbed(): Promise<LifecycleTestbed> {
  const aws = await startLocalAws({ ports: { kms: 0, dynamodb: 0, events: 0 } });
  const dir = await mkdtemp(join(tmpdir(), "tether-lifecycle-"));
  try {
    aws.events.createEventBus(AUDIT_BUS);
    aws.events.putRule({
      name: "audit-all",
      eventBusName: AUDIT_BUS,
      eventPattern: { source: ["tether"] },
      targets: [{ id: AUDIT_RECORDER, kind: "recorder" }],
    });
    aws.events.putRule({
      name: "kms-all",
      eventBusName: "default",
      eventPattern: { source: ["aws.kms"] },
      targets: [{ id: KMS_RECORDER, kind: "recorder" }],
    });
    const tableName = `tether-${randomUUID().slice(0, 8)}`;
    const dynamodb = new DynamoDBClient({
      endpoint: aws.endpoints.dynamodb,
      region: "eu-west-1",
      credentials: CREDENTIALS,
    });
    await ensureTable(dynamodb, tableName);
    const vault = new FileVault({
      directory: join(dir, "vault"),
      passphrase: TESTBED_PASSPHRASE,
      scrypt: { N: 2 ** 14, r: 8, p: 1 },
    });
    const baseEnv: Record<string, string> = {
      AWS_REGION: "eu-west-1",
      TETHER_TABLE_NAME: tableName,
      TETHER_AUDIT_BUS_NAME: AUDIT_BUS,
      TETHER_KMS_ENDPOINT: aws.endpoints.kms,
      TETHER_DYNAMODB_ENDPOINT: aws.endpoints.dynamodb,
      TETHER_EVENTS_ENDPOINT: aws.endpoints.events,
      TETHER_SELF_PRINCIPALS: "arn:aws:iam::111122223333:role/tether-test-sweep",
      // No sentinel keys unless a test asks (depsWith({ TETHER_SENTINELS: "on" })): the other tests count
      // keys, KMS calls and CloudTrail records of their own keys only.
      TETHER_SENTINELS: "off",
    };
    let offsetMs = (await aws.kms.admin.now()).getTime() - Date.now();
    const clock = () => new Date(Date.now() + offsetMs);
    const build = (env: Record<string, string>) =>
      createLifecycleDeps(loadConfig({ ...baseEnv, ...env }), { vault, credentials: CREDENTIALS, clock });
    const config = loadConfig(baseEnv);
    const deps = build({});
    const auditLog = new DynamoAuditLog({ client: dynamodb, tableName, clock });
    const clients = new Map<string, KMSClient>();
    return {
      aws,
      config,
      deps,
      vault,
      dynamodb,
      auditLog,
      now: clock,
      async advance(ms) {
        const view = await aws.kms.admin.advanceClock(ms);
        offsetMs = view.epochMs - Date.now();
      },
      async putMaterial() {
        const ref = `test/${randomUUID()}`;
        const material = randomBytes(32);
        const { checkValue } = await vault.put(ref, material, "SYMMETRIC_DEFAULT");
        return { ref, material, checkValue };
      },
      kms(region) {
        let client = clients.get(region);
        if (client === undefined) {
          client = localKmsClient(aws.endpoints.kms, region);
          clients.set(region, client);
        }
        return client;
      },
      depsWith: build,
      async history(keyId) {
        const all: AuditEvent[] = [];
        let nextToken: string | undefined;
        do {
          const page = await auditLog.history(keyId, { limit: 100, nextToken });
          all.push(...page.items);
          nextToken = page.nextToken;
        } while (nextToken !== undefined);
        return all.reverse();
      },
      async close() {
        for (const client of clients.values()) client.destroy();
        dynamodb.destroy();
        await aws.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await aws.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Encrypts `plaintext` under `keyId` in the client's Region. */
export async function encrypt(kms: KMSClient, keyId: string, plaintext: string): Promise<Uint8Array> {
  const out = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(plaintext) }));
  if (out.CiphertextBlob === undefined) throw new Error("Encrypt returned no ciphertext");
  return out.CiphertextBlob;
}

/** Decrypts and returns the plaintext as a string. */
export async function decrypt(kms: KMSClient, keyId: string, ciphertext: Uint8Array): Promise<string> {
  const out = await kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: ciphertext }));
  return Buffer.from(out.Plaintext ?? new Uint8Array()).toString();
}
