import type { TetherKeyId } from "../domain/ids.js";
import { parseAwsRegion, parseCheckValue, parseMaterialRef, parseTetherKeyId } from "../domain/ids.js";
import { Priority, parseImportPolicy, toImportPolicyInput } from "../domain/import-policy.js";
import { accountOfKeyId } from "../domain/key-arn.js";
import type { KeyMaterialRecord, PendingRotation, PendingSwap } from "../domain/key-material.js";
import { KeySpec, WrappingAlgorithm, WrappingKeySpec } from "../domain/kms-constants.js";
import {
  type ImportInFlight,
  type KeyStatus,
  KeyStatusState,
  LossCause,
  type ManagedKey,
  type RegionRecord,
} from "../domain/managed-key.js";
import type { StoredParametersInfo } from "../domain/warm-parameters.js";
import { CorruptRecordError } from "./errors.js";
import { dueShard, KEY_RECORD_SK, keyPk, LIST_PARTITION, priorityOfDueShard, regionSk } from "./item-keys.js";

/**
 * ManagedKey <-> items. Dates are stored as ISO 8601 strings (millisecond precision, so they come back
 * equal), the policy in its input form (ISO durations), nothing else: the domain types have no field for
 * material, wrapped material or import tokens, and these mappers copy fields by name, never by spreading.
 * A Region item also holds its warm import parameters (ParametersAttribute), which only
 * DynamoImportParametersStore writes; regionAttributes never names them, so saving a Region keeps them.
 */

export type Item = Record<string, unknown>;

/** The key-level fields saveKey may change; the rest is fixed at registration. */
export function keyMutableAttributes(key: ManagedKey): { set: Item; remove: string[] } {
  const set: Item = {
    policy: toImportPolicyInput(key.policy),
    status: statusAttribute(key.status),
    updatedAt: key.updatedAt.toISOString(),
    // The current material changes on a rotation.
    materialRef: key.materialRef,
    checkValue: key.checkValue,
    // Fixed at registration; written on every save so a record older than the attribute gains it.
    account: key.account,
  };
  const remove: string[] = [];
  if (key.materials === undefined) remove.push("materials");
  else set.materials = key.materials.map(materialAttribute);
  if (key.pendingRotation === undefined) remove.push("pendingRotation");
  else {
    set.pendingRotation = {
      ...materialAttribute(key.pendingRotation),
      startedAt: key.pendingRotation.startedAt.toISOString(),
      ...(key.pendingRotation.steps === undefined
        ? {}
        : { steps: stepsAttribute(key.pendingRotation.steps) }),
      eventId: key.pendingRotation.eventId,
      correlationId: key.pendingRotation.correlationId,
      actor: key.pendingRotation.actor,
      reason: key.pendingRotation.reason,
    };
  }
  if (key.pendingSwap === undefined) remove.push("pendingSwap");
  else {
    const swap = key.pendingSwap;
    set.pendingSwap = {
      ...materialAttribute(swap),
      successorId: swap.successorId,
      alias: swap.alias,
      ...(swap.newKeyArn === undefined ? {} : { newKeyArn: swap.newKeyArn }),
      startedAt: swap.startedAt.toISOString(),
      steps: stepsAttribute(swap.steps),
      eventId: swap.eventId,
      correlationId: swap.correlationId,
      actor: swap.actor,
      reason: swap.reason,
    };
  }
  for (const [name, value] of [
    ["alias", key.alias],
    ["description", key.description],
    ["vaultKind", key.vaultKind],
    ["supersededBy", key.supersededBy],
    ["supersedes", key.supersedes],
  ] as const) {
    if (value === undefined) remove.push(name);
    else set[name] = value;
  }
  return { set, remove };
}

