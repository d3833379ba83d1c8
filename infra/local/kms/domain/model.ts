/**
 * The emulator's domain: KMS keys and their key materials, as plain JSON-serialisable records,
 * and the rules that derive a key's state from them. No HTTP and no persistence here.
 */
import type { KeySpec, KeyUsage, Origin } from "./key-specs.js";

export type KeyMaterialState =
  | "CURRENT"
  | "NON_CURRENT"
  | "PENDING_ROTATION"
  | "PENDING_MULTI_REGION_IMPORT_AND_ROTATION";
export type ExpirationModel = "KEY_MATERIAL_EXPIRES" | "KEY_MATERIAL_DOES_NOT_EXPIRE";

/** One key material associated with a key. The record outlives the bytes (delete, expiry, loss). */
export interface MaterialRecord {
  /** KeyMaterialId: 64 hex, derived from the key id and the bytes (so related multi-Region keys agree). */
  id: string;
  state: KeyMaterialState;
  /** Base64 of the material; absent while not imported (deleted, expired, lost, or not yet imported). */
  bytes?: string;
  expirationModel?: ExpirationModel;
  /** Epoch ms. */
  validTo?: number;
  description?: string;
  importedAt?: number;
  /** Epoch ms of the on-demand rotation that made this material current. */
  rotationDate?: number;
  rotationType?: "ON_DEMAND" | "AUTOMATIC";
}

export type MultiRegionKeyType = "PRIMARY" | "REPLICA";

export interface KeyRecord {
  keyId: string;
  region: string;
  accountId: string;
  arn: string;
  creationDate: number;
  description: string;
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  origin: Origin;
  multiRegion: boolean;
  multiRegionKeyType?: MultiRegionKeyType;
  /** The customer's switch (EnableKey/DisableKey); KeyState combines it with material and deletion. */
  enabled: boolean;
  deletionDate?: number;
  pendingWindowInDays?: number;
  /** Materials in the order they were associated; for asymmetric and HMAC keys at most one. */
  materials: MaterialRecord[];
  onDemandRotations: number;
  tags: { TagKey: string; TagValue: string }[];
  /** The key policy document (JSON); absent in state saved before the emulator kept policies. */
  policy?: string;
}

export interface AliasRecord {
  aliasName: string;
  region: string;
  accountId: string;
  targetKeyId: string;
  creationDate: number;
  lastUpdatedDate: number;
}

export type KeyState = "Enabled" | "Disabled" | "PendingImport" | "PendingDeletion";

/** Materials that are permanently associated with the key (all must be present for it to be usable). */
export function permanentMaterials(key: KeyRecord): MaterialRecord[] {
  return key.materials.filter((m) => m.state === "CURRENT" || m.state === "NON_CURRENT");
}

export function currentMaterial(key: KeyRecord): MaterialRecord | undefined {
  return key.materials.find((m) => m.state === "CURRENT");
}

/**
 * PendingDeletion wins; then a key lacking any permanently associated material is PendingImport
 * ("If you delete any of these key materials or let them expire, the KMS key state changes to
 * PendingImport", https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-import-key-material.html);
 * otherwise the customer's Enabled switch decides.
 */
export function keyState(key: KeyRecord): KeyState {
  if (key.deletionDate !== undefined) return "PendingDeletion";
  const permanent = permanentMaterials(key);
  if (!permanent.some((m) => m.state === "CURRENT") || permanent.some((m) => m.bytes === undefined)) {
    return "PendingImport";
  }
  return key.enabled ? "Enabled" : "Disabled";
}

export function keyArn(region: string, accountId: string, keyId: string): string {
  return `arn:aws:kms:${region}:${accountId}:key/${keyId}`;
}

export function aliasArn(region: string, accountId: string, aliasName: string): string {
  return `arn:aws:kms:${region}:${accountId}:${aliasName}`;
}
