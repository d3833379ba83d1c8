/**
 * The ports the lifecycle use cases talk to. Adapters (lib/kms, lib/store, lib/audit, lib/vault, lib/metrics)
 * implement them; use cases never see an SDK client. Nothing crossing these ports carries plaintext
 * material, wrapped material or an import token — those stay inside the KMS adapter and the vault (and, for
 * the import token, the store: ImportParametersStore, which only the KMS adapter is given).
 */
import type { AgentHealthState, AgentHeartbeat } from "../domain/agent-protocol.js";
import type { DeleteRecord } from "../domain/attribution.js";
import type { AuditEvent } from "../domain/audit-types.js";
import type { AwsRegion, TetherKeyId } from "../domain/ids.js";
import type { Priority } from "../domain/import-policy.js";
import type { KeyMaterialInfo } from "../domain/key-material.js";
import type {
  ExpirationModel,
  ImportType,
  KeySpec,
  KeyUsage,
  WrappingAlgorithm,
} from "../domain/kms-constants.js";
import type { ManagedKey, RegionRecord } from "../domain/managed-key.js";
import type { ObservedKeyState } from "../domain/observed.js";
import type { RegionalIncident, SentinelRecord } from "../domain/sentinel.js";
import type { WrappingChoice } from "../domain/wrapping.js";

/**
 * What a vault can say about the material under a reference without handing it over: the key specs it may
 * serve. Tether's rule is one secret, one key type: the same bytes never serve as both an AES key and an
 * HMAC key (nor as two HMAC specs) in KMS. A vault that records the key spec the material was stored or
 * generated for (file, Secrets Manager, HashiCorp) answers exactly that spec; an HSM, which records no
 * spec, answers what the object's type and size allow (an AES-256 key: SYMMETRIC_DEFAULT only; a generic
 * secret: each HMAC spec whose length range holds it; an RSA or EC key: its modulus or curve).
 */
export interface MaterialDescription {
  /** The key specs this material may be registered as; never empty. */
  readonly keySpecs: readonly KeySpec[];
}

/**
 * Where the customer's key material lives. Lifecycle use cases see only this port: they ask the vault to
 * wrap material for KMS, never to hand it over, so plaintext exists only inside an adapter call.
 *
 * Every error a method may throw is listed in DOCUMENTED_VAULT_ERRORS (lib/vault/port.ts) (the `@throws` below name the
 * same classes, and a test keeps the two equal): the admin API answers each with a 4xx naming the field.
 */
export interface Vault {
  /**
   * Wraps the material under the KMS wrapping public key (DER SubjectPublicKeyInfo from
   * GetParametersForImport) with the given algorithm and returns the EncryptedKeyMaterial for
   * ImportKeyMaterial. Plaintext never leaves the adapter.
   * @throws MaterialNotFoundError, InvalidMaterialRefError, UnsupportedWrappingError, InvalidMaterialError,
   *   VaultLockedError, VaultError
   */
  wrap(materialRef: string, publicKeyDer: Uint8Array, algorithm: WrappingAlgorithm): Promise<Uint8Array>;

  /**
   * Fingerprint proving the vault holds the same bytes, without revealing them (see check-value.ts).
   * @throws MaterialNotFoundError, InvalidMaterialRefError, InvalidMaterialError, VaultLockedError, VaultError
   */
  checkValue(materialRef: string): Promise<string>;

  /**
   * Makes new material of this key spec at the vault's source of randomness and stores it under
   * materialRef. Refuses to overwrite.
   * @throws MaterialAlreadyExistsError, InvalidMaterialRefError, InvalidMaterialError, UnsupportedWrappingError,
   *   VaultLockedError, VaultError
   */
  generate(materialRef: string, keySpec: KeySpec): Promise<{ checkValue: string }>;

  /**
   * Whether the vault holds this reference.
   * @throws InvalidMaterialRefError, VaultLockedError, VaultError
   */
  has(materialRef: string): Promise<boolean>;