/** The key record (without its Regions, which are items of their own). */
export function keyRecordItem(key: ManagedKey): Item {
  const { set } = keyMutableAttributes(key);
  return {
    pk: keyPk(key.id),
    sk: KEY_RECORD_SK,
    listPk: LIST_PARTITION,
    listSk: key.id,
    id: key.id,
    kmsKeyId: key.kmsKeyId,
    primaryRegion: key.primaryRegion,
    keySpec: key.keySpec,
    multiRegion: key.multiRegion,
    version: key.version,
    createdAt: key.createdAt.toISOString(),
    ...set,
  };
}

function materialAttribute(material: KeyMaterialRecord): Item {
  const map: Item = { materialRef: material.materialRef, checkValue: material.checkValue };
  if (material.keyMaterialId !== undefined) map.keyMaterialId = material.keyMaterialId;
  if (material.rotatedAt !== undefined) map.rotatedAt = material.rotatedAt.toISOString();
  return map;
}

function materialFromAttribute(value: unknown, name: string, read: Reader): KeyMaterialRecord {
  if (typeof value !== "object" || value === null) throw read.corrupt(name, "not a map");
  const inner = reader(value as Item, read.item);
  return {
    materialRef: inner.parse("materialRef", parseMaterialRef),
    checkValue: inner.parse("checkValue", parseCheckValue),
    keyMaterialId: inner.optionalString("keyMaterialId"),
    rotatedAt: inner.optionalDate("rotatedAt"),
  };
}

function materialsFromAttribute(read: Reader): KeyMaterialRecord[] | undefined {
  const value = read.value("materials");
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw read.corrupt("materials", "not a list");
  return value.map((entry, i) => materialFromAttribute(entry, `materials[${i}]`, read));
}

function pendingRotationFromAttribute(read: Reader): PendingRotation | undefined {
  const value = read.value("pendingRotation");
  if (value === undefined) return undefined;
  const material = materialFromAttribute(value, "pendingRotation", read);
  const inner = reader(value as Item, read.item);
  return {
    ...material,
    startedAt: inner.date("startedAt"),
    steps: inner.value("steps") === undefined ? undefined : stepsFromAttribute(inner.value("steps"), read),
    eventId: inner.string("eventId"),
    correlationId: inner.string("correlationId"),
    actor: inner.string("actor"),
    reason: inner.string("reason"),
  };
}

function pendingSwapFromAttribute(read: Reader): PendingSwap | undefined {
  const value = read.value("pendingSwap");
  if (value === undefined) return undefined;
  const material = materialFromAttribute(value, "pendingSwap", read);
  const inner = reader(value as Item, read.item);
  return {
    ...material,
    successorId: inner.parse("successorId", parseTetherKeyId),
    alias: inner.string("alias"),
    newKeyArn: inner.optionalString("newKeyArn"),
    startedAt: inner.date("startedAt"),
    steps: stepsFromAttribute(inner.value("steps"), read),
    eventId: inner.string("eventId"),
    correlationId: inner.string("correlationId"),
    actor: inner.string("actor"),
    reason: inner.string("reason"),
  };
}

function statusAttribute(status: KeyStatus): Item {
  if (status.state === KeyStatusState.Active) return { state: status.state };
  return { state: status.state, reason: status.reason, actor: status.actor, at: status.at.toISOString() };
}

/** Optional RegionRecord fields, with how each is stored. */
const OPTIONAL_REGION_FIELDS = [
  "lastImportedAt",
  "importedValidTo",
  "lossCause",
  "lossDetectedAt",
  "unexplainedSince",
  "deletedBy",
  "deletedAt",
  "deletedFrom",
  "lossAlerted",
  "lastObservedKeyState",
  "lastObservedAt",
  "lastFailure",
] as const satisfies readonly (keyof RegionRecord)[];

/**
 * A Region's attributes for SET (and the absent optional ones for REMOVE), including its place in the
 * due-work index. Lease attributes are deliberately not here: saving a record never touches the lease.
 */
