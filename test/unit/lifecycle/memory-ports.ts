/**
 * In-memory fakes of the lifecycle ports (lib/lifecycle/ports.ts), for unit tests of the rules that stay
 * in lifecycle (lease contention, crash resumption order): a run takes milliseconds. They keep the ports'
 * written contracts for what they implement (conditional lease and region writes, versioned key writes,
 * idempotent audit per event id, DescribeKey after an import); anything else throws, so a test that
 * strays outside them fails loudly. The emulator-backed integration tests (test/integration/lifecycle)
 * stay the proof against the real SDK.
 */
import {
  type AuditEvent,
  type AwsRegion,
  type KeyFound,
  KeySpec,
  LeaseNotAcquiredError,
  type ManagedKey,
  newManagedKey,
  type ObservedKeyState,
  parseAwsRegion,
  parseCheckValue,
  parseImportPolicy,
  parseMaterialRef,
  parseTetherKeyId,
  type RegionRecord,
  type TetherKeyId,
  VersionConflictError,
} from "../../../lib/domain/index.js";
import type {
  AuditRecorder,
  ImportRequest,
  ImportResult,
  KeyRepository,
  KmsPort,
  Lease,
  LifecycleDeps,
  Vault,
} from "../../../lib/lifecycle/ports.js";

const notInTheFake = (what: string) => (): never => {
  throw new Error(`${what} is not in the in-memory fake`);
};

/** KeyRepository over maps: leases by key and Region, the records, every Region write in order. */
export class MemoryKeys implements KeyRepository {
  readonly keys = new Map<string, ManagedKey>();
  readonly leases = new Map<string, { owner: string; expiresAt: Date }>();
  /** Every Region record written, in order. */
  readonly regionWrites: RegionRecord[] = [];
  /** Called before a Region write; throw to make it fail. */
  beforeSaveRegion: (record: RegionRecord) => void = () => undefined;

  async create(key: ManagedKey): Promise<void> {
    this.keys.set(key.id, key);
  }
  async get(id: TetherKeyId, options?: { regions?: "all" | "none" }): Promise<ManagedKey | undefined> {
    const key = this.keys.get(id);
    if (key === undefined || options?.regions !== "none") return key;
    return { ...key, regions: [] };
  }
  async saveKey(key: ManagedKey): Promise<ManagedKey> {
    const current = this.keys.get(key.id);
    if (current === undefined || current.version !== key.version) {
      throw new VersionConflictError({ keyId: key.id, expectedVersion: key.version });
    }
    const saved = { ...key, regions: current.regions, version: key.version + 1 };
    this.keys.set(key.id, saved);
    return saved;
  }
  async saveRegion(keyId: TetherKeyId, record: RegionRecord, lease?: Lease): Promise<void> {
    if (lease !== undefined && !this.holds(lease))
      throw new LeaseNotAcquiredError(`${keyId}:${record.region}`);
    this.beforeSaveRegion(record);
    const key = this.keys.get(keyId);
    if (key === undefined) return;
    this.regionWrites.push(record);
    const regions = key.regions.map((r) => (r.region === record.region ? record : r));
    this.keys.set(keyId, { ...key, regions });
  }
  async acquireLease(
    keyId: TetherKeyId,
    region: AwsRegion,
    owner: string,
    ttlMs: number,
    now: Date,
  ): Promise<Lease> {
    const name = `${keyId}:${region}`;
    const held = this.leases.get(name);
    if (held !== undefined && held.owner !== owner && held.expiresAt > now)
      throw new LeaseNotAcquiredError(name);
    const expiresAt = new Date(now.getTime() + ttlMs);
    this.leases.set(name, { owner, expiresAt });
    return { keyId, region, owner, expiresAt };
  }
  async releaseLease(lease: Lease): Promise<void> {
    if (this.holds(lease)) this.leases.delete(`${lease.keyId}:${lease.region}`);
  }
  /** Another worker takes the Region's lease over (as after this one's expired). */
  steal(keyId: TetherKeyId, region: AwsRegion, owner = "other-worker"): void {
    this.leases.set(`${keyId}:${region}`, { owner, expiresAt: new Date(8.64e15) });
  }
  holds(lease: Lease): boolean {
    return this.leases.get(`${lease.keyId}:${lease.region}`)?.owner === lease.owner;
  }
  region(keyId: TetherKeyId, region: AwsRegion): RegionRecord | undefined {
    return this.keys.get(keyId)?.regions.find((r) => r.region === region);
  }

  claimMaterial = notInTheFake("claimMaterial");
  releaseMaterial = notInTheFake("releaseMaterial");
  resolve = notInTheFake("resolve");
  makeRegionsDue = notInTheFake("makeRegionsDue");
  addRegion = notInTheFake("addRegion");
  remove = notInTheFake("remove");
  due = notInTheFake("due");
  list = notInTheFake("list");
}

/** KMS keys by ARN: DescribeKey and the import (which makes the key Enabled with the ValidTo sent). */
export class MemoryKms implements KmsPort {
  readonly states = new Map<string, KeyFound>();
  readonly imports: ImportRequest[] = [];
  /** Called before an import takes effect; throw to fail before it. */
  beforeImport: (request: ImportRequest) => void = () => undefined;
  /** Called after an import took effect; throw to fail after it (a timeout, a crash). */
  afterImport: (request: ImportRequest) => void = () => undefined;