  /**
   * What the material under this reference may serve as (see {@link MaterialDescription}). Every adapter
   * Tether ships can tell. An adapter that cannot tell returns `undefined`: registration then goes on, and
   * material that does not fit the key is found by the first import, which waits for an operator
   * (lib/domain/decision.ts, FAILURES_AWAITING_OPERATOR) instead of retrying.
   * @throws MaterialNotFoundError, InvalidMaterialRefError, InvalidMaterialError, VaultLockedError, VaultError
   */
  describe(materialRef: string): Promise<MaterialDescription | undefined>;

  /**
   * The wrappings this vault can produce for material of this key spec, strongest first; absent when it
   * can produce every wrapping KMS accepts (software vaults). An HSM answers from its mechanisms.
   */
  supportedWrappings?(keySpec: KeySpec): Promise<readonly WrappingChoice[]>;

  /**
   * Wraps for one import with the import's context (the key, its Region and key spec), and answers the
   * wrapped material with the check value of the material wrapped. Present on a vault whose material is
   * wrapped elsewhere (the vault agent: docs/agent.md); the import step prefers it to `wrap` and refuses an
   * answer whose check value is not the one the key recorded.
   * @throws as `wrap`
   */
  wrapFor?(request: WrapForRequest): Promise<{ wrapped: Uint8Array; checkValue: string }>;

  /** Which adapter this is ("file", "pkcs11", ...), for audit records and diagnostics. */
  readonly kind: string;

  /**
   * The reference of material Tether itself names (a sentinel's), inside what this deployment owns in the
   * vault: an HSM puts its label prefix in front. Absent: the name as it is.
   */
  ownedRef?(name: string): string;
}

/** What {@link Vault.wrapFor} is told about the import it wraps for. */
export interface WrapForRequest {
  readonly materialRef: string;
  readonly publicKeyDer: Uint8Array;
  readonly algorithm: WrappingAlgorithm;
  /** The KMS key ARN (or id, for callers that hold only that) and its Region. */
  readonly keyArn: string;
  readonly region: AwsRegion;
  readonly keySpec?: KeySpec | undefined;
}

/** What to import into one Region of a key. */
export interface ImportRequest {
  readonly region: AwsRegion;
  /** The KMS key id or ARN in that Region. */
  readonly keyId: string;
  readonly materialRef: string;
  readonly wrapping: WrappingChoice;
  readonly expirationModel: ExpirationModel;
  /** Required with KEY_MATERIAL_EXPIRES, absent otherwise. */
  readonly validTo?: Date | undefined;
  /** Symmetric keys only (asymmetric and HMAC keys reject it); absent = KMS's default. */
  readonly importType?: ImportType | undefined;
  /** With EXISTING_KEY_MATERIAL: which of the key's materials this is (64 hex). Symmetric only. */
  readonly keyMaterialId?: string | undefined;
  /** Symmetric only. */
  readonly keyMaterialDescription?: string | undefined;
  /**
   * The managed key this import is for: its Region record keeps the warm import parameters, used and
   * renewed by this import. Absent (a sentinel): parameters are cached in memory only.
   */
  readonly managedKeyId?: TetherKeyId | undefined;
  /** The key's spec, told to a vault that wraps elsewhere (Vault.wrapFor); optional. */
  readonly keySpec?: KeySpec | undefined;
  /**
   * The check value the key recorded for this material: a vault that answers one with the wrapped material
   * (Vault.wrapFor) must answer this one, or the import is refused (CheckValueMismatchError).
   */
  readonly checkValue?: string | undefined;
}

/** What an import observed: DescribeKey afterwards, and the KeyMaterialId KMS gave the imported bytes. */
export type ImportResult = ObservedKeyState & { readonly importedKeyMaterialId?: string | undefined };

export interface NewKmsKey {
  readonly region: AwsRegion;
  readonly keySpec: KeySpec;
  readonly keyUsage: KeyUsage;
  readonly multiRegion: boolean;
  readonly description?: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  /** The key policy document (JSON); absent: KMS's default key policy. */
  readonly policy?: string | undefined;
  /** The account to create it in (a registered member's); absent: the deployment's own. */
  readonly account?: string | undefined;
}

