import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type ManagedKey,
  type RegionRecord,
  scheduleCheck,
  withKeyPriority,
} from "../../../lib/domain/index.js";
import { markBandQuiet, readBandMarks, touchBands } from "../../../lib/store/due-band-marks.js";
import { DynamoKeyRepository, dueShard } from "../../../lib/store/index.js";
import { regionItem } from "../../../lib/store/key-items.js";
import { resolveStoreOptions } from "../../../lib/store/store-options.js";
import { HOUR, MINUTE, makeKey, T0, useStore } from "./support.js";

const store = useStore();
const doc = () => DynamoDBDocumentClient.from(store.client);
/**
 * Every read the store makes: which command, on which index and partition, how many items it read, and the
 * read capacity it consumed (asked for here, so the store's own requests stay as they are).
 */
const reads: {
  command: string;
  index: string | undefined;
  shard: unknown;
  scanned: number | undefined;
  capacity: number | undefined;
}[] = [];

beforeAll(() => {
  store.client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName);
      const input = args.input as {
        IndexName?: string;
        ExpressionAttributeValues?: Record<string, unknown>;
        ReturnConsumedCapacity?: string;
      };
      if (command === "QueryCommand") input.ReturnConsumedCapacity = "TOTAL";
      const result = await next(args);
      if (/Query|Scan|Get/.test(command)) {
        const output = result.output as {
          ScannedCount?: number;
          ConsumedCapacity?: { CapacityUnits?: number };
        };
        reads.push({
          command,
          index: input.IndexName,
          shard: input.ExpressionAttributeValues?.[":shard"],
          scanned: output.ScannedCount,
          capacity: output.ConsumedCapacity?.CapacityUnits,
        });
      }
      return result;
    },
    { step: "initialize", name: "recordReads" },
  );
});

