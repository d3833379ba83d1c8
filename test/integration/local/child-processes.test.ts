import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type LocalAws, startLocalAws } from "../../../infra/local/index.js";

/**
 * dynalite and the KMS emulator in processes of their own (what the soak uses to measure Tether's memory
 * apart from theirs): reached over HTTP as usual, their memory asked for over IPC, gone when closed.
 */
const credentials = { accessKeyId: "local", secretAccessKey: "local" };
let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws({ childProcesses: true });
}, 60_000);

afterAll(async () => {
  await aws?.close();
});

it("serves DynamoDB and KMS from two child processes", async () => {
  const processes = aws.processes;
  expect(processes).toBeDefined();
  const pids = [processes?.dynamodb.pid, processes?.kms.pid];
  expect(new Set([...pids, process.pid]).size).toBe(3);

  const dynamodb = new DynamoDBClient({ endpoint: aws.endpoints.dynamodb, region: "eu-west-1", credentials });
  const kms = new KMSClient({ endpoint: aws.endpoints.kms, region: "eu-central-1", credentials });
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: "child",
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    expect((await dynamodb.send(new ListTablesCommand({}))).TableNames).toContain("child");
    const key = await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    expect(key.KeyMetadata?.KeyState).toBe("PendingImport");
  } finally {
    dynamodb.destroy();
    kms.destroy();
  }
});

it("reports each child's own memory", async () => {
  const memory = await aws.processes?.dynamodb.memory();
  expect(memory?.rss).toBeGreaterThan(10 * 1024 * 1024);
  expect(memory?.heapUsed).toBeGreaterThan(0);
  expect(memory?.heapUsed).toBeLessThan(memory?.rss ?? 0);
});

it("follows the emulator's clock offset from this process within about a second", async () => {
  await aws.kms.admin.advanceClock(3_600_000);
  await expect
    .poll(() => aws.kms.clockOffsetMs(), { timeout: 5_000, interval: 100 })
    .toBeGreaterThanOrEqual(3_600_000 - 1_000);
  await aws.kms.admin.setClockOffset(0);
});

it("stops the children on close", async () => {
  const pids = [aws.processes?.dynamodb.pid as number, aws.processes?.kms.pid as number];
  await aws.close();
  for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
});
