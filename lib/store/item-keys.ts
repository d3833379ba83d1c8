import { createHash } from "node:crypto";
import { isTetherKeyId, type TetherKeyId } from "../domain/ids.js";
import { PRIORITIES, Priority } from "../domain/import-policy.js";
import { DUE_SHARDS, OUTBOX_SHARDS } from "./table-definition.js";

/** How the store spells its primary keys and index partitions (see table-definition.ts for the layout). */
export const KEY_PREFIX = "KEY#";
export const KEY_RECORD_SK = "KEY";
export const REGION_PREFIX = "REGION#";
/** Just above every `REGION#…` sort key ("$" follows "#"): the upper bound of a key's records. */
export const REGION_UPPER_BOUND = "REGION$";
export const EVENT_PREFIX = "EVENT#";
export const SYSTEM_PREFIX = "SYSTEM#";
export const HISTORY_PREFIX = "HISTORY#";
export const CLAIM_SK = "CLAIM";
export const LIST_PARTITION = "KEYS";

export const keyPk = (id: TetherKeyId): string => `${KEY_PREFIX}${id}`;
export const regionSk = (region: string): string => `${REGION_PREFIX}${region}`;
export const arnClaimPk = (keyArn: string): string => `ARN#${keyArn}`;
export const aliasClaimPk = (alias: string): string => `ALIAS#${alias}`;
export const materialClaimPk = (materialRef: string): string => `MATERIAL#${materialRef}`;

/**
 * The partition of a key's history: `HISTORY#<id>` for a Tether key; anything else (an event whose keyId is a
 * KMS key id or a placeholder, e.g. an alert about an unmanaged key) goes to `SYSTEM#<keyId>`. History never
 * shares a partition with items Tether deletes (key records, Region items, claims), so the functions' IAM
 * policies can deny DeleteItem on these partitions (dynamodb:LeadingKeys, infra/iam-statements.yml).
 * Events recorded before this layout stay under `KEY#<id>` ({@link legacyHistoryPk}): history reads and the
 * outbox still find them there.
 */
export function historyPk(keyId: string): string {
  return isTetherKeyId(keyId) ? `${HISTORY_PREFIX}${keyId}` : `${SYSTEM_PREFIX}${keyId}`;
}

/**
 * Where a Tether key's events were recorded before history had partitions of its own (`KEY#<id>`, beside the
 * key's records); undefined for other subjects, whose partition never moved. Read-only: nothing new goes there.
 */
export function legacyHistoryPk(keyId: string): string | undefined {
  return isTetherKeyId(keyId) ? keyPk(keyId) : undefined;
}

/** `EVENT#<ISO time>#<id>`: ISO 8601 in UTC from toISOString sorts as time does. */
export const eventSk = (time: string, eventId: string): string => `${EVENT_PREFIX}${time}#${eventId}`;

/** A stable shard in 0..shards-1 (the first 32 bits of SHA-256; the same input gives the same shard forever). */
export function shardOf(input: string, shards: number): number {
  return createHash("sha256").update(input).digest().readUInt32BE(0) % shards;
}

/**
 * The due-work index partition of one Region: its shard within its priority's band. A normal Region is
 * `DUE#<n>`, as every Region was before priorities (so those items are served as normal, and need no
 * migration); the others are `DUE#<priority>#<n>` (`DUE#critical#3`). One band per priority, so `due` reads
 * the bands in order, each up to now, and never reads past the work it returns (see DynamoKeyRepository.due).
 */
export function dueShard(keyId: string, region: string, priority: Priority = Priority.Normal): string {
  const shard = shardOf(`${keyId}/${region}`, DUE_SHARDS);
  return priority === Priority.Normal ? `DUE#${shard}` : `DUE#${priority}#${shard}`;
}

/** The priority a due-index partition serves (normal for `DUE#<n>`); undefined for anything else. */
export function priorityOfDueShard(shard: unknown): Priority | undefined {
  if (typeof shard !== "string") return undefined;
  const match = /^DUE#(?:([a-z]+)#)?\d+$/.exec(shard);
  if (match === null) return undefined;
  const band = match[1] ?? Priority.Normal;
  return PRIORITIES.find((p) => p === band && (p !== Priority.Normal || match[1] === undefined));
}

/** The outbox index partition of one event. */
export const outboxShard = (eventId: string): string => `OUTBOX#${shardOf(eventId, OUTBOX_SHARDS)}`;

/** The shards of one priority's band of the due-work index. */
export const dueBandShards = (priority: Priority): string[] =>
  Array.from({ length: DUE_SHARDS }, (_, n) =>
    priority === Priority.Normal ? `DUE#${n}` : `DUE#${priority}#${n}`,
  );

/** Every partition of the due-work index, every band. */
export const allDueShards = (): string[] => PRIORITIES.flatMap(dueBandShards);
export const allOutboxShards = (): string[] => Array.from({ length: OUTBOX_SHARDS }, (_, n) => `OUTBOX#${n}`);
