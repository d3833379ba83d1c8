import { PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { AuditEvent } from "../domain/audit-types.js";
import { ValidationError } from "../domain/errors.js";
import type { AuditLog, Page } from "../lifecycle/ports.js";
import { checkLimit, isConditionFailed, mapBounded } from "./dynamo-helpers.js";
import { eventFromItem, eventKey, unpublishedEventItem } from "./event-items.js";
import { allOutboxShards, EVENT_PREFIX, historyPk, legacyHistoryPk } from "./item-keys.js";
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

  /**
   * Drops the events from the outbox (they stay in history). An event never appended is left alone. An
   * event recorded before history had partitions of its own is found in its old partition
   * ({@link legacyHistoryPk}), so an upgrade leaves no event in the outbox for ever.
   */
  async markPublished(events: readonly AuditEvent[]): Promise<void> {
    await mapBounded(events, this.#o.queryConcurrency, async (event) => {
      const key = eventKey(event);
      const legacy = legacyHistoryPk(event.keyId);
      for (const pk of legacy === undefined ? [key.pk] : [key.pk, legacy]) {
        if (await this.#dropFromOutbox({ pk, sk: key.sk })) return;
      }
    });
  }

  /** @returns false when no such item exists */
  async #dropFromOutbox(key: { pk: string; sk: string }): Promise<boolean> {
    try {
      await this.#o.doc.send(
        new UpdateCommand({
          TableName: this.#o.tableName,
          Key: key,
          UpdateExpression: "REMOVE #shard, #at",
          // Without it an UpdateItem would create an empty item for an event that was never appended.
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeNames: {
            "#shard": StoreAttribute.OutboxShard,
            "#at": StoreAttribute.OutboxAt,
          },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      return false;
    }
  }

  /**
   * A key's history (a Tether key id, or any other subject events were recorded under), newest first. A
   * Tether key's events recorded before history had partitions of its own ({@link legacyHistoryPk}) are
   * all older than those since, so the pages go on into the old partition once the new one is read.
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
    const legacyPk = legacyHistoryPk(keyId);
    const start = decodePageToken(
      options.nextToken,
      [StoreAttribute.Pk, StoreAttribute.Sk],
      (key) => (key.pk === pk || key.pk === legacyPk) && (key.sk ?? "").startsWith(EVENT_PREFIX),
    );
    const inLegacy = start !== undefined && start.pk === legacyPk;
    const items: AuditEvent[] = [];
    let last: Record<string, unknown> | undefined;
    if (!inLegacy) {
      const page = await this.#eventsOf(pk, limit, start);
      items.push(...page.items);
      last = page.last;
      if (last !== undefined || legacyPk === undefined) return { items, nextToken: encodePageToken(last) };
      if (items.length === limit) {
        // The new partition is read to its end: the next page starts the old one, if it holds anything.
        const probe = await this.#eventsOf(legacyPk, 1, undefined);
        const more = probe.items.length > 0;
        return { items, nextToken: more ? encodePageToken({ pk: legacyPk, sk: EVENT_PREFIX }) : undefined };
      }
    }
    if (legacyPk === undefined) return { items, nextToken: undefined };
    // `EVENT#` alone stands for "the old partition from its newest event" (no item has that sort key).
    const from = start !== undefined && inLegacy && start.sk !== EVENT_PREFIX ? start : undefined;
    const page = await this.#eventsOf(legacyPk, limit - items.length, from);
    items.push(...page.items);
    return { items, nextToken: encodePageToken(page.last) };
  }

  async #eventsOf(
    pk: string,
    limit: number,
    start: Record<string, string> | undefined,
  ): Promise<{ items: AuditEvent[]; last: Record<string, unknown> | undefined }> {
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
    return { items: (page.Items ?? []).map((item) => eventFromItem(item)), last: page.LastEvaluatedKey };
  }
}
