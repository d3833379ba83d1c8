import type { CheckValue, MaterialRef, TetherKeyId } from "./ids.js";
import type { KeyMaterialState } from "./kms-constants.js";

/**
 * Tether's memory of one material of a key: where the vault keeps it and its fingerprint. A key rotated
 * on demand holds several; the expiry or loss of any of them puts the whole key in PendingImport, so every
 * one is re-imported on renew and restore.
 */
export interface KeyMaterialRecord {
  readonly materialRef: MaterialRef;
  readonly checkValue: CheckValue;
  /** KMS's KeyMaterialId (64 hex); undefined for a key's first material until a rotation learns it. */
  readonly keyMaterialId?: string | undefined;
  /** When it became the key's current material (rotation time); undefined for the first material. */
  readonly rotatedAt?: Date | undefined;
}

/**
 * A rotation Tether started and has not finished: the vault made new material; it may already be in KMS
 * (PENDING_ROTATION) in some Regions. The next rotate request finishes it.
 */
export interface PendingRotation extends KeyMaterialRecord {
  readonly startedAt: Date;
  /** The steps done so far (see PendingSwap.steps); absent in records written before steps were kept. */
  readonly steps?: Readonly<Record<string, Date>> | undefined;
  /** The id of the "Key Material Rotated" event, fixed up front so finishing twice is one fact. */
  readonly eventId: string;
  readonly correlationId: string;
  readonly actor: string;
  readonly reason: string;
}

/**
 * A key swap Tether started and has not finished: the vault made the new key's material; the new KMS key
 * may exist (in some Regions), may be managed, and may already hold the alias. Kept on the old key; the
 * next rotate request (or scheduled sweep) finishes it from wherever it stopped.
 */
export interface PendingSwap extends IntentStart {
  /** The Tether id the new key gets, fixed up front so a rerun finds the same record. */
  readonly successorId: TetherKeyId;
  /** The alias that moves to the new key (recorded here: the old key's record gives it up mid-swap). */
  readonly alias: string;
  /** The new key's primary ARN, once CreateKey returned. */
  readonly newKeyArn?: string | undefined;
}

/** What every rotation or swap intent starts with: its new material, its first step, who and why. */
export interface IntentStart extends KeyMaterialRecord {
  readonly startedAt: Date;
  /**
   * The steps done so far (e.g. `key-created`, `alias-repointed:eu-west-1`) and when. Each step's audit
   * event is written with this time and an id derived from the intent's, so writing it again after a crash
   * is the same fact, not a second one.
   */
  readonly steps: Readonly<Record<string, Date>>;
  /** The id of the intent's final event ("Key Swapped", "Key Material Rotated"), fixed up front. */
  readonly eventId: string;
  readonly correlationId: string;
  readonly actor: string;
  readonly reason: string;
}

/** One material of a key as KMS reports it (ListKeyRotations with IncludeKeyMaterial=ALL_KEY_MATERIAL). */
export interface KeyMaterialInfo {
  readonly keyMaterialId: string;
  readonly description?: string | undefined;
  readonly state: KeyMaterialState;
  /** Undefined for KEY_MATERIAL_DOES_NOT_EXPIRE. */
  readonly validTo?: Date | undefined;
  /** IMPORTED or PENDING_IMPORT (the material is associated with the key but gone from this Region). */
  readonly importState?: string | undefined;
  /** When it became current by an on-demand rotation; undefined for the first material. */
  readonly rotationDate?: Date | undefined;
}
