/**
 * Pieces several operation handlers share: KeyMetadata as AWS renders it, key-state guards with
 * AWS's errors and messages, and pagination.
 */
import { algorithmsFor } from "../domain/key-specs.js";
import { currentMaterial, type KeyRecord, keyState } from "../domain/model.js";
import { KmsErrorType, kmsError } from "../errors.js";
import type { KmsStore } from "../store.js";

/** awsJson1_1 timestamps are epoch seconds. */
export function epochSeconds(ms: number): number {
  return ms / 1000;
}

export function base64(bytes: Buffer): string {
  return bytes.toString("base64");
}

/** KeyMetadata as DescribeKey, CreateKey and ReplicateKey return it. */
export function keyMetadata(store: KmsStore, key: KeyRecord, opts: { currentMaterialId?: boolean } = {}) {
  const state = keyState(key);
  const imported = key.materials.filter((m) => m.bytes !== undefined);
  const expiring = imported.filter((m) => m.expirationModel === "KEY_MATERIAL_EXPIRES" && m.validTo);
  const meta: Record<string, unknown> = {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: epochSeconds(key.creationDate),
    Enabled: state === "Enabled",
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: state,
    Origin: key.origin,
    KeyManager: "CUSTOMER",
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    ...algorithmsFor(key.keySpec, key.keyUsage),
    MultiRegion: key.multiRegion,
  };
  if (key.deletionDate !== undefined) {
    meta.DeletionDate = epochSeconds(key.deletionDate);
    meta.PendingDeletionWindowInDays = key.pendingWindowInDays;
  }
  if (key.origin === "EXTERNAL" && imported.length > 0) {
    // The earliest expiry among the key's materials decides when the key becomes unusable.
    meta.ExpirationModel = expiring.length > 0 ? "KEY_MATERIAL_EXPIRES" : "KEY_MATERIAL_DOES_NOT_EXPIRE";
    if (expiring.length > 0) {
      meta.ValidTo = epochSeconds(Math.min(...expiring.map((m) => m.validTo ?? Number.POSITIVE_INFINITY)));
    }
  }
  // Only symmetric encryption keys expose CurrentKeyMaterialId (it stays after the material is deleted).
  const current = currentMaterial(key);
  if (key.keySpec === "SYMMETRIC_DEFAULT" && current && opts.currentMaterialId !== false) {
    meta.CurrentKeyMaterialId = current.id;
  }
  if (key.multiRegion) {
    const related = store.related(key);
    const primary = related.find((k) => k.multiRegionKeyType === "PRIMARY");
    meta.MultiRegionConfiguration = {
      MultiRegionKeyType: key.multiRegionKeyType,
      PrimaryKey: primary ? { Arn: primary.arn, Region: primary.region } : undefined,
      ReplicaKeys: related
        .filter((k) => k.multiRegionKeyType === "REPLICA")
        .sort((a, b) => a.region.localeCompare(b.region))
        .map((k) => ({ Arn: k.arn, Region: k.region })),
    };
  }
  return meta;
}

/** @throws KmsApiError KMSInvalidStateException when the key is pending deletion. */
export function requireNotPendingDeletion(key: KeyRecord): void {
  if (keyState(key) === "PendingDeletion") {
    throw kmsError(KmsErrorType.KmsInvalidState, `${key.arn} is pending deletion.`);
  }
}

/**
 * Guards cryptographic operations: only an Enabled key may be used.
 * @throws KmsApiError DisabledException (Disabled) or KMSInvalidStateException (PendingImport, PendingDeletion).
 */
export function requireEnabled(key: KeyRecord): void {
  const state = keyState(key);
  if (state === "Enabled") return;
  if (state === "Disabled") throw kmsError(KmsErrorType.Disabled, `${key.arn} is disabled.`);
  if (state === "PendingImport")
    throw kmsError(KmsErrorType.KmsInvalidState, `${key.arn} is pending import.`);
  throw kmsError(KmsErrorType.KmsInvalidState, `${key.arn} is pending deletion.`);
}

/** @throws KmsApiError InvalidKeyUsageException with AWS's message. */
export function requireUsage(key: KeyRecord, usage: KeyRecord["keyUsage"], operation: string): void {
  if (key.keyUsage !== usage) {
    throw kmsError(
      KmsErrorType.InvalidKeyUsage,
      `${key.arn} key usage is ${key.keyUsage} which is not valid for ${operation}.`,
    );
  }
}

/** @throws KmsApiError UnsupportedOperationException for keys whose origin is not EXTERNAL. */
export function requireExternal(key: KeyRecord): void {
  if (key.origin !== "EXTERNAL") {
    throw kmsError(
      KmsErrorType.UnsupportedOperation,
      `${key.arn} origin is ${key.origin} which is not valid for this operation.`,
    );
  }
}

/**
 * Slices `items` for Limit/Marker pagination. Markers are opaque to clients.
 * @throws KmsApiError InvalidMarkerException for a marker this emulator did not hand out.
 */
export function paginate<T>(
  items: T[],
  limit: number | undefined,
  marker: string | undefined,
): { page: T[]; truncated: boolean; nextMarker?: string } {
  let start = 0;
  if (marker !== undefined) {
    const decoded = Number(Buffer.from(marker, "base64").toString("utf8").replace(/^m:/, ""));
    if (!Buffer.from(marker, "base64").toString("utf8").startsWith("m:") || !Number.isInteger(decoded)) {
      throw kmsError(KmsErrorType.InvalidMarker, "Invalid marker");
    }
    start = decoded;
  }
  const size = limit ?? 100;
  const page = items.slice(start, start + size);
  const next = start + size;
  if (next < items.length) {
    return { page, truncated: true, nextMarker: Buffer.from(`m:${next}`).toString("base64") };
  }
  return { page, truncated: false };
}

export const KEY_ID_CONSTRAINT = { required: true, min: 1, max: 2048 } as const;
