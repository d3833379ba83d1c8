import { ValidationError } from "./errors.js";
import type { AwsRegion, CheckValue, MaterialRef, TetherKeyId } from "./ids.js";
import { checkRotationSchedule, type ImportPolicy, type Priority } from "./import-policy.js";
import { parseKmsKeyArn } from "./key-arn.js";
import type { KeyMaterialRecord, PendingRotation, PendingSwap } from "./key-material.js";
import { KeySpec, KeyState } from "./kms-constants.js";
import type { StoredParametersInfo } from "./warm-parameters.js";
import { chooseWrapping } from "./wrapping.js";

/**
 * Why a region's material is gone, as far as Tether knows (lib/domain/attribution.ts decides it). Material
 * gone before its ValidTo with nothing to explain it is never assumed to be a regional loss: only the
 * Region's sentinel losing its material too proves that.
 */
export const LossCause = {
  /** ValidTo passed (KMS expiry event, DeleteExpiredKeyMaterial, or a ValidTo already in the past). */
  Expired: "expired",
  /** DeleteImportedKeyMaterial by someone other than Tether (known from CloudTrail). */
  DeletedOutOfBand: "deleted-out-of-band",
  /** A region-wide failure: the Region's sentinel lost its material too (an incident). */
  RegionalLoss: "regional-loss",
  /**
   * Gone before its ValidTo, the sentinel intact, and no CloudTrail record of who deleted it within the
   * attribution grace: a loss of this key alone that could not be attributed.
   */
  LocalLoss: "local-loss",
  /** Tether deleted it on a revoke. */
  RevokedByTether: "revoked-by-tether",
} as const;
export type LossCause = (typeof LossCause)[keyof typeof LossCause];

/** A key's status: what Tether may do to it. */
export const KeyStatusState = {
  Active: "active",
  Paused: "paused",
  Revoked: "revoked",
} as const;
export type KeyStatusState = (typeof KeyStatusState)[keyof typeof KeyStatusState];

/** Who changed a key's status, when and why. */
export interface StatusChange {
  readonly reason: string;
  readonly actor: string;
  readonly at: Date;
}

export type KeyStatus =
  | { readonly state: typeof KeyStatusState.Active }
  | ({ readonly state: typeof KeyStatusState.Paused } & StatusChange)
  | ({ readonly state: typeof KeyStatusState.Revoked } & StatusChange);

/** Tether's memory of one region of a managed key (the primary, or a replica of a Multi-Region key). */
export interface RegionRecord {
  readonly region: AwsRegion;
  readonly keyArn: string;
  /** Whether Tether believes the material is in KMS right now (it imported it and knows of no loss). */
  readonly materialExpected: boolean;
  /** When Tether last imported the material here; undefined if it never did (a new key or replica). */
  readonly lastImportedAt?: Date | undefined;
  /** The ValidTo Tether sent with that import; undefined for KEY_MATERIAL_DOES_NOT_EXPIRE. */
  readonly importedValidTo?: Date | undefined;
  /** Set when Tether learned the material is gone, cleared by the next import. */
  readonly lossCause?: LossCause | undefined;
  readonly lossDetectedAt?: Date | undefined;
  /**
   * When Tether first saw this Region's material gone with nothing to explain it (the critical alert went
   * out then); it looks for the cause until the policy's attribution grace has passed since. Cleared by
   * the next import.
   */
  readonly unexplainedSince?: Date | undefined;
  /** Who deleted the material, from CloudTrail (an event or a lookup): the principal's ARN. */
  readonly deletedBy?: string | undefined;
  /** When they did (CloudTrail's eventTime). */
  readonly deletedAt?: Date | undefined;
  /** From where (CloudTrail's sourceIPAddress), when CloudTrail says. */
  readonly deletedFrom?: string | undefined;
  /** The alert reason already raised for this loss, so the sweep does not page again at each visit. */
  readonly lossAlerted?: string | undefined;
  /** The KeyState of the last DescribeKey and when it was made. */
  readonly lastObservedKeyState?: string | undefined;
  readonly lastObservedAt?: Date | undefined;
  /** When the sweep should next look at this region: the due-work index. */
  readonly nextCheckAt: Date;
  /**
   * The key's priority as this record was last written: with nextCheckAt, the Region's place in the due-work
   * index. The key's policy is the truth; each run on the Region writes it here again (withKeyPriority), so a
   * Region whose key changed priority is in the right place after its next visit at the latest. Normal is
   * undefined (as every Region written before priorities), never spelled out.
   */
  readonly priority?: Priority | undefined;
  /** Failed attempts since the last success (drives backoff and alerting). */
  readonly consecutiveFailures: number;
  /** The error class name of the last failure (e.g. KmsThrottledError); never a message. */
  readonly lastFailure?: string | undefined;
  /**
   * An import Tether started and has not yet recorded as done. Written before ImportKeyMaterial so that a
   * crash between the import and the record update is recognised by the next run: if KMS then reports
   * this ValidTo, the import happened and is recorded (with the same audit event id), else it is dropped.
   */
  readonly importInFlight?: ImportInFlight | undefined;
  /**
   * The warm import parameters stored with this Region (their validity and wrapping; the token and public
   * key never leave the KMS adapter and the store). Read-only here: only the KMS adapter writes them, with
   * writes of their own, so saving the record never rewrites or drops them.
   */
  readonly storedParameters?: StoredParametersInfo | undefined;
}