export function regionAttributes(keyId: TetherKeyId, record: RegionRecord): { set: Item; remove: string[] } {
  const set: Item = {
    keyId,
    region: record.region,
    keyArn: record.keyArn,
    materialExpected: record.materialExpected,
    nextCheckAt: record.nextCheckAt.toISOString(),
    consecutiveFailures: record.consecutiveFailures,
    dueShard: dueShard(keyId, record.region, record.priority),
    dueAt: record.nextCheckAt.getTime(),
  };
  const remove: string[] = [];
  for (const name of OPTIONAL_REGION_FIELDS) {
    const value = record[name];
    if (value === undefined) remove.push(name);
    else set[name] = value instanceof Date ? value.toISOString() : value;
  }
  if (record.importInFlight === undefined) remove.push("importInFlight");
  else set.importInFlight = importInFlightAttribute(record.importInFlight);
  return { set, remove };
}

function importInFlightAttribute(intent: ImportInFlight): Item {
  const map: Item = {
    kind: intent.kind,
    startedAt: intent.startedAt.toISOString(),
    eventId: intent.eventId,
    correlationId: intent.correlationId,
    actor: intent.actor,
  };
  if (intent.validTo !== undefined) map.validTo = intent.validTo.toISOString();
  if (intent.unprovable === true) map.unprovable = true;
  return map;
}

const IMPORT_KINDS: readonly string[] = ["import", "renew", "restore"] satisfies ImportInFlight["kind"][];

function importInFlightFromAttribute(read: Reader): ImportInFlight | undefined {
  const value = read.value("importInFlight");
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null) throw read.corrupt("importInFlight", "not a map");
  const inner = reader(value as Item, read.item);
  const kind = inner.string("kind");
  if (!IMPORT_KINDS.includes(kind)) throw read.corrupt("importInFlight.kind", "unknown kind");
  return {
    kind: kind as ImportInFlight["kind"],
    startedAt: inner.date("startedAt"),
    validTo: inner.optionalDate("validTo"),
    eventId: inner.string("eventId"),
    correlationId: inner.string("correlationId"),
    actor: inner.string("actor"),
    ...(inner.value("unprovable") === true ? { unprovable: true } : {}),
  };
}

/**
 * A whole Region item. `ordinal` only keeps the order of ManagedKey.regions (primary first, then replicas
 * in the order they were added): sort keys alone would order Regions alphabetically.
 */
export function regionItem(keyId: TetherKeyId, record: RegionRecord, ordinal: number): Item {
  return { pk: keyPk(keyId), sk: regionSk(record.region), ordinal, ...regionAttributes(keyId, record).set };
}

/**
 * A ManagedKey from its key record and Region items.
 * @throws CorruptRecordError when an item does not parse
 */
export function managedKeyFromItems(keyItem: Item, regionItems: readonly Item[]): ManagedKey {
  const read = reader(keyItem);
  const regions = [...regionItems]
    .sort((a, b) => Number(a.ordinal ?? 0) - Number(b.ordinal ?? 0))
    .map((item) => regionFromItem(item));
  const primaryRegion = read.parse("primaryRegion", parseAwsRegion);
  // The primary first whatever the ordinals say: ManagedKey promises it.
  regions.sort((a, b) => Number(b.region === primaryRegion) - Number(a.region === primaryRegion));
  const keySpec = read.string("keySpec");
  if (!Object.hasOwn(KeySpec, keySpec)) throw read.corrupt("keySpec", "unknown key spec");
  return {
    id: read.parse("id", parseTetherKeyId),
    kmsKeyId: read.string("kmsKeyId"),
    account: accountOf(read, regions),
    primaryRegion,
    keySpec: keySpec as KeySpec,
    multiRegion: read.boolean("multiRegion"),
    regions,
    materialRef: read.parse("materialRef", parseMaterialRef),
    checkValue: read.parse("checkValue", parseCheckValue),
    materials: materialsFromAttribute(read),
    pendingRotation: pendingRotationFromAttribute(read),
    pendingSwap: pendingSwapFromAttribute(read),
    supersededBy: optionalKeyId(read, "supersededBy"),
    supersedes: optionalKeyId(read, "supersedes"),
    vaultKind: read.optionalString("vaultKind"),
    policy: read.parse("policy", parseImportPolicy),
    status: statusFromAttribute(read),
    alias: read.optionalString("alias"),
    description: read.optionalString("description"),
    version: read.number("version"),
    createdAt: read.date("createdAt"),
    updatedAt: read.date("updatedAt"),
  };
}