/** Warm import parameters to keep for one key-Region (KmsPort.warmImportParameters). */
export interface WarmParametersRequest {
  /** The managed key whose Region record keeps the set. */
  readonly managedKeyId: TetherKeyId;
  readonly region: AwsRegion;
  /** The KMS key id or ARN in that Region. */
  readonly keyId: string;
  readonly wrapping: WrappingChoice;
  /** A stored set that still serves an import with `wrapping` at this time is kept; else a fresh one is fetched. */
  readonly warmUntil: Date;
}

/** KMS, one call per Region. Errors are the domain's Kms*Error classes (see lib/domain/errors.ts). */
export interface KmsPort {
  /** DescribeKey; a key KMS does not know is `{ found: false }`, not an error. */
  describeKey(region: AwsRegion, keyId: string): Promise<ObservedKeyState>;
  /**
   * The import protocol: import parameters (reused while valid), the vault wraps the material under the
   * public key, ImportKeyMaterial, then DescribeKey to confirm. Returns what that DescribeKey observed.
   * @throws IncorrectKeyMaterialError (never retry), KmsImportTokenError (after one fresh retry),
   *   KmsInvalidStateError, KmsThrottledError, KmsNotFoundError, vault errors
   */
  importMaterial(request: ImportRequest): Promise<ImportResult>;
  /**
   * Keeps the key-Region's import parameters warm: fetches a fresh set (GetParametersForImport, through the
   * rate limiter) and stores it with the Region record, unless the stored one already serves `wrapping` at
   * `request.warmUntil`. Returns the stored set's validity, never the set. Absent when warming is off.
   * @throws KmsThrottledError, KmsNotFoundError, KmsInvalidStateError, store errors
   */
  warmImportParameters?(request: WarmParametersRequest): Promise<{ validTo: Date; fetched: boolean }>;
  /**
   * RotateKeyOnDemand (on the primary of a Multi-Region key): the material PENDING_ROTATION becomes CURRENT.
   * @throws KmsRotationLimitError (25 rotations done), KmsInvalidStateError (nothing pending, or a replica
   *   still lacks the new material), KmsNotFoundError, KmsThrottledError
   */
  rotateKeyOnDemand(region: AwsRegion, keyId: string): Promise<void>;
  /**
   * Every material of the key in that Region, oldest first (ListKeyRotations with
   * IncludeKeyMaterial=ALL_KEY_MATERIAL, every page).
   * @throws KmsNotFoundError, KmsThrottledError, KmsError
   */
  listKeyMaterials(region: AwsRegion, keyId: string): Promise<KeyMaterialInfo[]>;
  /** DeleteImportedKeyMaterial: the key goes to PendingImport. */
  deleteImportedKeyMaterial(region: AwsRegion, keyId: string): Promise<void>;
  createKey(request: NewKmsKey): Promise<{ keyId: string; keyArn: string }>;
  /** ReplicateKey from the primary's Region into `replicaRegion`; returns the replica's ARN. */
  replicateKey(request: {
    primaryRegion: AwsRegion;
    keyId: string;
    replicaRegion: AwsRegion;
    description?: string | undefined;
    tags: Readonly<Record<string, string>>;
    /** The replica's key policy; absent: KMS's default key policy (not the primary's). */
    policy?: string | undefined;
  }): Promise<{ keyArn: string }>;
  /** CreateAlias (name with or without the `alias/` prefix). */
  createAlias(region: AwsRegion, aliasName: string, keyId: string): Promise<void>;
  /** UpdateAlias: points an existing alias at another key of the same type and usage in that Region. */
  updateAlias(region: AwsRegion, aliasName: string, keyId: string): Promise<void>;
  /**
   * The key ARN of the alias's target in that Region, or undefined when the alias does not exist; in
   * `account` (a registered member's), else in the deployment's own.
   */
  aliasTarget(region: AwsRegion, aliasName: string, account?: string): Promise<string | undefined>;
  /** GetKeyPolicy (the `default` policy, the only one KMS has). */
  getKeyPolicy(region: AwsRegion, keyId: string): Promise<string>;
  /** ListResourceTags as a record. */
  listTags(region: AwsRegion, keyId: string): Promise<Record<string, string>>;
  /** UntagResource: removes these tag keys (only Tether's mark: IAM allows no other). */
  untagKey(region: AwsRegion, keyId: string, tagKeys: readonly string[]): Promise<void>;
}

