import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalDynamo, startDynamo } from "../../../infra/local/dynamodb.js";

const credentials = { accessKeyId: "local", secretAccessKey: "local" };

function clientFor(dynamo: LocalDynamo): DynamoDBClient {
  return new DynamoDBClient({ endpoint: dynamo.url, region: "eu-west-1", credentials, maxAttempts: 1 });
}

async function createKeysTable(client: DynamoDBClient, name: string): Promise<void> {
  const created = await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
    }),
  );
  // createTableMs: 0 — the table is usable at once, no waiter needed.
  expect(created.TableDescription?.TableName).toBe(name);
}

describe("startDynamo in memory", () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;

  beforeAll(async () => {
    dynamo = await startDynamo({ port: 0 });
    client = clientFor(dynamo);
    await createKeysTable(client, "keys");
  });

  afterAll(async () => {
    client?.destroy();
    await dynamo?.close();
  });

  it("serves on 127.0.0.1 with an ephemeral port", () => {
    expect(dynamo.url).toBe(`http://127.0.0.1:${dynamo.port}`);
    expect(dynamo.port).toBeGreaterThan(0);
  });

  it("puts an item only when it does not exist yet", async () => {
    const put = () =>
      client.send(
        new PutItemCommand({
          TableName: "keys",
          Item: { pk: { S: "KEY#1" }, sk: { S: "META" }, version: { N: "1" } },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    await put();
    await expect(put()).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it("updates an item under an optimistic-lock condition and refuses a stale version", async () => {
    const bump = (expected: string) =>
      client.send(
        new UpdateItemCommand({
          TableName: "keys",
          Key: { pk: { S: "KEY#1" }, sk: { S: "META" } },
          UpdateExpression: "SET version = version + :one",
          ConditionExpression: "version = :expected",
          ExpressionAttributeValues: { ":one": { N: "1" }, ":expected": { N: expected } },
          ReturnValues: "ALL_NEW",
        }),
      );

    const updated = await bump("1");
    expect(updated.Attributes?.version).toEqual({ N: "2" });
    await expect(bump("1")).rejects.toMatchObject({ name: "ConditionalCheckFailedException" });

    const item = await client.send(
      new GetItemCommand({
        TableName: "keys",
        Key: { pk: { S: "KEY#1" }, sk: { S: "META" } },
        ConsistentRead: true,
      }),
    );
    expect(item.Item?.version).toEqual({ N: "2" });
  });
});

describe("startDynamo with a data directory", () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "tether-dynamo-"));
  });

  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("keeps tables and items across a restart", async () => {
    const first = await startDynamo({ port: 0, dataDir: join(dataDir, "db") });
    const firstClient = clientFor(first);
    try {
      await createKeysTable(firstClient, "persisted");
      await firstClient.send(
        new PutItemCommand({
          TableName: "persisted",
          Item: { pk: { S: "KEY#9" }, sk: { S: "META" }, note: { S: "kept" } },
        }),
      );
    } finally {
      firstClient.destroy();
      await first.close();
    }

    const second = await startDynamo({ port: 0, dataDir: join(dataDir, "db") });
    const secondClient = clientFor(second);
    try {
      const tables = await secondClient.send(new ListTablesCommand({}));
      expect(tables.TableNames).toEqual(["persisted"]);
      const item = await secondClient.send(
        new GetItemCommand({ TableName: "persisted", Key: { pk: { S: "KEY#9" }, sk: { S: "META" } } }),
      );
      expect(item.Item?.note).toEqual({ S: "kept" });
    } finally {
      secondClient.destroy();
      await second.close();
    }
  });
});