/**
 * The key's account: its attribute, else (a record written before keys carried one) the account of its
 * primary's ARN, which was the deployment's own then. No migration: the next save writes the attribute.
 */
function accountOf(read: Reader, regions: readonly RegionRecord[]): string {
  const stored = read.optionalString("account");
  if (stored !== undefined) {
    if (!/^\d{12}$/.test(stored)) throw read.corrupt("account", "not a 12-digit account id");
    return stored;
  }
  const fromArn = regions[0] === undefined ? undefined : accountOfKeyId(regions[0].keyArn);
  if (fromArn === undefined) throw read.corrupt("account", "absent, and no Region's ARN names one");
  return fromArn;
}

function stepsAttribute(steps: Readonly<Record<string, Date>>): Item {
  return Object.fromEntries(Object.entries(steps).map(([name, at]) => [name, at.toISOString()]));
}

function stepsFromAttribute(value: unknown, read: Reader): Record<string, Date> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null) throw read.corrupt("pendingSwap.steps", "not a map");
  const steps: Record<string, Date> = {};
  for (const [name, at] of Object.entries(value)) {
    const date = typeof at === "string" ? new Date(at) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw read.corrupt(`pendingSwap.steps.${name}`, "not a time");
    steps[name] = date;
  }
  return steps;
}

function optionalKeyId(read: Reader, name: string): TetherKeyId | undefined {
  return read.value(name) === undefined ? undefined : read.parse(name, parseTetherKeyId);
}

function statusFromAttribute(read: Reader): KeyStatus {
  const status = read.value("status");
  if (typeof status !== "object" || status === null) throw read.corrupt("status", "not a map");
  const inner = reader(status as Item, read.item);
  const state = inner.string("state");
  if (state === KeyStatusState.Active) return { state };
  if (state === KeyStatusState.Paused || state === KeyStatusState.Revoked) {
    return { state, reason: inner.string("reason"), actor: inner.string("actor"), at: inner.date("at") };
  }
  throw read.corrupt("status.state", "unknown state");
}

/** @throws CorruptRecordError */
export function regionFromItem(item: Item): RegionRecord {
  const read = reader(item);
  const lossCause = read.optionalString("lossCause");
  if (lossCause !== undefined && !(Object.values(LossCause) as string[]).includes(lossCause)) {
    throw read.corrupt("lossCause", "unknown loss cause");
  }
  return {
    region: read.parse("region", parseAwsRegion),
    keyArn: read.string("keyArn"),
    materialExpected: read.boolean("materialExpected"),
    lastImportedAt: read.optionalDate("lastImportedAt"),
    importedValidTo: read.optionalDate("importedValidTo"),
    lossCause: lossCause as LossCause | undefined,
    lossDetectedAt: read.optionalDate("lossDetectedAt"),
    unexplainedSince: read.optionalDate("unexplainedSince"),
    deletedBy: read.optionalString("deletedBy"),
    deletedAt: read.optionalDate("deletedAt"),
    deletedFrom: read.optionalString("deletedFrom"),
    lossAlerted: read.optionalString("lossAlerted"),
    lastObservedKeyState: read.optionalString("lastObservedKeyState"),
    lastObservedAt: read.optionalDate("lastObservedAt"),
    nextCheckAt: read.date("nextCheckAt"),
    ...regionPriority(item),
    consecutiveFailures: read.number("consecutiveFailures"),
    lastFailure: read.optionalString("lastFailure"),
    importInFlight: importInFlightFromAttribute(read),
    ...storedParametersFromItem(read),
  };
}

