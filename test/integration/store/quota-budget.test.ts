import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../../lib/kms/rate-limiter.js";
import { DynamoQuotaBudget, QUOTA_SK, quotaPk } from "../../../lib/store/dynamo-quota-budget.js";
import { clientFor, useStore } from "./support.js";

/**
 * The shared quota budget on the local DynamoDB (dynalite): several budgets, each with its own client, stand
 * for several Lambda instances reserving from one item at once.
 */
const store = useStore();
const REGION = "eu-west-1";
const GPFI = "GetParametersForImport";

const gaps = (times: readonly number[]): number[] => times.slice(1).map((t, i) => t - (times[i] ?? 0));

describe("DynamoQuotaBudget", () => {
  it("never grants two turns closer than the interval, whatever the interleaving of processes", async () => {
    const tableName = await store.table();
    const processes = Array.from(
      { length: 4 },
      () => new DynamoQuotaBudget({ client: clientFor(store.dynamo), tableName }),
    );
    const turns: number[] = [];
    // Each process reserves 3 turns for 2 callers, 5 times, all at once: conflicts on the one item.
    await Promise.all(
      processes.map(async (budget) => {
        for (let i = 0; i < 5; i++) {
          const slots = await budget.reserve({
            region: REGION,
            operation: GPFI,
            intervalMs: 1250,
            deadlines: [undefined, undefined],
            now: Date.now,
          });
          for (const slot of slots) if (slot !== undefined) turns.push(slot);
        }
      }),
    );
    turns.sort((a, b) => a - b);
    expect(turns).toHaveLength(40);
    expect(Math.min(...gaps(turns))).toBeGreaterThanOrEqual(1250);
    const item = await DynamoDBDocumentClient.from(store.client).send(
      new GetCommand({ TableName: tableName, Key: { pk: quotaPk(REGION, GPFI), sk: QUOTA_SK } }),
    );
    expect(item.Item?.tat).toBe((turns.at(-1) ?? 0) + 1250);
  });

  it("keeps one item per account and Region: a busy account's turns never push back another's", async () => {
    const tableName = await store.table();
    const budget = new DynamoQuotaBudget({ client: store.client, tableName });
    const now = Date.now();
    const reserve = (account: string | undefined, callers: number) =>
      budget.reserve({
        ...(account === undefined ? {} : { account }),
        region: REGION,
        operation: GPFI,
        intervalMs: 60_000,
        deadlines: Array.from({ length: callers }, () => undefined),
        now: () => now,
      });
    const hub = await reserve("111122223333", 3);
    const member = await reserve("444455556666", 1);
    const own = await reserve(undefined, 1);
    expect(hub).toEqual([now, now + 60_000, now + 120_000]);
    expect(member).toEqual([now]);
    expect(own).toEqual([now]);
    const doc = DynamoDBDocumentClient.from(store.client);
    const tatOf = async (pk: string) =>
      (await doc.send(new GetCommand({ TableName: tableName, Key: { pk, sk: QUOTA_SK } }))).Item?.tat;
    expect(quotaPk(REGION, GPFI, "444455556666")).toBe(`QUOTA#444455556666#${REGION}#${GPFI}`);
    expect(await tatOf(quotaPk(REGION, GPFI, "111122223333"))).toBe(now + 180_000);
    expect(await tatOf(quotaPk(REGION, GPFI, "444455556666"))).toBe(now + 60_000);
    expect(await tatOf(quotaPk(REGION, GPFI))).toBe(now + 60_000);
  });

  it("writes nothing for callers all past their deadline", async () => {
    const tableName = await store.table();
    const budget = new DynamoQuotaBudget({ client: store.client, tableName });
    const first = await budget.reserve({
      region: REGION,
      operation: GPFI,
      intervalMs: 60_000,
      deadlines: [undefined],
      now: Date.now,
    });
    const refused = await budget.reserve({
      region: REGION,
      operation: GPFI,
      intervalMs: 60_000,
      deadlines: [Date.now() + 1000],
      now: Date.now,
    });
    expect(refused).toEqual([undefined]);
    const item = await DynamoDBDocumentClient.from(store.client).send(
      new GetCommand({ TableName: tableName, Key: { pk: quotaPk(REGION, GPFI), sk: QUOTA_SK } }),
    );
    expect(item.Item?.tat).toBe((first[0] ?? 0) + 60_000);
  });

  it("reads what another process wrote before reserving over it (its cached value is stale)", async () => {
    const tableName = await store.table();
    const budget = new DynamoQuotaBudget({ client: store.client, tableName });
    const request = {
      region: REGION,
      operation: GPFI,
      intervalMs: 1000,
      deadlines: [undefined],
      now: Date.now,
    };
    await budget.reserve(request);
    const far = Date.now() + 30_000;
    await DynamoDBDocumentClient.from(store.client).send(
      new PutCommand({ TableName: tableName, Item: { pk: quotaPk(REGION, GPFI), sk: QUOTA_SK, tat: far } }),
    );
    expect(await budget.reserve(request)).toEqual([far]);
  });

  it("costs one DynamoDB request per reservation to a process alone; a limiter batches ImportKeyMaterial turns", async () => {
    const tableName = await store.table();
    const budget = new DynamoQuotaBudget({ client: store.client, tableName });
    const limiter = new RateLimiter({
      quotas: { ImportKeyMaterial: 120, [GPFI]: 8 },
      shared: { budget, operations: ["ImportKeyMaterial", GPFI] },
    });
    await Promise.all(Array.from({ length: 240 }, () => limiter.acquire(REGION, "ImportKeyMaterial")));
    const perToken = budget.requests / 240;
    // 120/s with a 1 s horizon: up to 120 turns per round trip. Measured: a first reservation for the one
    // caller queued when it started (a read and a write), then batches.
    expect(perToken).toBeLessThanOrEqual(0.05);
    const before = budget.requests;
    await Promise.all(Array.from({ length: 8 }, () => limiter.acquire(REGION, GPFI)));
    // 8/s: up to 8 turns per round trip; the first write for this item is preceded by a read.
    expect(budget.requests - before).toBeLessThanOrEqual(4);
    console.log(
      `quota budget cost: ImportKeyMaterial ${before} requests for 240 turns` +
        ` (${perToken.toFixed(3)}/turn); GetParametersForImport ${budget.requests - before} for 8`,
    );
  });

  it("a budget DynamoDB refuses (no such table): the limiter paces alone at the fallback share, logged once", async () => {
    const budget = new DynamoQuotaBudget({ client: store.client, tableName: "no-such-table" });
    const logs: string[] = [];
    const limiter = new RateLimiter({
      quotas: { ImportKeyMaterial: 100 },
      shared: {
        budget,
        operations: ["ImportKeyMaterial"],
        fallbackShare: 0.1,
        log: (level, message, fields) => logs.push(`${level} ${message} ${String(fields.errorName)}`),
      },
    });
    const started = Date.now();
    await Promise.all(Array.from({ length: 4 }, () => limiter.acquire(REGION, "ImportKeyMaterial")));
    // 100/s × 0.1 = 10/s: four turns take 300 ms at least, never less (unlimited would be ~0).
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(logs).toEqual([
      "warn KMS quota budget unreachable: pacing on a local fallback share ResourceNotFoundException",
    ]);
  });
});
