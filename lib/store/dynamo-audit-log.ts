import { PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { AuditEvent } from "../domain/audit-types.js";
import { ValidationError } from "../domain/errors.js";
import type { AuditLog, Page } from "../lifecycle/ports.js";
import { checkLimit, isConditionFailed, mapBounded } from "./dynamo-helpers.js";
import { eventFromItem, eventKey, unpublishedEventItem } from "./event-items.js";
import { allOutboxShards, EVENT_PREFIX, historyPk } from "./item-keys.js";
import { decodePageToken, encodePageToken } from "./page-token.js";
import { queryShards } from "./shard-query.js";
import { type DynamoStoreOptions, type ResolvedStoreOptions, resolveStoreOptions } from "./store-options.js";
import { StoreAttribute, StoreIndex } from "./table-definition.js";

const MAX_KEY_ID_LENGTH = 512;

/**
 * History and outbox in one: each event is one item in its key's partition (sk `EVENT#<time>#<id>`),
 * written once and never rewritten except to drop its outbox attributes. The `outbox` index is sparse:
 * it holds only events still waiting for the bus, so unpublished() reads only those.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-indexes-general-sparse-indexes.html
 */
export class DynamoAuditLog implements AuditLog {
  readonly #o: ResolvedStoreOptions;

  /** @throws RangeError on invalid options (see resolveStoreOptions) */
  constructor(options: DynamoStoreOptions) {
    this.#o = resolveStoreOptions(options);
  }

  /**
   * Writes each event unless its item exists already (same key, time and id): a re-append of the same
   * event is neither an error nor a second entry, and an event already published stays published. Every
   * event is checked before any is written.
   * @throws ValidationError when an event's time is not canonical ISO 8601 UTC, or its id / keyId is empty
   */
  async append(events: readonly AuditEvent[]): Promise<void> {
    const items = events.map((event) => unpublishedEventItem(event));
    await mapBounded(items, this.#o.queryConcurrency, async (item) => {
      try {
        await this.#o.doc.send(
          new PutCommand({
            TableName: this.#o.tableName,
            Item: item,
            ConditionExpression: "attribute_not_exists(pk)",
          }),
        );
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
    });
  }

  /**
   * Events still waiting for the bus, oldest first, at most `limit`; one Query per outbox shard. The index
   * is eventually consistent in AWS, so an event marked a moment ago may still show: consumers drop it by id.
   * @throws ValidationError (`limit`)
   */
  async unpublished(limit: number): Promise<AuditEvent[]> {
    checkLimit(limit);
    const items = await queryShards({
      doc: this.#o.doc,
      tableName: this.#o.tableName,
      indexName: StoreIndex.Outbox,
      shards: allOutboxShards(),
      shardAttribute: StoreAttribute.OutboxShard,
      orderAttribute: StoreAttribute.OutboxAt,
      limit,
      concurrency: this.#o.queryConcurrency,
    });
    return items.map((item) => eventFromItem(item));
  }

  /** Drops the events from the outbox (they stay in history). An event never appended is left alone. */
  async markPublished(events: readonly AuditEvent[]): Promise<void> {
    await mapBounded(events, this.#o.queryConcurrency, async (event) => {
      try {
        await this.#o.doc.send(
          new UpdateCommand({
            TableName: this.#o.tableName,
            Key: eventKey(event),
            UpdateExpression: "REMOVE #shard, #at",
            // Without it an UpdateItem would create an empty item for an event that was never appended.
            ConditionExpression: "attribute_exists(pk)",
            ExpressionAttributeNames: {
              "#shard": StoreAttribute.OutboxShard,
              "#at": StoreAttribute.OutboxAt,
            },
          }),
        );
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
    });
  }

  /**
   * A key's history (a Tether key id, or any other subject events were recorded under), newest first.
   * @throws ValidationError (`keyId`, `limit`, `nextToken` — a token from another key or a forged one)
   */
  async history(
    keyId: string,
    options: { limit: number; nextToken?: string | undefined },
  ): Promise<Page<AuditEvent>> {
    if (typeof keyId !== "string" || keyId.length === 0 || keyId.length > MAX_KEY_ID_LENGTH) {
      throw new ValidationError("keyId", `must be 1 to ${MAX_KEY_ID_LENGTH} characters`);
    }
    const limit = checkLimit(options.limit);
    const pk = historyPk(keyId);
    const start = decodePageToken(
      options.nextToken,
      [StoreAttribute.Pk, StoreAttribute.Sk],
      (key) => key.pk === pk && (key.sk ?? "").startsWith(EVENT_PREFIX),
    );
    const page = await this.#o.doc.send(
      new QueryCommand({
        TableName: this.#o.tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :event)",
        ExpressionAttributeValues: { ":pk": pk, ":event": EVENT_PREFIX },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: start,
      }),
    );
    return {
      items: (page.Items ?? []).map((item) => eventFromItem(item)),
      nextToken: encodePageToken(page.LastEvaluatedKey),
    };
  }
}