/**
 * The priority a Region item is filed under, from its due-index partition (RegionRecord.priority: none for
 * normal, which is also every item written before priorities).
 */
function regionPriority(item: Item): { priority?: Priority } {
  const priority = priorityOfDueShard(item.dueShard);
  return priority === undefined || priority === Priority.Normal ? {} : { priority };
}

/**
 * The warm import parameters' validity and wrapping (top-level attributes written by
 * DynamoImportParametersStore, never by saveRegion); the token and public key (`importParameters`) are
 * never read here, so no RegionRecord carries them.
 */
function storedParametersFromItem(read: Reader): { storedParameters?: StoredParametersInfo } {
  if (read.value(ParametersAttribute.ValidTo) === undefined) return {};
  const algorithm = read.string(ParametersAttribute.WrappingAlgorithm);
  const keySpec = read.string(ParametersAttribute.WrappingKeySpec);
  if (!Object.hasOwn(WrappingAlgorithm, algorithm)) {
    throw read.corrupt(ParametersAttribute.WrappingAlgorithm, "unknown wrapping algorithm");
  }
  if (!Object.hasOwn(WrappingKeySpec, keySpec)) {
    throw read.corrupt(ParametersAttribute.WrappingKeySpec, "unknown wrapping key spec");
  }
  return {
    storedParameters: {
      validTo: new Date(read.number(ParametersAttribute.ValidTo)),
      wrapping: {
        wrappingAlgorithm: algorithm as WrappingAlgorithm,
        wrappingKeySpec: keySpec as WrappingKeySpec,
      },
    },
  };
}

/**
 * Where a Region item keeps its warm import parameters. `importParameters` holds the public key and the
 * token (binary) and is written and read only by DynamoImportParametersStore; the other three describe
 * the set and are what RegionRecord.storedParameters shows.
 */
export const ParametersAttribute = {
  Blob: "importParameters",
  ValidTo: "paramsValidTo",
  WrappingAlgorithm: "paramsWrappingAlgorithm",
  WrappingKeySpec: "paramsWrappingKeySpec",
} as const;

interface Reader {
  readonly item: Item;
  value(name: string): unknown;
  string(name: string): string;
  optionalString(name: string): string | undefined;
  number(name: string): number;
  boolean(name: string): boolean;
  date(name: string): Date;
  optionalDate(name: string): Date | undefined;
  parse<T>(name: string, parser: (value: unknown, field: string) => T): T;
  corrupt(name: string, detail: string, cause?: unknown): CorruptRecordError;
}

/** Typed reads of one item (or of a map inside `owner`), each failure naming the item and attribute. */
function reader(item: Item, owner: Item = item): Reader {
  const where = { pk: String(owner.pk), sk: String(owner.sk) };
  const corrupt = (name: string, detail: string, cause?: unknown) =>
    new CorruptRecordError(where, `${name}: ${detail}`, cause === undefined ? undefined : { cause });
  const self: Reader = {
    item: owner,
    value: (name) => item[name],
    corrupt,
    string(name) {
      const value = item[name];
      if (typeof value !== "string") throw corrupt(name, "not a string");
      return value;
    },
    optionalString: (name) => (item[name] === undefined ? undefined : self.string(name)),
    number(name) {
      const value = item[name];
      if (typeof value !== "number" || !Number.isFinite(value)) throw corrupt(name, "not a number");
      return value;
    },
    boolean(name) {
      const value = item[name];
      if (typeof value !== "boolean") throw corrupt(name, "not a boolean");
      return value;
    },
    date(name) {
      const date = new Date(self.string(name));
      if (Number.isNaN(date.getTime())) throw corrupt(name, "not a time");
      return date;
    },
    optionalDate: (name) => (item[name] === undefined ? undefined : self.date(name)),
    parse(name, parser) {
      try {
        return parser(item[name], name);
      } catch (error) {
        throw corrupt(name, "refused by its parser", error);
      }
    },
  };
  return self;
}
