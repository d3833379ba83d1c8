import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type AwsRegion, parseAwsRegion, parseTetherKeyId, type TetherKeyId } from "../domain/ids.js";
import type { RegionalIncident, SentinelRecord } from "../domain/sentinel.js";
import type { SentinelRepository } from "../lifecycle/ports.js";
import { touchAllBands } from "./due-band-marks.js";
import { isConditionFailed, mapBounded } from "./dynamo-helpers.js";
import { allDueShards, dueShard, KEY_PREFIX, keyPk, REGION_PREFIX, regionSk } from "./item-keys.js";
import { type DynamoStoreOptions, type ResolvedStoreOptions, resolveStoreOptions } from "./store-options.js";
import { StoreAttribute, StoreIndex } from "./table-definition.js";

/**
 * Sentinels and regional-loss incidents (see table-definition.ts):
 *   SENTINELS                 SENTINEL#<region>            a Region's sentinel (ARN, material reference, last probe)
 *   SENTINELS                 INCIDENT#<region>            the Region's open incident (at most one: conditional put)
 *   INCIDENTS#<region>        CLOSED#<openedAt ISO>        a closed incident, kept as history
 * One Query on SENTINELS reads every sentinel and open incident: what the sweep and the probe need per run.
 */
export const SENTINELS_PK = "SENTINELS";
const SENTINEL_PREFIX = "SENTINEL#";
const INCIDENT_PREFIX = "INCIDENT#";
const closedPk = (region: string): string => `INCIDENTS#${region}`;

type Item = Record<string, unknown>;

export class DynamoSentinelRepository implements SentinelRepository {
  readonly #o: ResolvedStoreOptions;

  constructor(options: DynamoStoreOptions) {
    this.#o = resolveStoreOptions(options);
  }

