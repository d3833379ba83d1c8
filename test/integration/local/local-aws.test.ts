import { constants, createPublicKey, publicEncrypt, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
} from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { LocalAws } from "../../../infra/local/index.js";

// startLocalAws imports the KMS emulator, written in parallel with this suite; without it nothing here can run.
const kmsEmulatorPresent = existsSync(new URL("../../../infra/local/kms/index.ts", import.meta.url));
if (!kmsEmulatorPresent) {
  console.warn("local-aws.test.ts skipped: infra/local/kms/index.ts (the KMS emulator) does not exist yet");
}

const credentials = { accessKeyId: "local", secretAccessKey: "local" };
const region = "eu-west-1";

async function loadStartLocalAws() {
  return (await import("../../../infra/local/index.js")).startLocalAws;
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

describe.skipIf(!kmsEmulatorPresent)("startLocalAws on ephemeral ports, in memory", () => {
  let localAws: LocalAws;

  beforeAll(async () => {
    const startLocalAws = await loadStartLocalAws();
    localAws = await startLocalAws({ ports: { kms: 0, dynamodb: 0, events: 0 } });
  });

  afterAll(async () => {
    await localAws?.close();
  });

  it("serves three distinct endpoints on 127.0.0.1", () => {
    const { kms, dynamodb, events } = localAws.endpoints;
    expect(new Set([kms, dynamodb, events]).size).toBe(3);
    for (const url of [kms, dynamodb, events]) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(localAws.events.url).toBe(events);
    expect(localAws.dynamodb.url).toBe(dynamodb);
    expect(localAws.kms.url).toBe(kms);
  });

  it("answers DynamoDB", async () => {
    const client = new DynamoDBClient({ endpoint: localAws.endpoints.dynamodb, region, credentials });
    try {
      const tables = await client.send(new ListTablesCommand({}));
      expect(tables.TableNames).toEqual([]);
    } finally {
      client.destroy();
    }
  });

  it("answers EventBridge and records on the default bus", async () => {
    const client = new EventBridgeClient({ endpoint: localAws.endpoints.events, region, credentials });
    try {
      const result = await client.send(
        new PutEventsCommand({ Entries: [{ Source: "com.tether.test", DetailType: "Ping", Detail: "{}" }] }),
      );
      expect(result.FailedEntryCount).toBe(0);
      expect(localAws.events.events("default").map((e) => e.id)).toContain(result.Entries?.[0]?.EventId);
    } finally {
      client.destroy();
    }
  });

  it("answers KMS: CreateKey with EXTERNAL origin leaves the key waiting for material", async () => {
    const client = new KMSClient({ endpoint: localAws.endpoints.kms, region, credentials });
    try {
      const created = await client.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
      const keyId = created.KeyMetadata?.KeyId;
      expect(keyId).toBeDefined();
      const described = await client.send(new DescribeKeyCommand({ KeyId: keyId }));
      expect(described.KeyMetadata).toMatchObject({ Origin: "EXTERNAL", KeyState: "PendingImport" });
    } finally {
      client.destroy();
    }
  });
});

describe.skipIf(!kmsEmulatorPresent)("KMS events reach the bus", () => {
  let localAws: LocalAws;

  beforeAll(async () => {
    const startLocalAws = await loadStartLocalAws();
    localAws = await startLocalAws();
  });

  afterAll(async () => {
    await localAws?.close();
  });

  it("delivers KMS's own expiry event to a rule on the default bus", async () => {
    localAws.events.putRule({
      name: "kms-expiry",
      eventPattern: { source: ["aws.kms"], "detail-type": ["KMS Imported Key Material Expiration"] },
      targets: [{ id: "expiry-recorder", kind: "recorder" }],
    });
    const kms = new KMSClient({ endpoint: localAws.endpoints.kms, region, credentials });
    try {
      const keyId = (await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }))).KeyMetadata?.KeyId;
      const parameters = await kms.send(
        new GetParametersForImportCommand({
          KeyId: keyId,
          WrappingAlgorithm: "RSAES_OAEP_SHA_256",
          WrappingKeySpec: "RSA_2048",
        }),
      );
      const publicKey = createPublicKey({
        key: Buffer.from(parameters.PublicKey ?? new Uint8Array()),
        format: "der",
        type: "spki",
      });
      const material = randomBytes(32);
      const wrapped = publicEncrypt(
        { key: publicKey, oaepHash: "sha256", padding: constants.RSA_PKCS1_OAEP_PADDING },
        material,
      );
      material.fill(0);
      const now = await localAws.kms.admin.now();
      await kms.send(
        new ImportKeyMaterialCommand({
          KeyId: keyId,
          ImportToken: parameters.ImportToken,
          EncryptedKeyMaterial: wrapped,
          ExpirationModel: "KEY_MATERIAL_EXPIRES",
          ValidTo: new Date(now.getTime() + 24 * 3600 * 1000),
        }),
      );

      await localAws.kms.admin.advanceClock(2 * 24 * 3600 * 1000);

      // The emulator posts its events over HTTP, best effort, after the clock moved: wait for that arrival
      // (its CloudTrail records arrive on the same bus, so wait for the expiry event itself).
      await vi.waitFor(
        () =>
          expect(
            localAws.events
              .events("default")
              .some((e) => e["detail-type"] === "KMS Imported Key Material Expiration"),
          ).toBe(true),
        { timeout: 10_000 },
      );
      await localAws.events.drain();
      const delivered = localAws.events.recorded("expiry-recorder");
      expect(delivered).toHaveLength(1);
      expect(delivered[0]).toMatchObject({
        source: "aws.kms",
        "detail-type": "KMS Imported Key Material Expiration",
        account: "111122223333",
        region,
        detail: { "key-id": keyId },
      });
      expect(delivered[0]?.resources[0]).toMatch(new RegExp(`:key/${keyId}$`));
    } finally {
      kms.destroy();
    }
  });
});