/**
 * A key-Region's import parameters as the store keeps them with its Region record. This port is between two
 * adapters — the KMS adapter keeps its sets in the store — and carries the import token and public key,
 * which is why no use case is given it: they never leave those two adapters (not in a log, an event, an
 * error or an answer).
 */
export interface StoredImportParameters {
  readonly publicKey: Uint8Array;
  readonly importToken: Uint8Array;
  readonly validTo: Date;
  readonly wrapping: WrappingChoice;
}

/** Where the KMS adapter keeps each managed key-Region's warm import parameters. */
export interface ImportParametersStore {
  /** The stored set, read consistently; undefined when none (or the Region is gone). */
  get(keyId: TetherKeyId, region: AwsRegion): Promise<StoredImportParameters | undefined>;
  /**
   * Stores a set unless the Region holds a later one of the same wrapping (or the Region is gone): never
   * creates a Region, never touches its other attributes.
   */
  put(keyId: TetherKeyId, region: AwsRegion, parameters: StoredImportParameters): Promise<void>;
  /** Forgets the stored set if it still is the one valid to `validTo` (KMS refused it). */
  drop(keyId: TetherKeyId, region: AwsRegion, validTo: Date): Promise<void>;
}

/**
 * CloudTrail's event history in one Region (LookupEvents: the last 90 days of management events, no trail
 * needed). Used to find who deleted material that vanished unexplained.
 */
export interface CloudTrailPort {
  /**
   * Successful calls that removed the key's material in that Region between `since` and `until`
   * (DeleteImportedKeyMaterial, ScheduleKeyDeletion), newest first.
   * @throws CloudTrailError (throttled, refused, unreachable)
   */
  materialDeletes(region: AwsRegion, keyArn: string, since: Date, until: Date): Promise<DeleteRecord[]>;
}

/** A claim on one Region of one key for a short time, so two workers never act on it at once. */
export interface Lease {
  readonly keyId: TetherKeyId;
  readonly region: AwsRegion;
  readonly owner: string;
  readonly expiresAt: Date;
  /**
   * The Region's record as the write that took the lease left it, when the store can return it (DynamoDB:
   * the conditional UpdateItem's ALL_NEW, strongly consistent, no read capacity). A worker starts from it
   * instead of reading the Region again; absent, it reads the key whole.
   */
  readonly record?: RegionRecord | undefined;
}

/** One page of a listing. */
export interface Page<T> {
  readonly items: readonly T[];
  /** Opaque; absent on the last page. */
  readonly nextToken?: string | undefined;
}

export interface GetKeyOptions {
  /**
   * "none": the key record alone, `regions` empty (one item read) — for a worker on one Region that has
   * that Region's record from its lease (Lease.record). Default "all".
   */
  readonly regions?: "all" | "none" | undefined;
}

/** A Region whose next check is due. */
export interface DueRegion {
  readonly keyId: TetherKeyId;
  readonly region: AwsRegion;
  readonly nextCheckAt: Date;
  /** The priority it was filed under in the due-work index (its key's, as of the Region's last write). */
  readonly priority: Priority;
}

/**
 * Tether's records. Single-item conditional writes only (dynalite has no transactions), so every
 * multi-item change is ordered to be safe when interrupted between items.
 */
