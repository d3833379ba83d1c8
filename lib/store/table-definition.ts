import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

/**
 * Tether's one DynamoDB table, as data: the local stack, the tests and CloudFormation
 * (AWS::DynamoDB::Table takes the same AttributeDefinitions / KeySchema / GlobalSecondaryIndexes / BillingMode)
 * all build it from here, so there is one definition to keep right.
 *
 * Items (pk / sk):
 *   KEY#<tetherId>    KEY                        the key record; in the `keys` index
 *   KEY#<tetherId>    REGION#<region>            one Region's record + its lease; in the `due` index
 *   HISTORY#<tetherId> EVENT#<time ISO>#<eventId> an audit event; in the `outbox` index until published
 *   SYSTEM#<subject>  EVENT#<time ISO>#<eventId> an audit event whose keyId is not a Tether key id
 *   (history has partitions of its own, which the functions' roles may not delete from)
 *   ARN#<keyArn>      CLAIM                      a KMS key ARN claimed by a Tether key
 *   ALIAS#<name>      CLAIM                      an alias name claimed by a Tether key
 *   QUOTA#<region>#<operation> BUDGET           a KMS (or CloudTrail) request budget shared by every function
 *                                                (dynamo-quota-budget.ts)
 *   DUEBANDS          MARK                       the sparse priority bands' marks: when each was last written to
 *                                                and until when it has nothing due (due-band-marks.ts)
 *   OPERATIONS        OP#<operation request id>  a dual-control operation request (dynamo-operation-requests.ts);
 *                                                in the `openOperations` index while it is open
 *   OPERATIONS#INDEXED MARK                      requests from before that index are in it
 *
 * The key record and its Regions are read with one Query (`sk BETWEEN "KEY" AND "REGION$"`); events written
 * before history had its own partitions sort before them (EVENT# < KEY) and are never read by it.
 */

/** Attribute names with a role in a key or an index. */
export const StoreAttribute = {
  Pk: "pk",
  Sk: "sk",
  /**
   * The due-work index partition of a Region item: its shard in its key's priority band, `DUE#<n>` (normal)
   * or `DUE#<priority>#<n>` (item-keys.ts dueShard).
   */
  DueShard: "dueShard",
  /** Epoch ms of the Region's nextCheckAt: the due-work index sort key. */
  DueAt: "dueAt",
  /** `OUTBOX#<n>`, only while an event waits to be published (sparse). */
  OutboxShard: "outboxShard",
  /** Epoch ms of the event's time, only while it waits. */
  OutboxAt: "outboxAt",
  /**
   * `KEYS` on key records only: the listing index partition. One value, not shards: key records are
   * written only on register, saveKey (status, policy, alias changes) and remove — a few a second at most,
   * far below the 1,000 WCU/s one partition key value takes — and read only by the admin listing.
   * 100,000 keys make ~10 MB of KEYS_ONLY entries, and with no local secondary index there is no 10 GB
   * item-collection limit. One partition gives one global order and a plain LastEvaluatedKey as the page
   * token; shards would turn every page into a 16-way merge for nothing.
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/LSI.html#LSI.ItemCollections.SizeLimit
   */
  ListPk: "listPk",
  /** The Tether key id (a time-ordered ULID), so a listing runs oldest key first. */
  ListSk: "listSk",
  /**
   * `OPERATIONS#OPEN` on an operation request only while it is open (sparse): the `openOperations` index
   * partition, sorted by `sk` (the request id, which starts with its creation time). One value: open
   * requests are a handful, written by people.
   */
  OpenPk: "openPk",
} as const;

export const StoreIndex = {
  /**
   * Region items by priority band and next check: `due(now)` reads only what is due, most urgent band first.
   * KEYS_ONLY: pk/sk say which Region.
   */
  Due: "due",
  /** Unpublished audit events, oldest first; carries the event itself so the publisher needs no second read. */
  Outbox: "outbox",
  /** Key records, for the admin listing. KEYS_ONLY: each listed key is then read whole from the table. */
  Keys: "keys",
  /**
   * Open operation requests only (sparse), for the sweep: closed ones are never read again. KEYS_ONLY:
   * each is then read consistently from the table, as the sweep acts on it.
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-indexes-general-sparse-indexes.html
   */
  OpenOperations: "openOperations",
} as const;