describe.skipIf(!kmsEmulatorPresent)("startLocalAws with a data directory", () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "tether-local-aws-"));
  });

  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("keeps DynamoDB tables and KMS keys across a restart", async () => {
    const startLocalAws = await loadStartLocalAws();
    let keyId: string | undefined;

    const first = await startLocalAws({ dataDir });
    const firstKms = new KMSClient({ endpoint: first.endpoints.kms, region, credentials });
    const firstDynamo = new DynamoDBClient({ endpoint: first.endpoints.dynamodb, region, credentials });
    try {
      keyId = (await firstKms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }))).KeyMetadata?.KeyId;
      await firstDynamo.send(
        new CreateTableCommand({
          TableName: "restart-check",
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
          KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        }),
      );
    } finally {
      firstKms.destroy();
      firstDynamo.destroy();
      await first.close();
    }
    expect(existsSync(join(dataDir, "dynamodb"))).toBe(true);
    expect(existsSync(join(dataDir, "kms"))).toBe(true);

    const second = await startLocalAws({ dataDir });
    const secondKms = new KMSClient({ endpoint: second.endpoints.kms, region, credentials });
    const secondDynamo = new DynamoDBClient({ endpoint: second.endpoints.dynamodb, region, credentials });
    try {
      expect((await secondDynamo.send(new ListTablesCommand({}))).TableNames).toEqual(["restart-check"]);
      const described = await secondKms.send(new DescribeKeyCommand({ KeyId: keyId }));
      expect(described.KeyMetadata?.KeyId).toBe(keyId);
    } finally {
      secondKms.destroy();
      secondDynamo.destroy();
      await second.close();
    }
  });
});

describe.skipIf(!kmsEmulatorPresent)("startLocalAws when a service cannot start", () => {
  let blocker: Server;
  let blockedPort: number;

  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    blockedPort = (blocker.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  });

  it("closes the event bus when DynamoDB cannot start, and rethrows", async () => {
    const startLocalAws = await loadStartLocalAws();
    const eventsPort = await freePort();

    await expect(
      startLocalAws({ ports: { events: eventsPort, dynamodb: blockedPort, kms: 0 } }),
    ).rejects.toMatchObject({ code: "EADDRINUSE" });
    expect(await canListen(eventsPort)).toBe(true);
  });

  it("closes the bus and DynamoDB when KMS cannot start, and rethrows", async () => {
    const startLocalAws = await loadStartLocalAws();
    const eventsPort = await freePort();
    const dynamodbPort = await freePort();

    await expect(
      startLocalAws({ ports: { events: eventsPort, dynamodb: dynamodbPort, kms: blockedPort } }),
    ).rejects.toThrow(/EADDRINUSE|in use/i);

    // The bus and dynalite were up before KMS failed; their ports must be free again.
    expect(await canListen(eventsPort)).toBe(true);
    expect(await canListen(dynamodbPort)).toBe(true);
  });
});