export interface KeyRepository {
  /**
   * Records a new managed key and claims its material reference, KMS key ARNs and alias, so no key or
   * material is managed twice.
   * @throws StateConflictError when the material reference, a key ARN or the alias is already managed
   */
  create(key: ManagedKey): Promise<void>;
  /**
   * Claims a material reference for a key about to be registered (before anything exists in KMS) or
   * rotated in-key, so no two managed keys share one: race-free (a conditional write). The claim holds
   * while the key is managed; remove() gives back every reference the key record names.
   * @throws StateConflictError (field materialRef) when another managed key or running registration holds it
   */
  claimMaterial(materialRef: string, id: TetherKeyId): Promise<void>;
  /** Gives back a claim of `id` (a refused registration); no error when it does not hold it. */
  releaseMaterial(materialRef: string, id: TetherKeyId): Promise<void>;
  /** The key with every Region, or undefined. */
  get(id: TetherKeyId, options?: GetKeyOptions): Promise<ManagedKey | undefined>;
  /** Resolves a Tether id, a key ARN (any Region) or an alias name to the Tether id. */
  resolve(reference: string): Promise<TetherKeyId | undefined>;
  /**
   * Writes the key-level fields (status, policy, alias, description) when the stored version equals
   * `key.version`; returns the key with the new version. A new priority moves the key's Regions in the
   * due-work index too (a Region a run writes meanwhile is filed anew at its next visit).
   * @throws VersionConflictError
   */
  saveKey(key: ManagedKey): Promise<ManagedKey>;
  /**
   * Makes every Region of the key due at `now` (one that is due earlier keeps its time), so a changed
   * policy takes effect at the next run. Regions removed meanwhile are skipped.
   */
  makeRegionsDue(keyId: TetherKeyId, now: Date): Promise<void>;
  /**
   * Writes one Region's record, which also moves it in the due-work index. With a lease, only while
   * that lease is still held.
   * @throws LeaseNotAcquiredError when the lease was lost
   */
  saveRegion(keyId: TetherKeyId, record: RegionRecord, lease?: Lease): Promise<void>;
  /** Adds a Region (a new replica) to a key. */
  addRegion(keyId: TetherKeyId, record: RegionRecord): Promise<void>;
  /** Stops managing a key: removes its records and claims (history stays). */
  remove(id: TetherKeyId): Promise<void>;
  /**
   * Regions due at `now`, at most `limit`, in the order work is served: by priority (critical, high, normal,
   * low), then earliest due first. Reads about as many index entries as it returns, however large the backlog.
   */
  due(now: Date, limit: number): Promise<DueRegion[]>;
  /**
   * The key ARN of each due Region, in the order given (undefined: the Region is gone), read in batches from
   * the Region records: the sweep partitions its due work by the account the ARN names (the due-work index
   * holds keys only). Absent: the sweep reads each key instead.
   */
  regionArns?(
    regions: readonly { readonly keyId: TetherKeyId; readonly region: AwsRegion }[],
  ): Promise<(string | undefined)[]>;
  list(options: { limit: number; nextToken?: string | undefined }): Promise<Page<ManagedKey>>;
  /**
   * Takes the lease on one Region if it is free or expired.
   * @throws LeaseNotAcquiredError
   */
  acquireLease(
    keyId: TetherKeyId,
    region: AwsRegion,
    owner: string,
    ttlMs: number,
    now: Date,
  ): Promise<Lease>;
  /** Gives the lease back (no error if it already expired or moved on). */
  releaseLease(lease: Lease): Promise<void>;
}

/**
 * Asks for the next run of a regional-loss drain (lib/domain/drain.ts): an event the sweep's rule delivers
 * to the sweep, so the run starts as soon as the sweep is free rather than at the next schedule.
 * @throws whatever the bus answered when the request was not accepted (the caller logs it: the scheduled
 *   sweep is the safety net)
 */
export interface DrainRequests {
  request(
    next: import("../domain/drain.js").DrainRequest,
    context: { readonly id: string; readonly time: Date; readonly correlationId: string },
  ): Promise<void>;
}

/**
 * Asks for one run per account-Region partition of the due work (lib/domain/sweep-partition.ts): one
 * `Sweep Partition Due` event each on Tether's bus, whose rule starts the `sweep-partition` function.
 * @returns the partitions the bus accepted (with the event id it gave) and those it refused; SDK errors
 *   as they are (the caller logs them: the next scheduled run asks again)
 */
export interface PartitionDispatch {
  dispatch(
    requests: readonly import("../domain/sweep-partition.js").PartitionRequest[],
    context: { readonly time: Date; readonly correlationId: string },
  ): Promise<{
    readonly accepted: readonly { readonly partition: string; readonly eventId: string }[];
    readonly refused: readonly { readonly partition: string; readonly errorCode: string }[];
  }>;
}