/**
 * Write sharding of the due-work and outbox indexes. Every saveRegion moves an item in `due`, and every
 * append / markPublished writes `outbox`; one partition key value takes at most 1,000 WCU/s, and a
 * throttled GSI throttles the table's writes too. 16 shards lift that ceiling sixteenfold for the price of
 * 16 small Queries per sweep (per priority band of `due` that the sweep reads; a sparse band marked quiet
 * is not read, lib/domain/due-bands.ts).
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-sharding.html
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/throttling-key-range-limit-exceeded-mitigation.html
 * The shard is stored on each item, so raising this later is safe (old items keep shards below the old
 * count, all still queried); lowering it would hide items and needs a migration.
 */
export const DUE_SHARDS = 16;
export const OUTBOX_SHARDS = 16;

/** The table's definition without its name: CreateTable input and CloudFormation Properties alike. */
export const TABLE_DEFINITION = {
  BillingMode: "PAY_PER_REQUEST",
  AttributeDefinitions: [
    { AttributeName: StoreAttribute.Pk, AttributeType: "S" },
    { AttributeName: StoreAttribute.Sk, AttributeType: "S" },
    { AttributeName: StoreAttribute.DueShard, AttributeType: "S" },
    { AttributeName: StoreAttribute.DueAt, AttributeType: "N" },
    { AttributeName: StoreAttribute.OutboxShard, AttributeType: "S" },
    { AttributeName: StoreAttribute.OutboxAt, AttributeType: "N" },
    { AttributeName: StoreAttribute.ListPk, AttributeType: "S" },
    { AttributeName: StoreAttribute.ListSk, AttributeType: "S" },
    { AttributeName: StoreAttribute.OpenPk, AttributeType: "S" },
  ],
  KeySchema: [
    { AttributeName: StoreAttribute.Pk, KeyType: "HASH" },
    { AttributeName: StoreAttribute.Sk, KeyType: "RANGE" },
  ],
  GlobalSecondaryIndexes: [
    {
      IndexName: StoreIndex.Due,
      KeySchema: [
        { AttributeName: StoreAttribute.DueShard, KeyType: "HASH" },
        { AttributeName: StoreAttribute.DueAt, KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: "KEYS_ONLY" },
    },
    {
      IndexName: StoreIndex.Outbox,
      KeySchema: [
        { AttributeName: StoreAttribute.OutboxShard, KeyType: "HASH" },
        { AttributeName: StoreAttribute.OutboxAt, KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: ["event"] },
    },
    {
      IndexName: StoreIndex.Keys,
      KeySchema: [
        { AttributeName: StoreAttribute.ListPk, KeyType: "HASH" },
        { AttributeName: StoreAttribute.ListSk, KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: "KEYS_ONLY" },
    },
    {
      IndexName: StoreIndex.OpenOperations,
      KeySchema: [
        { AttributeName: StoreAttribute.OpenPk, KeyType: "HASH" },
        { AttributeName: StoreAttribute.Sk, KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: "KEYS_ONLY" },
    },
  ],
} as const;

/** CreateTable input for a table of this name. */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    ...TABLE_DEFINITION,
    // Copies, so nobody can mutate the shared constant through a command's input.
    AttributeDefinitions: TABLE_DEFINITION.AttributeDefinitions.map((a) => ({ ...a })),
    KeySchema: TABLE_DEFINITION.KeySchema.map((k) => ({ ...k })),
    GlobalSecondaryIndexes: TABLE_DEFINITION.GlobalSecondaryIndexes.map((index) => ({
      IndexName: index.IndexName,
      KeySchema: index.KeySchema.map((k) => ({ ...k })),
      Projection: {
        ProjectionType: index.Projection.ProjectionType,
        ...("NonKeyAttributes" in index.Projection
          ? { NonKeyAttributes: [...index.Projection.NonKeyAttributes] }
          : {}),
      },
    })),
  };
}
