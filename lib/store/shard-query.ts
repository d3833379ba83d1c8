import { type DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { mapBounded } from "./dynamo-helpers.js";
import type { Item } from "./key-items.js";

export interface ShardQuery {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly indexName: string;
  readonly shards: readonly string[];
  readonly shardAttribute: string;
  /** A numeric sort key; items are merged by it, smallest first. */
  readonly orderAttribute: string;
  /** Only items with orderAttribute <= this (absent: all). */
  readonly upTo?: number | undefined;
  readonly limit: number;
  readonly concurrency: number;
}

/** One shard's place in the merge: what was read and not yet taken, and where its next page starts. */
interface Cursor {
  readonly shard: string;
  buffer: Item[];
  start: Record<string, unknown> | undefined;
  done: boolean;
}

/**
 * The `limit` smallest items (by orderAttribute, then pk and sk) across every shard of a write-sharded index,
 * read lazily: a k-way merge that first reads a small page of each shard (limit / shards, at least one
 * item) and then, whenever a shard's page is used up while items are still wanted, that shard's next page
 * (the share of what is still wanted). So a backlog far larger than `limit` costs about `limit` index
 * entries read, plus at most one page per shard — not shards × limit, which one full page per shard would
 * cost. Never a Scan; each shard is read in index order, only as far as the merge takes it.
 */
export async function queryShards(query: ShardQuery): Promise<Item[]> {
  if (query.limit <= 0 || query.shards.length === 0) return [];
  const cursors: Cursor[] = query.shards.map((shard) => ({
    shard,
    buffer: [],
    start: undefined,
    done: false,
  }));
  const firstPage = Math.max(1, Math.ceil(query.limit / cursors.length));
  await mapBounded(cursors, query.concurrency, (cursor) => readPage(query, cursor, firstPage));
  const taken: Item[] = [];
  while (taken.length < query.limit) {
    // A shard whose page is used up but not its items may hold the next smallest: read on before choosing.
    const empty = cursors.filter((c) => c.buffer.length === 0 && !c.done);
    if (empty.length > 0) {
      const open = cursors.filter((c) => c.buffer.length > 0 || !c.done).length;
      const pageSize = Math.max(1, Math.ceil((query.limit - taken.length) / open));
      await mapBounded(empty, query.concurrency, (cursor) => readPage(query, cursor, pageSize));
      continue;
    }
    let next: Cursor | undefined;
    for (const cursor of cursors) {
      const head = cursor.buffer[0];
      if (head === undefined) continue;
      const best = next?.buffer[0];
      if (best === undefined || compare(query, head, best) < 0) next = cursor;
    }
    const item = next?.buffer.shift();
    if (item === undefined) break;
    taken.push(item);
  }
  return taken;
}

/**
 * One page of a shard, in index order, onto its buffer. A page may come back empty with more to read (a
 * Query stops at 1 MB read, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Pagination.html):
 * it reads on until it has an item or the shard is done.
 */
async function readPage(query: ShardQuery, cursor: Cursor, pageSize: number): Promise<void> {
  const condition = query.upTo === undefined ? "#shard = :shard" : "#shard = :shard AND #order <= :upTo";
  do {
    const page = await query.doc.send(
      new QueryCommand({
        TableName: query.tableName,
        IndexName: query.indexName,
        KeyConditionExpression: condition,
        ExpressionAttributeNames: {
          "#shard": query.shardAttribute,
          ...(query.upTo === undefined ? {} : { "#order": query.orderAttribute }),
        },
        ExpressionAttributeValues: {
          ":shard": cursor.shard,
          ...(query.upTo === undefined ? {} : { ":upTo": query.upTo }),
        },
        ScanIndexForward: true,
        Limit: pageSize,
        ExclusiveStartKey: cursor.start,
      }),
    );
    cursor.buffer.push(...(page.Items ?? []));
    cursor.start = page.LastEvaluatedKey;
    cursor.done = cursor.start === undefined;
  } while (cursor.buffer.length === 0 && !cursor.done);
}

function compare(query: ShardQuery, a: Item, b: Item): number {
  return (
    Number(a[query.orderAttribute]) - Number(b[query.orderAttribute]) ||
    `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`)
  );
}