/** The sentinels and regional-loss incidents, one partition: all of them with one Query. */
export interface SentinelRepository {
  /** Every Region's sentinel record and every open incident. */
  list(): Promise<{ sentinels: SentinelRecord[]; incidents: RegionalIncident[] }>;
  /**
   * Takes the Region for a run that will create its sentinel (a conditional put): false when another run
   * holds it (a claim younger than `staleBefore`) or the sentinel exists.
   */
  claim(record: SentinelRecord, staleBefore: Date): Promise<boolean>;
  /** Records the created sentinel (state ready, its ARN). */
  save(record: SentinelRecord): Promise<void>;
  /** What the probe read. */
  recordProbe(region: AwsRegion, keyState: string, at: Date): Promise<void>;
  /** Opens an incident (a conditional put): false when one is already open for the Region. */
  openIncident(incident: RegionalIncident): Promise<boolean>;
  /** Keeps the closed incident as history and removes the open one. */
  closeIncident(closed: RegionalIncident): Promise<void>;
  /** Closed incidents of a Region, newest first. */
  closedIncidents(region: AwsRegion, limit: number): Promise<RegionalIncident[]>;
  /**
   * The managed key-Regions in a Region (from the due-work index, every shard). Only an incident reads it.
   */
  keysIn(region: AwsRegion): Promise<TetherKeyId[]>;
  /** Makes one key-Region due at `now` (no-op when the key is gone). */
  makeDue(keyId: TetherKeyId, region: AwsRegion, now: Date): Promise<void>;
}

/**
 * Each key's history, which is also the outbox: an event is written here, durably, before it is
 * published, and stays marked unpublished until EventBridge accepted it. Appending is idempotent per
 * event id, so a retried run never doubles an entry.
 */
export interface AuditLog {
  append(events: readonly AuditEvent[]): Promise<void>;
  /** Events not yet accepted by the bus, oldest first. */
  unpublished(limit: number): Promise<AuditEvent[]>;
  markPublished(events: readonly AuditEvent[]): Promise<void>;
  /** A key's history, newest first. */
  history(
    keyId: string,
    options: { limit: number; nextToken?: string | undefined },
  ): Promise<Page<AuditEvent>>;
}

/** The audit bus. Reports per event which were not accepted (PutEvents' per-entry failures). */
export interface EventPublisher {
  publish(
    events: readonly AuditEvent[],
  ): Promise<{ failed: ReadonlyArray<{ id: string; errorCode: string }> }>;
}

/** Records audit events durably and publishes them (lib/audit's AuditTrail). */
export interface AuditRecorder {
  /** @throws only when the durable write fails */
  record(...events: AuditEvent[]): Promise<void>;
  /** Re-sends what waits in the outbox. */
  flush(limit?: number): Promise<{ published: number; waiting: number }>;
}

/**
 * Dual control's operation requests (lib/domain/approvals.ts). Every write is conditional on the version
 * read, so two approvers, or an approver and the sweep, never both move a request: the loser re-reads.
 */
export interface OperationRequestRepository {
  /** Stores a new request (version 0). @throws StateConflictError when the id exists */
  create(request: import("../domain/approvals.js").OperationRequest): Promise<void>;
  get(id: string): Promise<import("../domain/approvals.js").OperationRequest | undefined>;
  /**
   * Writes `next` if the stored version is still `next.version`; returns it with the version moved on.
   * @throws VersionConflictError when another writer came first
   */
  save(
    next: import("../domain/approvals.js").OperationRequest,
  ): Promise<import("../domain/approvals.js").OperationRequest>;
  /** Requests newest first (GET /operations), optionally in some states only (the filter applies per page read). */
  list(options: {
    limit: number;
    nextToken?: string | undefined;
    states?: readonly string[] | undefined;
  }): Promise<Page<import("../domain/approvals.js").OperationRequest>>;
  /**
   * The sweep's reading: open requests only (pending, approved, unconfirmed) and those, in any state, whose
   * decision's audit event may not be recorded yet (`auditPending`), newest first, each as stored now
   * (a consistent read). Closed requests are not read at all.
   */
  open(options: {
    limit: number;
    nextToken?: string | undefined;
  }): Promise<Page<import("../domain/approvals.js").OperationRequest>>;
}

