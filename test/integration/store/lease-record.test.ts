import { DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, describe, expect, it } from "vitest";
import {
  type AwsRegion,
  LeaseNotAcquiredError,
  type RegionRecord,
  recordImportStarted,
  scheduleCheck,
} from "../../../lib/domain/index.js";
import { CorruptRecordError, DynamoKeyRepository } from "../../../lib/store/index.js";
import { HOUR, MINUTE, makeKey, manualClock, T0, useStore } from "./support.js";

const store = useStore();
const TTL = 5 * MINUTE;
const clients: DynamoDBClient[] = [];

afterAll(() => {
  for (const client of clients) client.destroy();
});

/** Items read by each read operation of a client: ScannedCount of Query/Scan, the item of GetItem. */
function countingClient(): { client: DynamoDBClient; itemsRead: () => number; reads: () => string[] } {
  const client = new DynamoDBClient({
    endpoint: store.dynamo.url,
    region: "eu-west-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
  clients.push(client);
  let items = 0;
  const reads: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const output = result.output as { ScannedCount?: number; Item?: unknown; Items?: unknown[] };
      switch (context.commandName) {
        case "QueryCommand":
        case "ScanCommand":
          items += output.ScannedCount ?? 0;
          reads.push(context.commandName);
          break;
        case "GetItemCommand":
        case "BatchGetItemCommand":
          items += output.Item === undefined ? 0 : 1;
          reads.push(context.commandName);
          break;
      }
      return result;
    },
    { step: "initialize", name: "testReadCounter" },
  );
  return { client, itemsRead: () => items, reads: () => reads };
}

async function setUp() {
  const clock = manualClock();
  const tableName = await store.table();
  const counting = countingClient();
  const repository = new DynamoKeyRepository({ client: counting.client, tableName, clock: clock.now });
  const key = makeKey();
  await repository.create(key);
  return { clock, tableName, repository, key, counting };
}

describe("the lease carries its Region's record", () => {
  it("as the lease's write left it: a save made just before, import intent included", async () => {
    const { repository, key } = await setUp();
    const replica = key.regions[2] as RegionRecord;
    const saved = recordImportStarted(scheduleCheck(replica, new Date(T0.getTime() + HOUR)), {
      kind: "renew",
      startedAt: T0,
      validTo: new Date(T0.getTime() + 30 * 24 * HOUR),
      eventId: "evt-7",
      correlationId: "corr-7",
      actor: "tether:sweep",
    });
    await repository.saveRegion(key.id, saved);

    const lease = await repository.acquireLease(key.id, replica.region, "worker-a", TTL, T0);
    expect(lease.record).toEqual(saved);
    expect(lease.record?.importInFlight?.eventId).toBe("evt-7");
    // The same record a full read gives (the lease attributes are not part of it).
    expect(lease.record).toEqual((await repository.get(key.id))?.regions[2]);
  });

  it("costs one item read for a worker: the key record alone, the Region from the lease", async () => {
    const { repository, key, counting } = await setUp();
    const region = key.regions[1]?.region as AwsRegion;
    const before = counting.itemsRead();
    const lease = await repository.acquireLease(key.id, region, "worker-a", TTL, T0);
    const keyRecord = await repository.get(key.id, { regions: "none" });
    expect(counting.itemsRead() - before).toBe(1);
    expect(counting.reads().slice(-1)).toEqual(["GetItemCommand"]);

    const whole = await repository.get(key.id);
    // A whole read is the key record and all three Regions.
    expect(counting.itemsRead() - before).toBe(1 + 4);
    expect(keyRecord).toEqual({ ...whole, regions: [] });
    expect({ ...keyRecord, regions: [lease.record] }).toEqual({
      ...whole,
      regions: [whole?.regions[1]],
    });
  });

  it("reads nothing for a key that is gone", async () => {
    const { repository, key } = await setUp();
    await repository.remove(key.id);
    expect(await repository.get(key.id, { regions: "none" })).toBeUndefined();
  });

  it("is absent when the Region item does not parse; the lease still holds and the whole read reports it", async () => {
    const { repository, key, tableName } = await setUp();
    const region = key.regions[0]?.region as AwsRegion;
    await store.client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: `KEY#${key.id}` }, sk: { S: `REGION#${region}` } },
        UpdateExpression: "SET consecutiveFailures = :bad",
        ExpressionAttributeValues: { ":bad": { S: "many" } },
      }),
    );
    const lease = await repository.acquireLease(key.id, region, "worker-a", TTL, T0);
    expect(lease.record).toBeUndefined();
    await expect(repository.acquireLease(key.id, region, "worker-b", TTL, T0)).rejects.toBeInstanceOf(
      LeaseNotAcquiredError,
    );
    await expect(repository.get(key.id)).rejects.toBeInstanceOf(CorruptRecordError);
    await repository.releaseLease(lease);
    await expect(repository.acquireLease(key.id, region, "worker-b", TTL, T0)).resolves.toMatchObject({
      owner: "worker-b",
    });
  });
});