  async list(): Promise<{ sentinels: SentinelRecord[]; incidents: RegionalIncident[] }> {
    const sentinels: SentinelRecord[] = [];
    const incidents: RegionalIncident[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.#o.doc.send(
        new QueryCommand({
          TableName: this.#o.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": SENTINELS_PK },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        const sk = String(item.sk);
        if (sk.startsWith(SENTINEL_PREFIX)) sentinels.push(toSentinel(item));
        else if (sk.startsWith(INCIDENT_PREFIX)) incidents.push(toIncident(item));
      }
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return { sentinels, incidents };
  }

  async claim(record: SentinelRecord, staleBefore: Date): Promise<boolean> {
    try {
      await this.#o.doc.send(
        new PutCommand({
          TableName: this.#o.tableName,
          Item: sentinelItem(record),
          ConditionExpression: "attribute_not_exists(pk) OR (#state = :creating AND createdAt < :stale)",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: { ":creating": "creating", ":stale": staleBefore.toISOString() },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async save(record: SentinelRecord): Promise<void> {
    await this.#o.doc.send(new PutCommand({ TableName: this.#o.tableName, Item: sentinelItem(record) }));
  }

  async recordProbe(region: AwsRegion, keyState: string, at: Date): Promise<void> {
    const intact = keyState === "Enabled";
    try {
      await this.#o.doc.send(
        new UpdateCommand({
          TableName: this.#o.tableName,
          Key: { pk: SENTINELS_PK, sk: `${SENTINEL_PREFIX}${region}` },
          UpdateExpression: intact
            ? "SET lastProbeState = :s, lastProbeAt = :at, lastIntactAt = :at"
            : "SET lastProbeState = :s, lastProbeAt = :at",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":s": keyState, ":at": at.toISOString() },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  async openIncident(incident: RegionalIncident): Promise<boolean> {
    try {
      await this.#o.doc.send(
        new PutCommand({
          TableName: this.#o.tableName,
          Item: {
            pk: SENTINELS_PK,
            sk: `${INCIDENT_PREFIX}${incident.region}`,
            ...incidentAttributes(incident),
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async closeIncident(closed: RegionalIncident): Promise<void> {
    // History first: a crash between the two leaves the incident open, and the next sweep closes it again
    // (the same item, overwritten).
    await this.#o.doc.send(
      new PutCommand({
        TableName: this.#o.tableName,
        Item: {
          pk: closedPk(closed.region),
          sk: `CLOSED#${closed.openedAt.toISOString()}`,
          ...incidentAttributes(closed),
        },
      }),
    );
    await this.#o.doc.send(
      new DeleteCommand({
        TableName: this.#o.tableName,
        Key: { pk: SENTINELS_PK, sk: `${INCIDENT_PREFIX}${closed.region}` },
      }),
    );
  }

  async closedIncidents(region: AwsRegion, limit: number): Promise<RegionalIncident[]> {
    const out = await this.#o.doc.send(
      new QueryCommand({
        TableName: this.#o.tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": closedPk(region) },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map(toIncident);
  }

  /**
   * Every Region item of this Region, from the due-work index (KEYS_ONLY: pk and sk are there), all shards of
   * every priority's band, critical first.
   * It reads the whole index, which only an incident justifies: there is no index by Region, and a Region
   * item's sort key is what names its Region.
   */
  async keysIn(region: AwsRegion): Promise<TetherKeyId[]> {
    const sk = regionSk(region);
    const perShard = await mapBounded(allDueShards(), this.#o.queryConcurrency, async (shard) => {
      const ids: TetherKeyId[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await this.#o.doc.send(
          new QueryCommand({
            TableName: this.#o.tableName,
            IndexName: StoreIndex.Due,
            KeyConditionExpression: "#shard = :shard",
            FilterExpression: "sk = :sk",
            ExpressionAttributeNames: { "#shard": StoreAttribute.DueShard },
            ExpressionAttributeValues: { ":shard": shard, ":sk": sk },
            ExclusiveStartKey: start,
          }),
        );
        for (const item of out.Items ?? []) {
          const pk = String(item.pk);
          if (pk.startsWith(KEY_PREFIX)) ids.push(parseTetherKeyId(pk.slice(KEY_PREFIX.length)));
        }
        start = out.LastEvaluatedKey;
      } while (start !== undefined);
      return ids;
    });
    return perShard.flat();
  }

  async makeDue(keyId: TetherKeyId, region: AwsRegion, now: Date): Promise<void> {
    // The Region's due time moves earlier in whatever band it is in.
    await touchAllBands(this.#o);
    try {
      await this.#o.doc.send(
        new UpdateCommand({
          TableName: this.#o.tableName,
          Key: { pk: keyPk(keyId), sk: `${REGION_PREFIX}${region}` },
          // The Region keeps its band (its key's priority); only an item without one gets the normal band.
          UpdateExpression: "SET nextCheckAt = :iso, #dueAt = :at, #shard = if_not_exists(#shard, :shard)",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeNames: { "#dueAt": StoreAttribute.DueAt, "#shard": StoreAttribute.DueShard },
          ExpressionAttributeValues: {
            ":iso": now.toISOString(),
            ":at": now.getTime(),
            ":shard": dueShard(keyId, region),
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }
}

function sentinelItem(record: SentinelRecord): Item {
  return {
    pk: SENTINELS_PK,
    sk: `${SENTINEL_PREFIX}${record.region}`,
    region: record.region,
    ...(record.keyArn === undefined ? {} : { keyArn: record.keyArn }),
    materialRef: record.materialRef,
    state: record.state,
    createdAt: record.createdAt.toISOString(),
    ...(record.lastProbeState === undefined ? {} : { lastProbeState: record.lastProbeState }),
    ...(record.lastProbeAt === undefined ? {} : { lastProbeAt: record.lastProbeAt.toISOString() }),
    ...(record.lastIntactAt === undefined ? {} : { lastIntactAt: record.lastIntactAt.toISOString() }),
  };
}

function toSentinel(item: Item): SentinelRecord {
  return {
    region: parseAwsRegion(item.region),
    keyArn: optionalString(item.keyArn),
    materialRef: String(item.materialRef),
    state: item.state === "ready" ? "ready" : "creating",
    createdAt: new Date(String(item.createdAt)),
    lastProbeState: optionalString(item.lastProbeState),
    lastProbeAt: optionalDate(item.lastProbeAt),
    lastIntactAt: optionalDate(item.lastIntactAt),
  };
}

function incidentAttributes(incident: RegionalIncident): Item {
  const item: Item = {
    region: incident.region,
    sentinelArn: incident.sentinelArn,
    openedAt: incident.openedAt.toISOString(),
    keysMadeDue: incident.keysMadeDue,
  };
  if (incident.intactAt !== undefined) item.intactAt = incident.intactAt.toISOString();
  if (incident.closedAt !== undefined) item.closedAt = incident.closedAt.toISOString();
  if (incident.keysRestored !== undefined) item.keysRestored = incident.keysRestored;
  if (incident.keysNotRestored !== undefined) item.keysNotRestored = incident.keysNotRestored;
  if (incident.lastRestoredAt !== undefined) item.lastRestoredAt = incident.lastRestoredAt.toISOString();
  return item;
}

function toIncident(item: Item): RegionalIncident {
  return {
    region: parseAwsRegion(item.region),
    sentinelArn: String(item.sentinelArn),
    openedAt: new Date(String(item.openedAt)),
    intactAt: optionalDate(item.intactAt),
    keysMadeDue: Number(item.keysMadeDue ?? 0),
    closedAt: optionalDate(item.closedAt),
    keysRestored: item.keysRestored === undefined ? undefined : Number(item.keysRestored),
    keysNotRestored: item.keysNotRestored === undefined ? undefined : Number(item.keysNotRestored),
    lastRestoredAt: optionalDate(item.lastRestoredAt),
  };
}

const optionalString = (value: unknown): string | undefined =>
  typeof value === "string" ? value : undefined;
const optionalDate = (value: unknown): Date | undefined =>
  typeof value === "string" ? new Date(value) : undefined;