  /** An EXTERNAL symmetric key without material. */
  addKey(arn: string): void {
    this.states.set(arn, {
      found: true,
      keyState: "PendingImport",
      origin: "EXTERNAL",
      enabled: false,
      keySpec: KeySpec.SYMMETRIC_DEFAULT,
    });
  }
  async describeKey(_region: AwsRegion, keyId: string): Promise<ObservedKeyState> {
    return this.states.get(keyId) ?? { found: false };
  }
  async importMaterial(request: ImportRequest): Promise<ImportResult> {
    this.beforeImport(request);
    const state = this.states.get(request.keyId);
    if (state === undefined) throw new Error(`no key ${request.keyId}`);
    this.states.set(request.keyId, {
      ...state,
      keyState: "Enabled",
      enabled: true,
      expirationModel: request.expirationModel,
      validTo: request.validTo,
    });
    this.imports.push(request);
    this.afterImport(request);
    return this.describeKey(request.region, request.keyId);
  }

  rotateKeyOnDemand = notInTheFake("rotateKeyOnDemand");
  listKeyMaterials = notInTheFake("listKeyMaterials");
  deleteImportedKeyMaterial = notInTheFake("deleteImportedKeyMaterial");
  createKey = notInTheFake("createKey");
  replicateKey = notInTheFake("replicateKey");
  createAlias = notInTheFake("createAlias");
  updateAlias = notInTheFake("updateAlias");
  aliasTarget = notInTheFake("aliasTarget");
  getKeyPolicy = notInTheFake("getKeyPolicy");
  listTags = notInTheFake("listTags");
  untagKey = notInTheFake("untagKey");
}

/** The audit trail as a map by event id (appending is idempotent per id), in first-written order. */
export class MemoryAudit implements AuditRecorder {
  readonly byId = new Map<string, AuditEvent>();
  /** Called before a batch is written; throw to make the durable write fail. */
  beforeRecord: (events: readonly AuditEvent[]) => void = () => undefined;

  async record(...events: AuditEvent[]): Promise<void> {
    this.beforeRecord(events);
    for (const event of events) if (!this.byId.has(event.id)) this.byId.set(event.id, event);
  }
  async flush(): Promise<{ published: number; waiting: number }> {
    return { published: 0, waiting: 0 };
  }
  get events(): AuditEvent[] {
    return [...this.byId.values()];
  }
}

/** A vault that holds material with the given check values (wrapping happens in the KMS fake). */
export function memoryVault(checkValues: Record<string, string>): Vault {
  return {
    kind: "file",
    checkValue: async (ref) => checkValues[ref] ?? "kcv-aes:000000",
    has: async (ref) => ref in checkValues,
    wrap: notInTheFake("wrap"),
    generate: notInTheFake("generate"),
    describe: notInTheFake("describe"),
  };
}

export const NOW = new Date("2025-06-01T00:00:00.000Z");
export const REGION = parseAwsRegion("eu-west-1");
export const ARN = "arn:aws:kms:eu-west-1:111122223333:key/01234567-89ab-cdef-0123-456789abcdef";
export const MATERIAL = "customers/acme/payments";
export const CHECK_VALUE = "kcv-aes:1A2B3C";

export interface MemoryWorld {
  readonly deps: LifecycleDeps;
  readonly keys: MemoryKeys;
  readonly kms: MemoryKms;
  readonly audit: MemoryAudit;
  readonly key: ManagedKey;
  /** Lines the run logged, as `level message`. */
  readonly logs: string[];
  /** Moves the clock on. */
  advance(ms: number): void;
}

/** One registered single-Region key, never imported, in fresh in-memory ports. */
export function memoryWorld(workerId = "worker-1"): MemoryWorld {
  const keys = new MemoryKeys();
  const kms = new MemoryKms();
  const audit = new MemoryAudit();
  const logs: string[] = [];
  let now = NOW.getTime();
  let ids = 0;
  const key = newManagedKey(
    {
      id: parseTetherKeyId("tk_01JX0000000000000000000000"),
      keyArn: ARN,
      keySpec: KeySpec.SYMMETRIC_DEFAULT,
      materialRef: parseMaterialRef(MATERIAL),
      checkValue: parseCheckValue(CHECK_VALUE),
      vaultKind: "file",
      policy: parseImportPolicy({}),
    },
    NOW,
  );
  keys.keys.set(key.id, key);
  kms.addKey(ARN);
  const deps: LifecycleDeps = {
    kms,
    keys,
    audit,
    history: { history: notInTheFake("history") },
    vault: memoryVault({ [MATERIAL]: CHECK_VALUE }),
    clock: () => new Date(now),
    newId: () => `${workerId}-id-${++ids}`,
    workerId,
    leaseTtlMs: 60_000,
    deployment: "test",
    log: (level, message) => {
      logs.push(`${level} ${message}`);
    },
  };
  return {
    deps,
    keys,
    kms,
    audit,
    key,
    logs,
    advance: (ms) => {
      now += ms;
    },
  };
}
