import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mustReadBand, quietUntil, shouldLookAhead } from "../domain/due-bands.js";
import {
  LeaseNotAcquiredError,
  NotFoundError,
  StateConflictError,
  ValidationError,
  VersionConflictError,
} from "../domain/errors.js";
import {
  type AwsRegion,
  isTetherKeyId,
  parseAwsRegion,
  parseTetherKeyId,
  type TetherKeyId,
} from "../domain/ids.js";
import { PRIORITIES, Priority } from "../domain/import-policy.js";
import type { ManagedKey, RegionRecord } from "../domain/managed-key.js";
import { withKeyPriority } from "../domain/region-transitions.js";
import type { DueRegion, GetKeyOptions, KeyRepository, Lease, Page } from "../lifecycle/ports.js";
import { markBandQuiet, readBandMarks, touchAllBands, touchBands } from "./due-band-marks.js";
import { checkLimit, isConditionFailed, mapBounded, updateExpression } from "./dynamo-helpers.js";
import { CorruptRecordError } from "./errors.js";
import {
  aliasClaimPk,
  arnClaimPk,
  CLAIM_SK,
  dueBandShards,
  dueShard,
  KEY_PREFIX,
  KEY_RECORD_SK,
  keyPk,
  LIST_PARTITION,
  materialClaimPk,
  REGION_PREFIX,
  REGION_UPPER_BOUND,
  regionSk,
} from "./item-keys.js";
import {
  type Item,
  keyMutableAttributes,
  keyRecordItem,
  managedKeyFromItems,
  regionAttributes,
  regionFromItem,
  regionItem,
} from "./key-items.js";
import { decodePageToken, encodePageToken } from "./page-token.js";
import { queryShards } from "./shard-query.js";
import { type DynamoStoreOptions, type ResolvedStoreOptions, resolveStoreOptions } from "./store-options.js";
import { StoreAttribute, StoreIndex } from "./table-definition.js";

/** A claim on a KMS key ARN, an alias name or a material reference: who may manage it. */
interface Claim {
  readonly kind: "key ARN" | "alias" | "material reference";
  readonly value: string;
  readonly pk: string;
  /** The request field a refusal names. */
  readonly field?: string;
}

const arnClaim = (keyArn: string): Claim => ({ kind: "key ARN", value: keyArn, pk: arnClaimPk(keyArn) });
const aliasClaim = (alias: string): Claim => ({ kind: "alias", value: alias, pk: aliasClaimPk(alias) });
const materialClaim = (materialRef: string): Claim => ({
  kind: "material reference",
  value: materialRef,
  pk: materialClaimPk(materialRef),
  field: "materialRef",
});

/** DynamoDB keys are at most 2,048 bytes; a longer reference cannot name anything stored. */
const MAX_REFERENCE_LENGTH = 1024;
const MAX_LEASE_OWNER_LENGTH = 256;

/**
 * Managed keys in Tether's one table (layout in table-definition.ts). dynalite has no transactions, so
 * every change is single-item conditional writes, ordered so that an interruption between any two leaves
 * a safe state that a retry converges from; each method says its order. The one SDK error understood here
 * is ConditionalCheckFailedException, which becomes a domain error; every other error passes untouched.
 */
export class DynamoKeyRepository implements KeyRepository {
  readonly #o: ResolvedStoreOptions;

  /** @throws RangeError on invalid options (see resolveStoreOptions) */
  constructor(options: DynamoStoreOptions) {
    this.#o = resolveStoreOptions(options);
  }