/** A request waiting for a vault agent, as the queue hands it out: the signed text, never more. */
export interface PendingAgentRequest {
  readonly id: string;
  /** The signed request text (lib/domain/agent-protocol.ts agentRequestText). */
  readonly text: string;
  /** Base64 signature over `text`, and the KMS key that made it. */
  readonly signature: string;
  readonly signingKeyId: string;
  readonly expiresAt: Date;
}

/**
 * Where vault-agent requests wait for an agent, and its answers for the function that asked (the table;
 * lib/vault/agent/agent-queue.ts). Answers carry sealed wrapped material, check values or vault errors.
 */
export interface AgentQueue {
  /** Puts a request (its id unused so far). */
  publish(request: PendingAgentRequest): Promise<void>;
  /** The answer's JSON text, once one was recorded. */
  answerOf(id: string): Promise<string | undefined>;
  /** Removes a request, answered or not. */
  withdraw(id: string): Promise<void>;
  /**
   * Claims up to `max` unanswered, unexpired requests not claimed by another agent, for `claimMs`: each
   * claim is a conditional write, so two agents never claim one request at once.
   */
  claim(agent: string, now: Date, max: number, claimMs: number): Promise<PendingAgentRequest[]>;
  /** Records the answer unless one was recorded (conditional write): `false` when it was. */
  answer(id: string, agent: string, answer: string, now: Date): Promise<"answered" | "already" | "unknown">;
  heartbeat(beat: AgentHeartbeat): Promise<void>;
  heartbeats(): Promise<AgentHeartbeat[]>;
  /** When the oldest unanswered, unexpired request was issued. */
  oldestPending(now: Date): Promise<Date | undefined>;
  /** The health state the last check alerted on (so a state alerts once). */
  alertedState(): Promise<AgentHealthState | undefined>;
  setAlertedState(state: AgentHealthState, at: Date): Promise<void>;
}

/** The stage's defaults for a new key's import policy (ISO 8601 durations). */
export interface PolicyDefaults {
  readonly validityPeriod?: string;
  readonly renewBefore?: string;
}

/** Everything a use case needs, injected once at cold start. */
export type {
  AccountRegistry,
  MemberAccess,
  MemberCredentials,
  MemberRole,
  MemberSessionCredentials,
} from "./account-ports.js";

