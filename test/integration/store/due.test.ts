import { beforeAll, describe, expect, it } from "vitest";
import { type ManagedKey, type RegionRecord, scheduleCheck } from "../../../lib/domain/index.js";
import { DynamoKeyRepository, dueShard } from "../../../lib/store/index.js";
import { HOUR, MINUTE, makeKey, T0, useStore } from "./support.js";

const store = useStore();
/** Every read the store makes: which command, on which index, how many items it read. */
const reads: { command: string; index: string | undefined; scanned: number | undefined }[] = [];

beforeAll(() => {
  store.client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const command = String(context.commandName);
      if (/Query|Scan|Get/.test(command)) {
        reads.push({
          command,
          index: (args.input as { IndexName?: string }).IndexName,
          scanned: (result.output as { ScannedCount?: number }).ScannedCount,
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
      }))
      .reverse();
    expect(due).toEqual(expected);
    // One Query per shard of the due index, no Scan, and only the 5 due items read in all.
    expect(reads.every((r) => r.command === "QueryCommand" && r.index === "due")).toBe(true);
    expect(reads).toHaveLength(16);
    expect(reads.reduce((sum, r) => sum + (r.scanned ?? 0), 0)).toBe(5);

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