describe("DynamoKeyRepository.due", () => {
  it("returns exactly the due Regions across shards, earliest first, reading only them", async () => {
    const repository = new DynamoKeyRepository({ client: store.client, tableName: await store.table() });
    // 100 keys × 2 Regions = 200 Regions, all first due an hour from now.
    const later = new Date(T0.getTime() + HOUR);
    const keys: ManagedKey[] = [];
    for (let i = 0; i < 100; i++) keys.push(makeKey({ regions: 2, now: later }));
    for (const key of keys) await repository.create(key);

    // Five of them fall due before T0, picked on five different shards.
    const chosen: { key: ManagedKey; record: RegionRecord }[] = [];
    const shards = new Set<string>();
    for (const key of keys) {
      for (const record of key.regions) {
        const shard = dueShard(key.id, record.region);
        if (chosen.length < 5 && !shards.has(shard)) {
          shards.add(shard);
          chosen.push({ key, record });
        }
      }
    }
    expect(shards.size).toBe(5);
    for (const [i, { key, record }] of chosen.entries()) {
      await repository.saveRegion(key.id, scheduleCheck(record, new Date(T0.getTime() - (i + 1) * MINUTE)));
    }

    reads.length = 0;
    const due = await repository.due(T0, 50);

    const expected = chosen
      .map(({ key, record }, i) => ({
        keyId: key.id,
        region: record.region,
        nextCheckAt: new Date(T0.getTime() - (i + 1) * MINUTE),
        priority: "normal",
      }))
      .reverse();
    expect(due).toEqual(expected);
    // One Query per shard of each priority's band of the due index (4 × 16: the 5 do not fill the limit, so
    // every band is read; the empty sparse bands by their look-ahead, lib/domain/due-bands.ts), no Scan,
    // and only the 5 due items read in all; besides, one GetItem: the bands' marks.
    const [marks, ...index] = reads;
    expect(marks).toMatchObject({ command: "GetItemCommand", index: undefined });
    expect(index.every((r) => r.command === "QueryCommand" && r.index === "due")).toBe(true);
    expect(index).toHaveLength(64);
    expect(reads.reduce((sum, r) => sum + (r.scanned ?? 0), 0)).toBe(5);
    // The sparse bands were found empty and marked quiet: the next run reads the normal band alone.
    reads.length = 0;
    expect(await repository.due(T0, 50)).toHaveLength(5);
    expect(reads.filter((r) => r.command === "QueryCommand")).toHaveLength(16);
    expect(reads.every((r) => r.command === "GetItemCommand" || /^DUE#\d+$/.test(String(r.shard)))).toBe(
      true,
    );

    // A limit keeps the earliest.
    expect((await repository.due(T0, 2)).map((d) => d.nextCheckAt)).toEqual([
      new Date(T0.getTime() - 5 * MINUTE),
      new Date(T0.getTime() - 4 * MINUTE),
    ]);

    // Saving a Region moves it in the index: rescheduled, it is no longer due.
    const first = chosen[4] as { key: ManagedKey; record: RegionRecord };
    await repository.saveRegion(first.key.id, scheduleCheck(first.record, later));
    expect(await repository.due(T0, 50)).toHaveLength(4);
    // Everything is due an hour on.
    expect(await repository.due(later, 1000)).toHaveLength(200);
  });
});

describe("DynamoKeyRepository.due, by priority", () => {
  it("serves critical, then high, normal, low, each earliest first, and a limit keeps the most urgent", async () => {
    const repository = new DynamoKeyRepository({ client: store.client, tableName: await store.table() });
    const later = new Date(T0.getTime() + HOUR);
    // Per priority two keys, one Region each; the low key is due earliest of all, the critical ones last.
    const plan: { priority: string; dueMinutesAgo: number }[] = [
      { priority: "low", dueMinutesAgo: 60 },
      { priority: "low", dueMinutesAgo: 50 },
      { priority: "normal", dueMinutesAgo: 40 },
      { priority: "normal", dueMinutesAgo: 45 },
      { priority: "high", dueMinutesAgo: 20 },
      { priority: "high", dueMinutesAgo: 30 },
      { priority: "critical", dueMinutesAgo: 5 },
      { priority: "critical", dueMinutesAgo: 10 },
    ];
    const made: { key: ManagedKey; dueAt: Date; priority: string }[] = [];
    for (const { priority, dueMinutesAgo } of plan) {
      const key = makeKey({ regions: 1, now: later, policy: { validityPeriod: "P30D", priority } });
      await repository.create(key);
      const dueAt = new Date(T0.getTime() - dueMinutesAgo * MINUTE);
      const record = withKeyPriority(key.regions[0] as RegionRecord, key);
      await repository.saveRegion(key.id, scheduleCheck(record, dueAt));
      made.push({ key, dueAt, priority });
    }
    // Not due yet: a critical key due later must not jump the queue.
    const notYet = makeKey({
      regions: 1,
      now: later,
      policy: { validityPeriod: "P30D", priority: "critical" },
    });
    await repository.create(notYet);

    const order = ["critical", "high", "normal", "low"];
    const expected = [...made]
      .sort(
        (a, b) =>
          order.indexOf(a.priority) - order.indexOf(b.priority) || a.dueAt.getTime() - b.dueAt.getTime(),
      )
      .map(({ key, dueAt, priority }) => ({
        keyId: key.id,
        region: "eu-west-1",
        nextCheckAt: dueAt,
        priority,
      }));
    expect(await repository.due(T0, 50)).toEqual(expected);

    // A limit of three: both critical, then the earliest high; the low ones (due longest) wait.
    reads.length = 0;
    expect(await repository.due(T0, 3)).toEqual(expected.slice(0, 3));
    // Only the critical and high bands were read (a page of each of their 2 × 16 shards, and the next page
    // of a shard whose first was used up), never the normal or low band.
    const queries = reads.filter((r) => r.command === "QueryCommand");
    expect(reads.length - queries.length).toBe(1); // the bands' marks
    expect(new Set(queries.map((r) => String(r.shard).replace(/\d+$/, "")))).toEqual(
      new Set(["DUE#critical#", "DUE#high#"]),
    );
    expect(new Set(queries.map((r) => r.shard)).size).toBe(32);

    // What the key's Regions say when read back: the priority they are filed under.
    const critical = made.find((m) => m.priority === "critical")?.key as ManagedKey;
    expect((await repository.get(critical.id))?.regions[0]?.priority).toBe("critical");
    expect((await repository.get(made[2]?.key.id as ManagedKey["id"]))?.regions[0]?.priority).toBeUndefined();
  });

  it("files a replica added later under its key's priority", async () => {
    const repository = new DynamoKeyRepository({ client: store.client, tableName: await store.table() });
    const key = makeKey({ regions: 2, policy: { validityPeriod: "P30D", priority: "critical" } });
    const [primary, replica] = key.regions as [RegionRecord, RegionRecord];
    await repository.create({ ...key, regions: [primary] });
    await repository.addRegion(key.id, replica);
    expect((await repository.due(T0, 10)).map((d) => [d.region, d.priority])).toEqual(
      expect.arrayContaining([
        [primary.region, "critical"],
        [replica.region, "critical"],
      ]),
    );
  });

  it("serves a Region written before priorities (no priority anywhere) as normal, and files it anew at its next write", async () => {
    const tableName = await store.table();
    const repository = new DynamoKeyRepository({ client: store.client, tableName });
    const later = new Date(T0.getTime() + HOUR);
    const old = makeKey({ regions: 1, now: later });
    await repository.create(old);
    // The items exactly as the store wrote them before this change: a policy without `priority`, and the
    // Region in `DUE#<n>` with its nextCheckAt as dueAt and no other trace of a priority.
    const shard = dueShard(old.id, "eu-west-1").replace(/^DUE#(?:[a-z]+#)?/, "DUE#");
    const keyItem = (
      await doc().send(new GetCommand({ TableName: tableName, Key: { pk: `KEY#${old.id}`, sk: "KEY" } }))
    ).Item as Record<string, unknown>;
    const { priority: _dropped, ...oldPolicy } = keyItem.policy as Record<string, unknown>;
    await doc().send(new PutCommand({ TableName: tableName, Item: { ...keyItem, policy: oldPolicy } }));
    const oldDue = new Date(T0.getTime() - 2 * HOUR);
    await doc().send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: `KEY#${old.id}`, sk: "REGION#eu-west-1" },
        UpdateExpression: "SET dueShard = :shard, dueAt = :at, nextCheckAt = :iso REMOVE priority",
        ExpressionAttributeValues: { ":shard": shard, ":at": oldDue.getTime(), ":iso": oldDue.toISOString() },
      }),
    );
    // A high key due later, a low key due earlier: the old Region goes between them.
    const high = makeKey({ regions: 1, now: later, policy: { validityPeriod: "P30D", priority: "high" } });
    const low = makeKey({ regions: 1, now: later, policy: { validityPeriod: "P30D", priority: "low" } });
    for (const [key, minutes] of [
      [high, 1],
      [low, 180],
    ] as const) {
      await repository.create(key);
      await repository.saveRegion(
        key.id,
        scheduleCheck(
          withKeyPriority(key.regions[0] as RegionRecord, key),
          new Date(T0.getTime() - minutes * MINUTE),
        ),
      );
    }

    const loaded = await repository.get(old.id);
    expect(loaded?.policy.priority).toBe("normal");
    expect((await repository.due(T0, 10)).map((d) => [d.keyId, d.priority])).toEqual([
      [high.id, "high"],
      [old.id, "normal"],
      [low.id, "low"],
    ]);

    // Its key becomes critical (PATCH policy → saveKey): its Region moves to the critical band at once.
    const critical = await repository.saveKey({
      ...(loaded as ManagedKey),
      policy: { ...(loaded as ManagedKey).policy, priority: "critical" },
    });
    expect((await repository.due(T0, 1)).map((d) => [d.keyId, d.priority])).toEqual([[old.id, "critical"]]);
    const item = async () =>
      (
        await doc().send(
          new GetCommand({ TableName: tableName, Key: { pk: `KEY#${old.id}`, sk: "REGION#eu-west-1" } }),
        )
      ).Item as Record<string, unknown>;
    expect((await item()).dueShard).toBe(shard.replace("DUE#", "DUE#critical#"));

    // And a run's write files it under the priority the run read (here back to normal: the old form).
    const back = await repository.saveKey({
      ...critical,
      policy: { ...critical.policy, priority: "normal" },
    });
    const record = (await repository.get(old.id))?.regions[0] as RegionRecord;
    await repository.saveRegion(old.id, withKeyPriority({ ...record, priority: "critical" }, back));
    expect((await item()).dueShard).toBe(shard);
    expect((await repository.due(T0, 10)).map((d) => d.keyId)).toEqual([high.id, old.id, low.id]);
  });

  it("reads a backlog lazily: 1,000 due Regions over 16 shards, limit 50, cost about 50 index entries", async () => {
    const tableName = await store.table();
    const repository = new DynamoKeyRepository({ client: store.client, tableName });
    // 1,000 Region items, due at distinct times in the last 1,000 minutes, written straight to the table
    // (the due index needs nothing else) in batches of 25.
    const items = Array.from({ length: 1000 }, (_, i) => {
      const key = makeKey({ regions: 1 });
      const record = scheduleCheck(key.regions[0] as RegionRecord, new Date(T0.getTime() - (i + 1) * MINUTE));
      return regionItem(key.id, record, 0);
    });
    for (let i = 0; i < items.length; i += 25) {
      await doc().send(
        new BatchWriteCommand({
          RequestItems: { [tableName]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) },
        }),
      );
    }
    const perShard = new Map<string, number>();
    for (const item of items)
      perShard.set(String(item.dueShard), (perShard.get(String(item.dueShard)) ?? 0) + 1);
    expect(perShard.size).toBe(16);

    reads.length = 0;
    const due = await repository.due(T0, 50);
    const entries = reads.reduce((sum, r) => sum + (r.scanned ?? 0), 0);
    const capacity = reads.reduce((sum, r) => sum + (r.capacity ?? 0), 0);
    // The 50 due longest, in order.
    expect(due.map((d) => d.nextCheckAt.getTime())).toEqual(
      Array.from({ length: 50 }, (_, i) => T0.getTime() - (1000 - i) * MINUTE),
    );
    // Before (one page of `limit` per shard, the reading this replaced): every shard's first 50 due.
    const eager = [...perShard.values()].reduce((sum, n) => sum + Math.min(n, 50), 0);
    const normalBand = reads.filter((r) => /^DUE#\d+$/.test(String(r.shard))).length;
    console.log(
      `due(limit 50) over a backlog of 1,000 in 16 shards: ${entries} index entries read in ${reads.filter((r) => r.command === "QueryCommand").length} Queries (${normalBand} of them in the normal band, the others the empty critical and high bands), ${capacity} read capacity units as dynalite counts them (one page of 50 per shard: ${eager} in 16)`,
    );
    expect(entries).toBeGreaterThanOrEqual(50);
    expect(entries).toBeLessThanOrEqual(100);
    // Nothing of the normal band's backlog made it read the low band (the limit was reached first); the one
    // read outside the index is the bands' marks.
    expect(reads.filter((r) => r.index !== "due").map((r) => r.command)).toEqual(["GetItemCommand"]);
  });
});