export interface LifecycleDeps {
  readonly kms: KmsPort;
  readonly keys: KeyRepository;
  readonly audit: AuditRecorder;
  /** Reading a key's history (the admin API's read model); writing goes through `audit`. */
  readonly history: Pick<AuditLog, "history">;
  readonly vault: Vault;
  readonly clock: () => Date;
  /** A fresh unique id (UUID) for events, correlations and lease owners. */
  readonly newId: () => string;
  /** Who Tether is in this process (lease owner prefix), e.g. the Lambda's log stream. */
  readonly workerId: string;
  /** How long a lease on one region lasts; longer than one import takes. */
  readonly leaseTtlMs: number;
  /** Stage defaults merged into a registration's policy where it gives none. */
  readonly policyDefaults?: PolicyDefaults | undefined;
  /** Regions keys may be created or replicated in; absent or empty = any. */
  readonly allowedRegions?: readonly string[] | undefined;
  /** This deployment's `tether:managed-by` value (lib/domain/deployment.ts): written on the keys it creates. */
  readonly deployment: string;
  /** Aliases Tether may create or move start with `alias/` + this; absent or empty: any. */
  readonly aliasPrefix?: string | undefined;
  /** CloudTrail event history, to attribute unexplained losses; absent: no lookups (the grace still runs). */
  readonly cloudTrail?: CloudTrailPort | undefined;
  /** The sentinels and incidents; absent: no sentinels (sentinel health is always unknown). */
  readonly sentinels?: SentinelRepository | undefined;
  /**
   * The Regions that get a sentinel (TETHER_REGIONS, else the deployment's home Region); absent: none.
   */
  readonly sentinelRegions?: readonly AwsRegion[] | undefined;
  /**
   * The sentinel health of a Region for the attribution rules; absent: unknown. The sweep answers it from
   * what it read at its start; other callers read the sentinel items.
   */
  readonly sentinelHealth?:
    | ((region: AwsRegion) => Promise<import("../domain/attribution.js").SentinelHealth>)
    | undefined;
  /** Whether a principal ARN is Tether itself (TETHER_SELF_PRINCIPALS); absent: nobody is. */
  readonly isTether?: ((principalArn: string) => boolean) | undefined;
  /** Vault-agent requests and heartbeats (docs/agent.md); absent: no agent routes. */
  readonly agents?: AgentQueue | undefined;
  /** Where a drain run asks for the next one (lib/lifecycle/scheduled/drain.ts); absent: a drain is one run. */
  readonly drains?: DrainRequests | undefined;
  /** Where the sweep's dispatcher asks for one run per partition (TETHER_SWEEP_FANOUT=events); absent: none. */
  readonly partitionDispatch?: PartitionDispatch | undefined;
  /** Dual control's rules (TETHER_APPROVALS); absent: one admin does everything. */
  readonly approvals?: import("../domain/approvals.js").ApprovalRules | undefined;
  /** Where operation requests are kept; absent: no dual control. */
  readonly operations?: OperationRequestRepository | undefined;
  /** Member accounts (README, "Member accounts"): the registry and the check on add; absent: routes under /accounts answer 404. */
  readonly accounts?: import("./account-ports.js").AccountRegistry | undefined;
  readonly memberAccess?: import("./account-ports.js").MemberAccess | undefined;
  /**
   * The deployment's (the hub's) own account id (TETHER_ACCOUNT_ID, else asked of STS once); absent: not
   * known here, and an account that is not a registered member counts as the deployment's.
   */
  readonly deploymentAccount?: (() => Promise<string>) | undefined;
  /** Optional structured log sink; never receives material, tokens or wrapped bytes. */
  readonly log?: (level: "info" | "warn" | "error", message: string, fields: Record<string, unknown>) => void;
}

/**
 * What a KMS event means for Tether, parsed from the EventBridge envelope. Everything else in the event
 * is ignored; nothing here is trusted before it passed the schema.
 */
export type KmsSignal =
  /** KMS deleted expired material (its own event, or CloudTrail's DeleteExpiredKeyMaterial). */
  | {
      readonly kind: "material-expired";
      readonly keyArn: string;
      readonly region: string;
      /**
       * When KMS deleted it: the event's `time` (KMS's own event) or CloudTrail's eventTime, when valid. A
       * late event older than the key's last import is about earlier material (attribution.ts
       * staleExpiryEvent).
       */
      readonly at?: Date | undefined;
    }
  /** Someone called DeleteImportedKeyMaterial; `actorArn` says who (Tether or not), when and from where. */
  | {
      readonly kind: "material-deleted";
      readonly keyArn: string;
      readonly region: string;
      readonly actorArn: string;
      /** CloudTrail's eventTime, when the record has a valid one. */
      readonly at?: Date | undefined;
      /** CloudTrail's sourceIPAddress. */
      readonly sourceIp?: string | undefined;
    }
  /** Someone called ImportKeyMaterial. */
  | {
      readonly kind: "material-imported";
      readonly keyArn: string;
      readonly region: string;
      readonly actorArn: string;
    }
  /** The key was deleted, disabled, scheduled for deletion or rotated: look at it now. */
  | { readonly kind: "key-changed"; readonly keyArn: string; readonly region: string; readonly what: string };

/** The units Tether's metrics use. */
export type MetricUnit = "Count" | "Seconds" | "Percent";

/**
 * CloudWatch metrics, written by the adapter (lib/metrics, Powertools Metrics) as embedded-metric-format
 * log lines under the namespace and dimensions it was built with. Nothing is sent until `publish`.
 */
export interface MetricsPort {
  /** Adds one value to the next record. */
  add(name: string, unit: MetricUnit, value: number): void;
  /** Writes the record, stamped `time`, and starts a new one. */
  publish(time: Date): void;
}