/** What Tether was importing, and under which audit event id it will be recorded. */
export interface ImportInFlight {
  readonly kind: "import" | "renew" | "restore";
  readonly startedAt: Date;
  /** The ValidTo sent with the import; undefined for KEY_MATERIAL_DOES_NOT_EXPIRE. */
  readonly validTo?: Date | undefined;
  readonly eventId: string;
  readonly correlationId: string;
  readonly actor: string;
  /**
   * KMS already held material that does not expire when this import started: the import cannot change
   * anything KMS reports, so whether it happened cannot be proven afterwards.
   */
  readonly unprovable?: boolean | undefined;
}

/** A KMS key (and its replicas) that Tether keeps alive. */
export interface ManagedKey {
  readonly id: TetherKeyId;
  /** The KMS key id shared by all regions (a UUID, or `mrk-…` for a Multi-Region key). */
  readonly kmsKeyId: string;
  /**
   * The 12-digit AWS account the key lives in (its ARN's): the deployment's own or a registered member's.
   * Every KMS call for the key goes to this account. Records written before it was kept read it from their
   * primary's ARN (the deployment's account, the only one then).
   */
  readonly account: string;
  readonly primaryRegion: AwsRegion;
  readonly keySpec: KeySpec;
  readonly multiRegion: boolean;
  /** The primary first, then replicas; one record per region. */
  readonly regions: readonly RegionRecord[];
  /** The current material (the last of `materials` once the key was rotated). */
  readonly materialRef: MaterialRef;
  readonly checkValue: CheckValue;
  /**
   * Every material permanently associated with the key, oldest first, the current one last. Absent until
   * the first on-demand rotation: then the key's only material is materialRef/checkValue. Read it through
   * {@link keyMaterials}.
   */
  readonly materials?: readonly KeyMaterialRecord[] | undefined;
  /** A rotation started and not finished (see lib/lifecycle/use-cases/rotate.ts). */
  readonly pendingRotation?: PendingRotation | undefined;
  /** A key swap started and not finished (see lib/lifecycle/use-cases/swap.ts). */
  readonly pendingSwap?: PendingSwap | undefined;
  /**
   * The key that replaced this one in a key swap (it took the alias). This key stays managed, kept alive
   * for decrypting and verifying what it protected, until an operator retires it; it is not rotated again.
   */
  readonly supersededBy?: TetherKeyId | undefined;
  /** The key this one replaced in a key swap. */
  readonly supersedes?: TetherKeyId | undefined;
  /**
   * The kind of vault (Vault.kind: "file", "pkcs11", ...) holding the material; undefined for keys
   * registered before Tether recorded it. A key moves to another vault only when that vault's material
   * under the reference has the recorded check value.
   */
  readonly vaultKind?: string | undefined;
  readonly policy: ImportPolicy;
  readonly status: KeyStatus;
  readonly alias?: string | undefined;
  readonly description?: string | undefined;
  /** Optimistic concurrency: the store compares and increments it; domain functions leave it alone. */
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What registering a key needs; ids and references already parsed. */
export interface NewManagedKey {
  readonly id: TetherKeyId;
  /** The primary key's ARN. */
  readonly keyArn: string;
  readonly keySpec: KeySpec;
  /** Replica ARNs of a Multi-Region key (same key id, other regions). */
  readonly replicaArns?: readonly string[] | undefined;
  readonly materialRef: MaterialRef;
  readonly checkValue: CheckValue;
  /** The vault adapter's kind. */
  readonly vaultKind?: string | undefined;
  /** From parseImportPolicy. */
  readonly policy: ImportPolicy;
  readonly alias?: string | undefined;
  readonly description?: string | undefined;
  /** The key this one replaces (a key swap). */
  readonly supersedes?: TetherKeyId | undefined;
}

/** `alias/` + 1..250 of letters, digits, `/ _ -`; `alias/aws/` is reserved for AWS managed keys. */
const ALIAS = /^alias\/[A-Za-z0-9/_-]{1,250}$/;
const MAX_DESCRIPTION_LENGTH = 8192;

/**
 * A new managed key, active, every region due for its first check now (never imported yet).
 * @throws ValidationError naming the field: bad ARNs, replicas of a single-Region key, a replica with
 *   another key id or a repeated region, an unknown key spec, a policy whose wrapping preference cannot
 *   carry this key spec's material, in-key rotation for a key that is not symmetric, a bad alias or an over-long description
 */
export function newManagedKey(input: NewManagedKey, now: Date): ManagedKey {
  const primary = parseKmsKeyArn(input.keyArn, "keyArn");
  if (!Object.hasOwn(KeySpec, input.keySpec)) {
    throw new ValidationError("keySpec", `must be one of ${Object.values(KeySpec).join(", ")}`);
  }
  const replicas = (input.replicaArns ?? []).map((arn, i) => parseKmsKeyArn(arn, `replicaArns[${i}]`));
  if (replicas.length > 0 && !primary.multiRegion) {
    throw new ValidationError("replicaArns", "only a Multi-Region key (key id mrk-…) has replicas");
  }
  const seen = new Set<string>([primary.region]);
  replicas.forEach((replica, i) => {
    if (replica.keyId !== primary.keyId || replica.accountId !== primary.accountId) {
      throw new ValidationError(
        `replicaArns[${i}]`,
        "must be a replica of the primary key (same account and key id)",
      );
    }
    if (seen.has(replica.region))
      throw new ValidationError(`replicaArns[${i}]`, `region ${replica.region} repeats`);
    seen.add(replica.region);
  });
  const { policy } = input;
  chooseWrapping(input.keySpec, policy.wrapping);
  checkRotationSchedule(input.keySpec, policy);
  if (input.alias !== undefined && (!ALIAS.test(input.alias) || input.alias.startsWith("alias/aws/"))) {
    throw new ValidationError(
      "alias",
      "must be alias/ followed by letters, digits, '/', '_' or '-', not alias/aws/",
    );
  }
  if (input.description !== undefined && input.description.length > MAX_DESCRIPTION_LENGTH) {
    throw new ValidationError("description", `must be at most ${MAX_DESCRIPTION_LENGTH} characters`);
  }
  return {
    id: input.id,
    kmsKeyId: primary.keyId,
    account: primary.accountId,
    primaryRegion: primary.region,
    keySpec: input.keySpec,
    multiRegion: primary.multiRegion,
    regions: [primary, ...replicas].map((arn) => newRegionRecord(arn.region, arn.arn, now)),
    materialRef: input.materialRef,
    checkValue: input.checkValue,
    vaultKind: input.vaultKind,
    policy,
    status: { state: KeyStatusState.Active },
    alias: input.alias,
    description: input.description,
    ...(input.supersedes === undefined ? {} : { supersedes: input.supersedes }),
    version: 0,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * Whether a Multi-Region key's primary has never been imported into: until it has, KMS refuses the
 * material in every replica (it must go into the primary first), whatever the bytes.
 */
export function awaitsPrimaryImport(primary: RegionRecord): boolean {
  return primary.lastImportedAt === undefined && !primary.materialExpected;
}

/**
 * A newly registered key's Regions, held for the registration until `until`: it imports into each, the
 * primary first, and the sweep takes a Region only if the registration has not visited it by then (it
 * stopped). Without the hold a sweep could import into a replica while the primary's import is running.
 */
export function holdForRegistration(key: ManagedKey, until: Date): ManagedKey {
  return { ...key, regions: key.regions.map((record) => ({ ...record, nextCheckAt: until })) };
}

/** A region Tether has not imported into yet, due for its first check at `now`. */
export function newRegionRecord(region: AwsRegion, keyArn: string, now: Date): RegionRecord {
  return { region, keyArn, materialExpected: false, nextCheckAt: now, consecutiveFailures: 0 };
}

/**
 * Adds a replica region to a Multi-Region key (a replica created after registration).
 * @throws ValidationError (`replicaArn`) when the key is not Multi-Region, the ARN is of another key, or
 *   the region is already managed
 */
export function addReplica(key: ManagedKey, replicaArn: string, now: Date): ManagedKey {
  const replica = parseKmsKeyArn(replicaArn, "replicaArn");
  if (!key.multiRegion) throw new ValidationError("replicaArn", "only a Multi-Region key has replicas");
  if (replica.keyId !== key.kmsKeyId)
    throw new ValidationError("replicaArn", "must have the primary's key id");
  if (findRegion(key, replica.region) !== undefined) {
    throw new ValidationError("replicaArn", `region ${replica.region} is already managed`);
  }
  return {
    ...key,
    regions: [...key.regions, newRegionRecord(replica.region, replica.arn, now)],
    updatedAt: now,
  };
}

/** The record of one region, if managed. */
export function findRegion(key: ManagedKey, region: string): RegionRecord | undefined {
  return key.regions.find((record) => record.region === region);
}

/**
 * The key with one region's record replaced (matched by region).
 * @throws ValidationError (`region`) when the key has no such region
 */
export function withRegion(key: ManagedKey, record: RegionRecord, now: Date): ManagedKey {
  if (findRegion(key, record.region) === undefined) {
    throw new ValidationError("region", `key ${key.id} has no region ${record.region}`);
  }
  return {
    ...key,
    regions: key.regions.map((existing) => (existing.region === record.region ? record : existing)),
    updatedAt: now,
  };
}

/** The earliest next check over all regions: when the key as a whole is next due. */
export function keyNextCheckAt(key: ManagedKey): Date | undefined {
  let earliest: Date | undefined;
  for (const record of key.regions) {
    if (earliest === undefined || record.nextCheckAt.getTime() < earliest.getTime())
      earliest = record.nextCheckAt;
  }
  return earliest;
}

/** KeyStates in which an EXTERNAL key holds material. */
export function holdsMaterial(keyState: string): boolean {
  return keyState === KeyState.Enabled || keyState === KeyState.Disabled;
}

/** Every material of the key, oldest first, the current one last. */
export function keyMaterials(key: ManagedKey): readonly KeyMaterialRecord[] {
  if (key.materials !== undefined && key.materials.length > 0) return key.materials;
  return [{ materialRef: key.materialRef, checkValue: key.checkValue }];
}