describe("DynamoKeyRepository.due, sparse bands marked quiet (lib/domain/due-bands.ts)", () => {
  /** The Queries one due() sent to a band ("critical", "high", "normal", "low"). */
  const queriesIn = (band: string) =>
    reads.filter(
      (r) =>
        r.command === "QueryCommand" &&
        (band === "normal" ? /^DUE#\d+$/ : new RegExp(`^DUE#${band}#`)).test(String(r.shard)),
    ).length;

  it("skips a quiet band until its earliest due time, and reads it again after a write into it", async () => {
    let clock = T0;
    const repository = new DynamoKeyRepository({
      client: store.client,
      tableName: await store.table(),
      clock: () => clock,
    });
    const at = (ms: number) => new Date(T0.getTime() + ms);
    const critical = { validityPeriod: "P30D", priority: "critical" };
    const first = makeKey({ regions: 1, now: at(2 * HOUR), policy: critical });
    await repository.create(first);

    // Just filed: the band was touched, so it is read (and not marked quiet) for QUIET_MARGIN_MS.
    reads.length = 0;
    expect(await repository.due(at(MINUTE), 10)).toEqual([]);
    expect(queriesIn("critical")).toBe(16);
    // 20 minutes on: looked ahead in (one item a shard), nothing due before +2 h: marked quiet.
    reads.length = 0;
    expect(await repository.due(at(20 * MINUTE), 10)).toEqual([]);
    expect(queriesIn("critical")).toBe(16);
    // Quiet: not read at all, while the normal band still is.
    reads.length = 0;
    expect(await repository.due(at(HOUR), 10)).toEqual([]);
    expect(queriesIn("critical")).toBe(0);
    expect(queriesIn("normal")).toBe(16);
    // At its due time the band is read, and the Region served first.
    clock = at(2 * HOUR);
    const due = await repository.due(at(2 * HOUR), 10);
    expect(due.map((d) => [d.keyId, d.priority])).toEqual([[first.id, "critical"]]);

    // Renewed (due again in 10 h), then quiet again once the touch is old enough.
    const record = withKeyPriority(first.regions[0] as RegionRecord, first);
    await repository.saveRegion(first.id, scheduleCheck(record, at(12 * HOUR)));
    await repository.due(at(2 * HOUR + 20 * MINUTE), 10);
    reads.length = 0;
    expect(await repository.due(at(3 * HOUR), 10)).toEqual([]);
    expect(queriesIn("critical")).toBe(0);

    // A key registered into the quiet band, due at +3 h: its write lifts the quiet mark.
    clock = at(3 * HOUR);
    const second = makeKey({ regions: 1, now: at(3 * HOUR), policy: critical });
    await repository.create(second);
    expect((await repository.due(at(3 * HOUR), 10)).map((d) => d.keyId)).toEqual([second.id]);
  });

  it("is never marked quiet while a recent write may not be in the index yet", async () => {
    const tableName = await store.table();
    let clock = T0;
    const o = resolveStoreOptions({ client: store.client, tableName, clock: () => clock });
    await touchBands(o, ["high"]);
    // A sweep that looked ahead before the write reached the index would mark it quiet: refused.
    expect(await markBandQuiet(o, "high", T0.getTime() + HOUR, T0.getTime() + MINUTE)).toBe(false);
    expect((await readBandMarks(o)).get("high")?.quietUntil).toBeUndefined();
    // Past the margin, the mark is taken; a later touch removes it again.
    expect(await markBandQuiet(o, "high", T0.getTime() + HOUR, T0.getTime() + 16 * MINUTE)).toBe(true);
    expect((await readBandMarks(o)).get("high")?.quietUntil).toBe(T0.getTime() + HOUR);
    clock = new Date(T0.getTime() + 20 * MINUTE);
    await touchBands(o, ["high", "normal"]);
    const marks = await readBandMarks(o);
    expect(marks.get("high")).toEqual({ touchedAt: clock.getTime(), quietUntil: undefined });
    // The other sparse bands were not touched, and the normal band has no mark.
    expect(marks.get("critical")).toEqual({ touchedAt: undefined, quietUntil: undefined });
    expect(marks.has("normal")).toBe(false);
  });
});
