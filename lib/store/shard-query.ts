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

/**
 * The `limit` smallest items (by orderAttribute) across every shard of a write-sharded index. Each shard
 * is read in index order and stops at `limit`, so the items read are at most shards × limit and in practice
 * only those that match: the cost follows the work waiting, not the size of the table. Never a Scan.
 */
export async function queryShards(query: ShardQuery): Promise<Item[]> {
  const perShard = await mapBounded(query.shards, query.concurrency, async (shard) => {
    const found: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const condition = query.upTo === undefined ? "#shard = :shard" : "#shard = :shard AND #order <= :upTo";
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
            ":shard": shard,
            ...(query.upTo === undefined ? {} : { ":upTo": query.upTo }),
          },
          ScanIndexForward: true,
          Limit: query.limit - found.length,
          ExclusiveStartKey: start,
        }),
      );
      found.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined && found.length < query.limit);
    return found;
  });
  return perShard
    .flat()
    .sort(
      (a, b) =>
        Number(a[query.orderAttribute]) - Number(b[query.orderAttribute]) ||
        `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`),
    )
    .slice(0, query.limit);
}