  /**
   * Order: (1) the claims — the material reference, every Region's key ARN, then the alias; (2) the Region items; (3) the key
   * record, last and only if absent: its existence is what "managed" means. Until (3), get / resolve /
   * list do not see the key and the sweep skips its Regions (their key record is missing). A retry of the
   * same registration (same id) passes its own claims and rewrites its Regions. A registration that died
   * between (1) and (3) leaves claims that another registration takes over once stale (see #claim).
   * @throws StateConflictError when the id is registered already, or a key ARN or the alias is managed
   *   (or being registered) under another id
   */
  async create(key: ManagedKey): Promise<void> {
    if ((await this.#keyItem(key.id)) !== undefined) {
      throw new StateConflictError(`Key ${key.id} is already registered.`, {
        keyId: key.id,
        state: "managed",
      });
    }
    const claims = [materialClaim(key.materialRef), ...key.regions.map((record) => arnClaim(record.keyArn))];
    if (key.alias !== undefined) claims.push(aliasClaim(key.alias));
    const taken: Claim[] = [];
    try {
      for (const claim of claims) {
        await this.#claim(claim, key.id);
        taken.push(claim);
      }
    } catch (error) {
      // Give back what this call took, so a refused registration blocks nothing. If a release fails the
      // original error still is the one to report: a leftover claim is stale-claimable anyway.
      for (const claim of taken) await this.#releaseClaim(claim.pk, key.id).catch(() => undefined);
      throw error;
    }
    // Nothing else writes a Region of a key that is not managed yet, so these puts need no condition.
    // Each Region is filed in the due-work index under its key's priority (its band touched first).
    await touchBands(this.#o, [key.policy.priority]);
    await mapBounded(key.regions, this.#o.queryConcurrency, (record, ordinal) =>
      this.#o.doc.send(
        new PutCommand({
          TableName: this.#o.tableName,
          Item: regionItem(key.id, withKeyPriority(record, key), ordinal),
        }),
      ),
    );
    try {
      await this.#o.doc.send(
        new PutCommand({
          TableName: this.#o.tableName,
          Item: keyRecordItem(key),
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      throw new StateConflictError(
        `Key ${key.id} is already registered.`,
        { keyId: key.id, state: "managed" },
        { cause: error },
      );
    }
  }

  /**
   * Claims a material reference for the key `id` is (or is about to become), before anything exists in
   * KMS (one conditional put: of two registrations racing for one reference exactly one wins). create()
   * claims the key's reference again (its own claim passes); remove() gives back every one it names. A registration that stopped without a key record
   * leaves a claim that another takes over once stale, as for key ARNs.
   * @throws StateConflictError (field materialRef) when another managed key, or a registration still
   *   running, holds the reference
   */
  async claimMaterial(materialRef: string, id: TetherKeyId): Promise<void> {
    await this.#claim(materialClaim(materialRef), id);
  }

  /** Gives back a material reference claimed by `id` (a refused registration); no error if not held. */
  async releaseMaterial(materialRef: string, id: TetherKeyId): Promise<void> {
    await this.#releaseClaim(materialClaimPk(materialRef), id);
  }

  /**
   * The key record and its Regions, read consistently (one Query); with `regions: "none"` the key record
   * alone (one GetItem), `regions` empty.
   */
  async get(id: TetherKeyId, options: GetKeyOptions = {}): Promise<ManagedKey | undefined> {
    if (options.regions === "none") {
      const keyItem = await this.#keyItem(id);
      return keyItem === undefined ? undefined : managedKeyFromItems(keyItem, []);
    }
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      // EVENT# < KEY < REGION#: this range is the key record and its Regions, never the history.
      const page = await this.#o.doc.send(
        new QueryCommand({
          TableName: this.#o.tableName,
          KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
          ExpressionAttributeValues: { ":pk": keyPk(id), ":from": KEY_RECORD_SK, ":to": REGION_UPPER_BOUND },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    const keyItem = items.find((item) => item.sk === KEY_RECORD_SK);
    if (keyItem === undefined) return undefined;
    return managedKeyFromItems(
      keyItem,
      items.filter((item) => item !== keyItem),
    );
  }

  /**
   * A Tether id resolves if its key record exists; a key ARN or an alias (with or without `alias/`) if its
   * claim's holder is managed and, for an alias, still names it. Anything else is undefined.
   */
  async resolve(reference: string): Promise<TetherKeyId | undefined> {
    if (typeof reference !== "string" || reference.length === 0 || reference.length > MAX_REFERENCE_LENGTH) {
      return undefined;
    }
    if (isTetherKeyId(reference)) {
      return (await this.#keyItem(reference)) === undefined ? undefined : reference;
    }
    const claim = reference.startsWith("arn:")
      ? arnClaim(reference)
      : aliasClaim(reference.startsWith("alias/") ? reference : `alias/${reference}`);
    const holder = await this.#claimHolder(claim.pk);
    if (holder === undefined) return undefined;
    return (await this.#claimHeld(claim, holder.id)) ? holder.id : undefined;
  }

  /**
   * Writes status, policy, alias, description and updatedAt when the stored version is `key.version`; when
   * the policy's priority changed, then moves the key's Regions to its band of the due-work index.
   * When the alias changes, the order is: (1) claim the new alias, (2) write the key record, (3) release
   * the old alias. Interrupted after (1) or (2), a claim is left that the key record does not name:
   * resolve() ignores it, and it goes stale like any orphaned claim.
   * @throws VersionConflictError when the stored version differs (or the key is gone); StateConflictError
   *   when the new alias belongs to another key
   */
  async saveKey(key: ManagedKey): Promise<ManagedKey> {
    const stored = await this.#keyItem(key.id);
    const conflict = (cause?: unknown) =>
      new VersionConflictError(
        { keyId: key.id, expectedVersion: key.version },
        cause === undefined ? undefined : { cause },
      );
    if (stored === undefined || stored.version !== key.version) throw conflict();
    const oldAlias = typeof stored.alias === "string" ? stored.alias : undefined;
    const newAlias = key.alias;
    const aliasChanged = newAlias !== oldAlias;
    if (aliasChanged && newAlias !== undefined) await this.#claim(aliasClaim(newAlias), key.id);

    const { set, remove } = keyMutableAttributes(key);
    const update = updateExpression({ ...set, version: key.version + 1 }, remove);
    try {
      await this.#o.doc.send(
        new UpdateCommand({
          TableName: this.#o.tableName,
          Key: { pk: keyPk(key.id), sk: KEY_RECORD_SK },
          ...update,
          ConditionExpression: "#version = :expected",
          ExpressionAttributeNames: { ...update.ExpressionAttributeNames, "#version": "version" },
          ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ":expected": key.version },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      // The winner may have set the same alias: give the new claim back only if the record does not name it.
      if (aliasChanged && newAlias !== undefined && (await this.#keyItem(key.id))?.alias !== newAlias) {
        await this.#releaseClaim(aliasClaimPk(newAlias), key.id);
      }
      throw conflict(error);
    }
    if (aliasChanged && oldAlias !== undefined) await this.#releaseClaim(aliasClaimPk(oldAlias), key.id);
    if (storedPriority(stored) !== key.policy.priority) await this.#fileRegions(key);
    return { ...key, version: key.version + 1 };
  }

  async makeRegionsDue(keyId: TetherKeyId, now: Date): Promise<void> {
    const regions = await this.#regionKeys(keyId);
    // Due times move earlier in whatever band the Regions are in.
    if (regions.length > 0) await touchAllBands(this.#o);
    await mapBounded(regions, this.#o.queryConcurrency, async (region) => {
      try {
        await this.#o.doc.send(
          new UpdateCommand({
            TableName: this.#o.tableName,
            Key: { pk: region.pk, sk: region.sk },
            UpdateExpression: "SET nextCheckAt = :iso, #dueAt = :at",
            // Never pushes an earlier due time later; never brings back a Region removed meanwhile.
            ConditionExpression: "attribute_exists(pk) AND #dueAt > :at",
            ExpressionAttributeNames: { "#dueAt": StoreAttribute.DueAt },
            ExpressionAttributeValues: { ":iso": now.toISOString(), ":at": now.getTime() },
          }),
        );
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
    });
  }

  /**
   * Moves every Region of the key to its priority's band of the due-work index (after its policy's priority
   * changed), leaving its record and next check as they are. Not atomic with the key record, and a run on a
   * Region that read the key before the change may file it back under the old priority: either way each run
   * files its Region under the priority it reads (withKeyPriority), so a Region is in its right band by its
   * next visit at the latest, and meanwhile it is still served, only in its old place in the order.
   */
  async #fileRegions(key: ManagedKey): Promise<void> {
    const regions = await this.#regionKeys(key.id);
    if (regions.length > 0) await touchBands(this.#o, [key.policy.priority]);
    await mapBounded(regions, this.#o.queryConcurrency, async (region) => {
      const name = String(region.sk).slice(REGION_PREFIX.length);
      try {
        await this.#o.doc.send(
          new UpdateCommand({
            TableName: this.#o.tableName,
            Key: { pk: region.pk, sk: region.sk },
            UpdateExpression: "SET #shard = :shard",
            ConditionExpression: "attribute_exists(pk)",
            ExpressionAttributeNames: { "#shard": StoreAttribute.DueShard },
            ExpressionAttributeValues: { ":shard": dueShard(key.id, name, key.policy.priority) },
          }),
        );
      } catch (error) {
        // The Region went meanwhile (a replica removed, the key unmanaged): nothing to file.
        if (!isConditionFailed(error)) throw error;
      }
    });
  }

  /**
   * One UpdateItem: the record's fields and its place in the due-work index; lease attributes untouched.
   * Never creates a Region (that is addRegion), so a save racing remove() cannot bring a Region back.
   * @throws LeaseNotAcquiredError when `lease` is given and no longer held (expired, taken over, released,
   *   or the Region is gone); NotFoundError when no lease is given and the Region does not exist;
   *   ValidationError when the lease is for another key or Region
   */
  async saveRegion(keyId: TetherKeyId, record: RegionRecord, lease?: Lease): Promise<void> {
    if (lease !== undefined && (lease.keyId !== keyId || lease.region !== record.region)) {
      throw new ValidationError(
        "lease",
        `is for ${lease.keyId}/${lease.region}, not ${keyId}/${record.region}`,
      );
    }
    const { set, remove } = regionAttributes(keyId, record);
    const update = updateExpression(set, remove);
    await touchBands(this.#o, [record.priority]);
    const leaseCondition = lease === undefined ? "" : " AND #leaseOwner = :owner AND #leaseExpiresAt > :now";
    try {
      await this.#o.doc.send(
        new UpdateCommand({
          TableName: this.#o.tableName,
          Key: { pk: keyPk(keyId), sk: regionSk(record.region) },
          ...update,
          ConditionExpression: `attribute_exists(pk)${leaseCondition}`,
          ExpressionAttributeNames: {
            ...update.ExpressionAttributeNames,
            ...(lease === undefined
              ? {}
              : { "#leaseOwner": "leaseOwner", "#leaseExpiresAt": "leaseExpiresAt" }),
          },
          ExpressionAttributeValues: {
            ...update.ExpressionAttributeValues,
            ...(lease === undefined ? {} : { ":owner": lease.owner, ":now": this.#o.clock().getTime() }),
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      if (lease !== undefined)
        throw new LeaseNotAcquiredError(leaseId(keyId, record.region), { cause: error });
      throw new NotFoundError("Region", `${keyId}/${record.region}`, { cause: error });
    }
  }

  /**
   * Order: (1) the key must be managed; (2) claim the replica's key ARN; (3) the Region item, only if
   * absent; (4) read the key record again: if remove() ran meanwhile, undo (3) and (2), so no Region is
   * left in the due-work index for a key that is gone.
   * @throws NotFoundError when the key is not managed; StateConflictError when the Region exists already
   *   or its key ARN is managed under another key
   */
  async addRegion(keyId: TetherKeyId, record: RegionRecord): Promise<void> {
    const keyItem = await this.#keyItem(keyId);
    if (keyItem === undefined) throw new NotFoundError("managed key", keyId);
    await this.#claim(arnClaim(record.keyArn), keyId);
    // Filed under the key's priority, as create() files its Regions.
    const priority = storedPriority(keyItem);
    const filed = { ...record, priority: priority === Priority.Normal ? undefined : priority };
    await touchBands(this.#o, [filed.priority]);
    try {
      await this.#o.doc.send(
        new PutCommand({
          TableName: this.#o.tableName,
          // Ordinals of create() are 0..n-1; a time puts later replicas after them, in the order added.
          Item: regionItem(keyId, filed, this.#o.clock().getTime()),
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      throw new StateConflictError(
        `Key ${keyId} already has Region ${record.region}.`,
        { keyId, state: "managed" },
        { cause: error },
      );
    }
    if ((await this.#keyItem(keyId)) === undefined) {
      await this.#deleteItem(keyPk(keyId), regionSk(record.region));
      await this.#releaseClaim(arnClaimPk(record.keyArn), keyId);
      throw new NotFoundError("managed key", keyId);
    }
  }

  /**
   * Idempotent. Order: (1) the key record — from here the key is not managed (get / resolve / list miss
   * it, the sweep skips its Regions); (2) its claims, the ARNs read from the Region items so a retry after
   * an interruption still finds them; (3) the Region items, which leave the due-work index. History stays.
   * Only the alias claim can outlive an interruption after (1), its name having been on the key record:
   * resolve() ignores it and a new registration takes it over once stale.
   */
  async remove(id: TetherKeyId): Promise<void> {
    const keyItem = await this.#keyItem(id);
    if (keyItem !== undefined) await this.#deleteItem(keyPk(id), KEY_RECORD_SK);
    await this.#removeLeftovers(id, typeof keyItem?.alias === "string" ? keyItem.alias : undefined);
    for (const materialRef of materialRefsOf(keyItem)) {
      await this.#releaseClaim(materialClaimPk(materialRef), id);
    }
  }

  /**
   * Regions whose nextCheckAt <= now, at most `limit`: critical ones first, then high, normal, low, and
   * within a priority the earliest due first (Priority). Each priority is a band of shards of the `due`
   * index (dueShard), read with queryShards' lazy merge, and a band only while the ones before it leave room:
   * a backlog larger than `limit` costs about `limit` entries read (plus at most a page per shard), and with
   * nothing due one empty Query per shard of the normal band and of each sparse band not marked quiet
   * (lib/domain/due-bands.ts: a sparse band untouched for a while is first looked ahead in, one item per
   * shard; with nothing due it is marked quiet and skipped until its earliest due time or the next write
   * into it), plus one GetItem for the marks; never a Scan, never the whole table. A Region of a
   * key removed or half-registered may appear; its key record is missing, so the caller skips it.
   * The index is eventually consistent ("all reads from GSIs and streams are eventually consistent",
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html), and
   * KEYS_ONLY on purpose: it says which Regions to look at, never what they hold. A worker takes the Region's
   * record from the write that leases it (acquireLease) and the key record from a consistent read.
   * @throws ValidationError (`limit`, `now`)
   */
  async due(now: Date, limit: number): Promise<DueRegion[]> {
    checkLimit(limit);
    if (!(now instanceof Date) || Number.isNaN(now.getTime()))
      throw new ValidationError("now", "is not a valid time");
    const at = now.getTime();
    const marks = await readBandMarks(this.#o);
    const found: DueRegion[] = [];
    // Band by band, critical first: a lower band is read only when the higher ones leave room, and a sparse
    // band only when its mark does not say it is quiet past now (lib/domain/due-bands.ts).
    for (const priority of PRIORITIES) {
      if (found.length >= limit) break;
      const mark = marks.get(priority);
      if (!mustReadBand(priority, mark, at)) continue;
      if (shouldLookAhead(priority, mark, at) && (await this.#markedQuiet(priority, at))) continue;
      const items = await this.#readBand(priority, at, limit - found.length);
      for (const item of items) found.push(dueRegionOf(item, priority));
    }
    return found;
  }

  async regionArns(
    regions: readonly { readonly keyId: TetherKeyId; readonly region: AwsRegion }[],
  ): Promise<(string | undefined)[]> {
    const found = new Map<string, string>();
    // BatchGetItem takes at most 100 keys a request, and may leave some unprocessed under load: asked again.
    // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
    const unique = [...new Map(regions.map((r) => [leaseId(r.keyId, r.region), r])).values()];
    for (let start = 0; start < unique.length; start += 100) {
      let keys: Record<string, unknown>[] | undefined = unique
        .slice(start, start + 100)
        .map((r) => ({ pk: keyPk(r.keyId), sk: regionSk(r.region) }));
      for (let attempt = 0; keys !== undefined && keys.length > 0; attempt++) {
        if (attempt >= 10) throw new Error("BatchGetItem left Region records unprocessed 10 times in a row");
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
        const out: BatchGetCommandOutput = await this.#o.doc.send(
          new BatchGetCommand({
            RequestItems: { [this.#o.tableName]: { Keys: keys, ProjectionExpression: "pk, sk, keyArn" } },
          }),
        );
        for (const item of out.Responses?.[this.#o.tableName] ?? []) {
          if (typeof item.keyArn === "string") found.set(`${item.pk}\u0000${item.sk}`, item.keyArn);
        }
        keys = out.UnprocessedKeys?.[this.#o.tableName]?.Keys;
      }
    }
    return regions.map((r) => found.get(`${keyPk(r.keyId)}\u0000${regionSk(r.region)}`));
  }

  /** Up to `limit` Regions of one band, earliest due first, due at or before `upTo` (undefined: any). */
  #readBand(priority: Priority, upTo: number | undefined, limit: number): Promise<Item[]> {
    return queryShards({
      doc: this.#o.doc,
      tableName: this.#o.tableName,
      indexName: StoreIndex.Due,
      shards: dueBandShards(priority),
      shardAttribute: StoreAttribute.DueShard,
      orderAttribute: StoreAttribute.DueAt,
      upTo,
      limit,
      concurrency: this.#o.queryConcurrency,
    });
  }

  /**
   * Looks up a sparse band's earliest due time (one Query per shard, one item each: what reading the band
   * costs anyway) and, when that is after `at` (or the band is empty), marks the band quiet until then.
   * @returns whether the band has nothing due (false: read it)
   */
  async #markedQuiet(priority: Priority, at: number): Promise<boolean> {
    const [earliest] = await this.#readBand(priority, undefined, 1);
    const until = quietUntil(earliest === undefined ? undefined : Number(earliest[StoreAttribute.DueAt]), at);
    if (until === undefined) return false;
    await markBandQuiet(this.#o, priority, until, at);
    return true;
  }

  /**
   * Managed keys, oldest registration first, each read whole (with its Regions).
   * @throws ValidationError (`limit`, `nextToken`)
   */
  async list(options: { limit: number; nextToken?: string | undefined }): Promise<Page<ManagedKey>> {
    const limit = checkLimit(options.limit);
    const start = decodePageToken(
      options.nextToken,
      [StoreAttribute.Pk, StoreAttribute.Sk, StoreAttribute.ListPk, StoreAttribute.ListSk],
      (key) =>
        key.listPk === LIST_PARTITION &&
        key.sk === KEY_RECORD_SK &&
        isTetherKeyId(key.listSk) &&
        key.pk === keyPk(key.listSk),
    );
    const page = await this.#o.doc.send(
      new QueryCommand({
        TableName: this.#o.tableName,
        IndexName: StoreIndex.Keys,
        KeyConditionExpression: "#listPk = :list",
        ExpressionAttributeNames: { "#listPk": StoreAttribute.ListPk },
        ExpressionAttributeValues: { ":list": LIST_PARTITION },
        Limit: limit,
        ExclusiveStartKey: start,
      }),
    );
    const ids = (page.Items ?? []).map((item) => item.listSk).filter(isTetherKeyId);
    // The index is eventually consistent: a key removed since is skipped, not returned half-read.
    const keys = await mapBounded(ids, this.#o.queryConcurrency, (id) => this.get(id));
    return {
      items: keys.filter((key): key is ManagedKey => key !== undefined),
      nextToken: encodePageToken(page.LastEvaluatedKey),
    };
  }

  /**
   * The lease lives on the Region item: taken if free, expired, or already ours (then extended). The lease
   * carries the Region's record as that conditional write left it (ReturnValues ALL_NEW: "strongly
   * consistent", and "no read capacity units are consumed",
   * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html#DDB-UpdateItem-request-ReturnValues
   * https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/dynamodb/aws.sdk.kotlin.services.dynamodb.model/-update-item-request/return-values.html),
   * so the worker holding it need not read the Region again: it is the record every later write of the
   * Region is conditioned on (the lease), not an eventually consistent copy such as the due index holds.
   * @throws LeaseNotAcquiredError when another owner holds it, or the Region does not exist;
   *   ValidationError on an empty owner or a ttl that is not a positive integer
   */
  async acquireLease(
    keyId: TetherKeyId,
    region: AwsRegion,
    owner: string,
    ttlMs: number,
    now: Date,
  ): Promise<Lease> {
    if (typeof owner !== "string" || owner.length === 0 || owner.length > MAX_LEASE_OWNER_LENGTH) {
      throw new ValidationError("owner", `must be 1 to ${MAX_LEASE_OWNER_LENGTH} characters`);
    }
    if (!Number.isInteger(ttlMs) || ttlMs <= 0)
      throw new ValidationError("ttlMs", "must be a positive integer");
    const expiresAt = new Date(now.getTime() + ttlMs);
    let attributes: Item | undefined;
    try {
      const output = await this.#o.doc.send(
        new UpdateCommand({
          TableName: this.#o.tableName,
          Key: { pk: keyPk(keyId), sk: regionSk(region) },
          UpdateExpression: "SET #owner = :owner, #expires = :expires",
          ConditionExpression:
            "attribute_exists(pk) AND (attribute_not_exists(#owner) OR #expires <= :now OR #owner = :owner)",
          ExpressionAttributeNames: { "#owner": "leaseOwner", "#expires": "leaseExpiresAt" },
          ExpressionAttributeValues: {
            ":owner": owner,
            ":expires": expiresAt.getTime(),
            ":now": now.getTime(),
          },
          ReturnValues: "ALL_NEW",
        }),
      );
      attributes = output.Attributes;
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      throw new LeaseNotAcquiredError(leaseId(keyId, region), { cause: error });
    }
    return { keyId, region, owner, expiresAt, record: leasedRecord(attributes, region) };
  }

  /** Removes the lease only while `lease.owner` still holds it; otherwise nothing happens. */
  async releaseLease(lease: Lease): Promise<void> {
    try {
      await this.#o.doc.send(
        new UpdateCommand({
          TableName: this.#o.tableName,
          Key: { pk: keyPk(lease.keyId), sk: regionSk(lease.region) },
          UpdateExpression: "REMOVE #owner, #expires",
          ConditionExpression: "#owner = :owner",
          ExpressionAttributeNames: { "#owner": "leaseOwner", "#expires": "leaseExpiresAt" },
          ExpressionAttributeValues: { ":owner": lease.owner },
        }),
      );
    } catch (error) {
      // Expired and taken by someone else, or the Region is gone: there is nothing of ours to give back.
      if (!isConditionFailed(error)) throw error;
    }
  }

  /** The key record, read consistently. */
  async #keyItem(id: TetherKeyId): Promise<Item | undefined> {
    const output = await this.#o.doc.send(
      new GetCommand({
        TableName: this.#o.tableName,
        Key: { pk: keyPk(id), sk: KEY_RECORD_SK },
        ConsistentRead: true,
      }),
    );
    return output.Item;
  }

  async #claimHolder(pk: string): Promise<{ id: TetherKeyId; claimedAt: number } | undefined> {
    const output = await this.#o.doc.send(
      new GetCommand({ TableName: this.#o.tableName, Key: { pk, sk: CLAIM_SK }, ConsistentRead: true }),
    );
    const item = output.Item;
    if (item === undefined) return undefined;
    if (!isTetherKeyId(item.tetherId))
      throw new CorruptRecordError({ pk, sk: CLAIM_SK }, "tetherId: not a Tether key id");
    return { id: item.tetherId, claimedAt: Date.parse(String(item.claimedAt)) };
  }

  /**
   * Whether the claim's holder is managed and, for an alias, its record still names this alias. A material
   * reference stays its key's while the key is managed (a rotated key still holds its earlier materials);
   * remove() gives back every one.
   */
  async #claimHeld(claim: Claim, holder: TetherKeyId): Promise<boolean> {
    const keyItem = await this.#keyItem(holder);
    if (keyItem === undefined) return false;
    return claim.kind !== "alias" || keyItem.alias === claim.value;
  }

  /**
   * Claims a key ARN or alias for `id`: free, already ours, or stale. A claim is stale when its holder does
   * not hold it (no key record, or an alias its record no longer names) and it is older than staleClaimMs —
   * so a registration still running is never robbed. Takeover clears the dead registration's leftovers
   * (Region items in the due-work index, its ARN claims), then swaps the holder conditionally on the old
   * one, so of two registrations taking over at once exactly one wins.
   * @throws StateConflictError
   */
  async #claim(claim: Claim, id: TetherKeyId): Promise<void> {
    const now = this.#o.clock();
    const item = { pk: claim.pk, sk: CLAIM_SK, tetherId: id, claimedAt: now.toISOString(), kind: claim.kind };
    let condition = "attribute_not_exists(pk) OR tetherId = :holder";
    let holderValue: string = id;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.#o.doc.send(
          new PutCommand({
            TableName: this.#o.tableName,
            Item: item,
            ConditionExpression: condition,
            ExpressionAttributeValues: { ":holder": holderValue },
          }),
        );
        return;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
      const holder = await this.#claimHolder(claim.pk);
      if (holder === undefined || holder.id === id) {
        condition = "attribute_not_exists(pk) OR tetherId = :holder";
        holderValue = id;
        continue;
      }
      const conflict = (what: string) =>
        new StateConflictError(`The ${claim.kind} ${claim.value} is ${what} by Tether key ${holder.id}.`, {
          keyId: holder.id,
          state: what === "managed" ? "managed" : "registering",
          field: claim.field,
        });
      if (await this.#claimHeld(claim, holder.id)) throw conflict("managed");
      if (!(holder.claimedAt + this.#o.staleClaimMs <= now.getTime())) throw conflict("being registered");
      if (claim.kind === "key ARN") await this.#removeLeftovers(holder.id, undefined);
      condition = "attribute_not_exists(pk) OR tetherId = :holder";
      holderValue = holder.id;
    }
    throw new StateConflictError(`The ${claim.kind} ${claim.value} is contended; try again.`, {
      keyId: id,
      state: "contended",
      field: claim.field,
    });
  }

  /** Deletes a claim only if `id` holds it. */
  async #releaseClaim(pk: string, id: TetherKeyId): Promise<void> {
    try {
      await this.#o.doc.send(
        new DeleteCommand({
          TableName: this.#o.tableName,
          Key: { pk, sk: CLAIM_SK },
          ConditionExpression: "tetherId = :id",
          ExpressionAttributeValues: { ":id": id },
        }),
      );
    } catch (error) {
      // Someone else holds it now (or nobody): not ours to delete.
      if (!isConditionFailed(error)) throw error;
    }
  }

  /** The key's Region items (pk, sk and keyArn only), read consistently. */
  async #regionKeys(id: TetherKeyId): Promise<Item[]> {
    const regions: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#o.doc.send(
        new QueryCommand({
          TableName: this.#o.tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :region)",
          ExpressionAttributeValues: { ":pk": keyPk(id), ":region": REGION_PREFIX },
          ProjectionExpression: "pk, sk, keyArn",
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      regions.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return regions;
  }

  /** Claims (ARNs from the Region items, and the alias if known), then the Region items, of a key without a record. */
  async #removeLeftovers(id: TetherKeyId, alias: string | undefined): Promise<void> {
    const regions = await this.#regionKeys(id);
    for (const region of regions) {
      if (typeof region.keyArn === "string") await this.#releaseClaim(arnClaimPk(region.keyArn), id);
    }
    if (alias !== undefined) await this.#releaseClaim(aliasClaimPk(alias), id);
    await mapBounded(regions, this.#o.queryConcurrency, (region) =>
      this.#deleteItem(String(region.pk), String(region.sk)),
    );
  }

  async #deleteItem(pk: string, sk: string): Promise<void> {
    await this.#o.doc.send(new DeleteCommand({ TableName: this.#o.tableName, Key: { pk, sk } }));
  }
}

/** Every material reference a key record names: the current one, its rotated materials, one being rotated to. */
function materialRefsOf(keyItem: Item | undefined): string[] {
  if (keyItem === undefined) return [];
  const refs = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === "object" && value !== null) {
      const ref = (value as Item).materialRef;
      if (typeof ref === "string") refs.add(ref);
    }
  };
  add(keyItem);
  if (Array.isArray(keyItem.materials)) keyItem.materials.forEach(add);
  add(keyItem.pendingRotation);
  return [...refs];
}

/**
 * The Region's record from the lease write's ALL_NEW, or undefined when it does not parse (or names another
 * Region): the worker then reads the key whole, and that read reports the corrupt item while the worker
 * holds the lease and gives it back — taking the lease itself must not fail after it was taken.
 */
function leasedRecord(attributes: Item | undefined, region: AwsRegion): RegionRecord | undefined {
  if (attributes === undefined) return undefined;
  try {
    const record = regionFromItem(attributes);
    return record.region === region ? record : undefined;
  } catch {
    return undefined;
  }
}

/** The priority the stored key record's policy names (normal when it names none: a policy from before). */
function storedPriority(keyItem: Item): Priority {
  const policy = keyItem.policy;
  const priority = typeof policy === "object" && policy !== null ? (policy as Item).priority : undefined;
  return PRIORITIES.find((p) => p === priority) ?? Priority.Normal;
}

/** A due-index entry (KEYS_ONLY: pk and sk name the Region) as the Region it names. */
function dueRegionOf(item: Item, priority: Priority): DueRegion {
  const where = { pk: String(item.pk), sk: String(item.sk) };
  try {
    return {
      keyId: parseTetherKeyId(where.pk.slice(KEY_PREFIX.length)),
      region: parseAwsRegion(where.sk.slice(REGION_PREFIX.length)),
      nextCheckAt: new Date(Number(item.dueAt)),
      priority,
    };
  } catch (error) {
    throw new CorruptRecordError(where, "not a Region item", { cause: error });
  }
}

function leaseId(keyId: string, region: string): string {
  return `${keyId}/${region}`;
}
