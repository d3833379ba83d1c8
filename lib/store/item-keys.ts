import { createHash } from "node:crypto";
import { isTetherKeyId, type TetherKeyId } from "../domain/ids.js";
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

/** The due-work index partition of one Region. */
export const dueShard = (keyId: string, region: string): string =>
  `DUE#${shardOf(`${keyId}/${region}`, DUE_SHARDS)}`;

/** The outbox index partition of one event. */
export const outboxShard = (eventId: string): string => `OUTBOX#${shardOf(eventId, OUTBOX_SHARDS)}`;

export const allDueShards = (): string[] => Array.from({ length: DUE_SHARDS }, (_, n) => `DUE#${n}`);
export const allOutboxShards = (): string[] => Array.from({ length: OUTBOX_SHARDS }, (_, n) => `OUTBOX#${n}`);
