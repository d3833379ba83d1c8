/**
 * ImportKeyMaterial: https://docs.aws.amazon.com/kms/latest/APIReference/API_ImportKeyMaterial.html
 * and https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-import-key-material.html
 *
 * Rules enforced here:
 * - ExpirationModel defaults to KEY_MATERIAL_EXPIRES, which requires ValidTo (future, at most 365 days
 *   ahead); KEY_MATERIAL_DOES_NOT_EXPIRE forbids it.
 * - ImportType, KeyMaterialId and KeyMaterialDescription are for symmetric encryption keys only.
 * - The token must be this key's (id, Region, account) and younger than 24 hours; the material must
 *   unwrap under the token's pair and algorithm, and fit the key spec.
 * - A key accepts only material it is (or was) associated with, for ever: the same bytes, checked by
 *   KeyMaterialId, also after deletion, expiry or loss. Symmetric keys may take one NEW_KEY_MATERIAL
 *   at a time for on-demand rotation. Multi-Region: new material goes into the primary first
 *   (PENDING_MULTI_REGION_IMPORT_AND_ROTATION), then the same bytes into each replica as
 *   EXISTING_KEY_MATERIAL; once all replicas have it, it is PENDING_ROTATION on the primary.
 */
import type { KmsContext, KmsOperation } from "../context.js";
import { openImportToken } from "../domain/import-token.js";
import { checkMaterial, keyMaterialId } from "../domain/material.js";
import { type ExpirationModel, type KeyRecord, keyState, type MaterialRecord } from "../domain/model.js";
import { unwrapKeyMaterial } from "../domain/unwrap.js";
import { KmsErrorType, kmsError } from "../errors.js";
import { IMPORT_PARAMETERS_TTL_MS } from "./get-parameters-for-import.js";
import { KEY_ID_CONSTRAINT, requireExternal, requireNotPendingDeletion } from "./shared.js";

const MAX_VALID_TO_MS = 365 * 24 * 60 * 60 * 1000;
const EXPIRATION_MODELS = ["KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_DOES_NOT_EXPIRE"] as const;
const IMPORT_TYPES = ["NEW_KEY_MATERIAL", "EXISTING_KEY_MATERIAL"] as const;

interface ImportTerms {
  expirationModel: ExpirationModel;
  validTo?: number;
  description?: string;
  now: number;
}

function incorrectMaterial(message: string): Error {
  return kmsError(KmsErrorType.IncorrectKeyMaterial, message);
}

function applyImport(record: MaterialRecord, material: Buffer, terms: ImportTerms): void {
  record.bytes = material.toString("base64");
  record.expirationModel = terms.expirationModel;
  record.validTo = terms.validTo;
  record.importedAt = terms.now;
  if (terms.description !== undefined) record.description = terms.description;
}

/** Asymmetric and HMAC keys: one material for ever. */
function importSingleMaterial(
  ctx: KmsContext,
  key: KeyRecord,
  id: string,
  material: Buffer,
  terms: ImportTerms,
) {
  const reference =
    key.materials[0] ??
    (key.multiRegionKeyType === "REPLICA" ? ctx.store.primaryOf(key)?.materials[0] : undefined);
  if (reference && reference.id !== id) {
    throw incorrectMaterial(
      "The key material in the request is not the key material previously imported into this KMS key.",
    );
  }
  const record = key.materials[0] ?? { id, state: "CURRENT" as const };
  applyImport(record, material, terms);
  if (key.materials.length === 0) key.materials.push(record);
  return {};
}

function pendingMaterial(key: KeyRecord): MaterialRecord | undefined {
  return key.materials.find(
    (m) => m.state === "PENDING_ROTATION" || m.state === "PENDING_MULTI_REGION_IMPORT_AND_ROTATION",
  );
}

/** Once every replica holds material pending on the primary, the primary may rotate to it. */
function promoteWhenAllReplicasHaveIt(ctx: KmsContext, primary: KeyRecord | undefined, id: string): void {
  const record = primary?.materials.find((m) => m.id === id);
  if (!primary || record?.state !== "PENDING_MULTI_REGION_IMPORT_AND_ROTATION") return;
  const replicas = ctx.store.related(primary).filter((k) => k.multiRegionKeyType === "REPLICA");
  if (replicas.every((r) => r.materials.some((m) => m.id === id && m.bytes !== undefined))) {
    record.state = "PENDING_ROTATION";
  }
}

function importSymmetric(
  ctx: KmsContext,
  key: KeyRecord,
  id: string,
  material: Buffer,
  terms: ImportTerms,
  requested: { importType?: (typeof IMPORT_TYPES)[number]; keyMaterialId?: string },
) {
  const isReplica = key.multiRegionKeyType === "REPLICA";
  const primary = isReplica ? ctx.store.primaryOf(key) : undefined;
  // AWS: omitted ImportType means NEW_KEY_MATERIAL for a key that never had material, otherwise
  // EXISTING_KEY_MATERIAL. A replica never takes new material directly, so for it omitted means EXISTING.
  const importType =
    requested.importType ??
    (key.materials.length === 0 && !isReplica ? "NEW_KEY_MATERIAL" : "EXISTING_KEY_MATERIAL");

  if (importType === "EXISTING_KEY_MATERIAL") {
    if (requested.keyMaterialId !== undefined && requested.keyMaterialId !== id) {
      throw incorrectMaterial(
        `The key material in the request does not match the specified key material ID (${requested.keyMaterialId}).`,
      );
    }
    let record = key.materials.find((m) => m.id === id);
    if (!record) {
      const fromPrimary = primary?.materials.find((m) => m.id === id);
      if (!fromPrimary) {
        throw incorrectMaterial(
          `The key material in the request is not associated with KMS key ${key.arn}. Import it into the primary key first, or use ImportType NEW_KEY_MATERIAL for new key material.`,
        );
      }
      record = {
        id,
        state:
          fromPrimary.state === "PENDING_MULTI_REGION_IMPORT_AND_ROTATION"
            ? "PENDING_ROTATION"
            : fromPrimary.state,
        rotationDate: fromPrimary.rotationDate,
        rotationType: fromPrimary.rotationType,
        description: fromPrimary.description,
      };
      key.materials.push(record);
    }
    applyImport(record, material, terms);
    if (isReplica) promoteWhenAllReplicasHaveIt(ctx, primary, id);
    return { KeyId: key.arn, KeyMaterialId: id };
  }

  // NEW_KEY_MATERIAL
  if (isReplica) {
    throw kmsError(
      KmsErrorType.UnsupportedOperation,
      `${key.arn} is a multi-Region replica key. Import new key material into the primary key first, then import the same key material into each replica key with ImportType EXISTING_KEY_MATERIAL.`,
    );
  }
  if (key.materials.some((m) => m.id === id)) {
    throw incorrectMaterial(
      `KMS expected new key material, but the key material in the request (id: ${id}) is already associated with KMS key ${key.arn}.`,
    );
  }
  if (key.materials.length === 0) {
    const record: MaterialRecord = { id, state: "CURRENT" };
    applyImport(record, material, terms);
    key.materials.push(record);
    return { KeyId: key.arn, KeyMaterialId: id };
  }
  if (keyState(key) === "PendingImport") {
    throw kmsError(KmsErrorType.KmsInvalidState, `${key.arn} is pending import.`);
  }
  const pending = pendingMaterial(key);
  if (pending) {
    throw kmsError(
      KmsErrorType.KmsInvalidState,
      `New key material (id: ${id}) cannot be imported into KMS key ${key.keyId}, because another key material (id: ${pending.id}) is pending rotation.`,
    );
  }
  const hasReplicas = ctx.store.related(key).some((k) => k.multiRegionKeyType === "REPLICA");
  const record: MaterialRecord = {
    id,
    state: hasReplicas ? "PENDING_MULTI_REGION_IMPORT_AND_ROTATION" : "PENDING_ROTATION",
  };
  applyImport(record, material, terms);
  key.materials.push(record);
  return { KeyId: key.arn, KeyMaterialId: id };
}

export const importKeyMaterial: KmsOperation = {
  mutates: true,
  handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    const token = input.blob("ImportToken", { required: true, min: 1, max: 6144 });
    const wrapped = input.blob("EncryptedKeyMaterial", { required: true, min: 1, max: 6144 });
    const validTo = input.timestamp("ValidTo");
    const expirationModel = input.enumOf("ExpirationModel", EXPIRATION_MODELS) ?? "KEY_MATERIAL_EXPIRES";
    const importType = input.enumOf("ImportType", IMPORT_TYPES);
    const description = input.string("KeyMaterialDescription", {
      max: 256,
      pattern: /^[a-zA-Z0-9:/_\s.-]+$/,
    });
    const requestedId = input.string("KeyMaterialId", { min: 64, max: 64, pattern: /^[a-f0-9]+$/ });
    input.done();

    const now = ctx.clock.now();
    if (expirationModel === "KEY_MATERIAL_EXPIRES" && validTo === undefined) {
      throw kmsError(
        KmsErrorType.Validation,
        "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
      );
    }
    if (expirationModel === "KEY_MATERIAL_DOES_NOT_EXPIRE" && validTo !== undefined) {
      throw kmsError(
        KmsErrorType.Validation,
        "A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE",
      );
    }
    if (validTo !== undefined && validTo <= now) {
      throw kmsError(KmsErrorType.Validation, "The validTo date must be in the future.");
    }
    if (validTo !== undefined && validTo > now + MAX_VALID_TO_MS) {
      throw kmsError(
        KmsErrorType.Validation,
        "The validTo date must be no more than 365 days in the future.",
      );
    }
    if (importType === "NEW_KEY_MATERIAL" && requestedId !== undefined) {
      throw kmsError(
        KmsErrorType.Validation,
        "You cannot specify a key material ID with ImportType set to NEW_KEY_MATERIAL.",
      );
    }

    const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: false });
    requireExternal(key);
    requireNotPendingDeletion(key);
    const symmetric = key.keySpec === "SYMMETRIC_DEFAULT";
    if (!symmetric && (importType !== undefined || requestedId !== undefined || description !== undefined)) {
      // UnsupportedOperationException: "a specified parameter is not supported ... for this operation".
      throw kmsError(
        KmsErrorType.UnsupportedOperation,
        `ImportType, KeyMaterialId and KeyMaterialDescription are supported only for symmetric encryption KMS keys; ${key.arn} has key spec ${key.keySpec}.`,
      );
    }

    const claims = openImportToken(ctx.store.tokenSecret, token ?? Buffer.alloc(0));
    if (claims.keyId !== key.keyId || claims.region !== key.region || claims.accountId !== key.accountId) {
      throw kmsError(KmsErrorType.InvalidImportToken, `Import token is not valid for KMS key ${key.arn}.`);
    }
    if ((claims.generation ?? 0) < ctx.store.tokenGeneration(key.region)) {
      // Issued before a region-wide loss that took outstanding tokens with it (lose-material's
      // invalidateImportTokens). AWS documents no error for this case; a token KMS no longer honours is
      // "not valid", the error Tether must answer by fetching fresh parameters.
      throw kmsError(KmsErrorType.InvalidImportToken, `Import token is not valid for KMS key ${key.arn}.`);
    }
    if (now >= claims.issuedAt + IMPORT_PARAMETERS_TTL_MS) {
      throw kmsError(KmsErrorType.ExpiredImportToken, "Import token is expired.");
    }

    const material = unwrapKeyMaterial(
      claims.wrappingAlgorithm,
      Buffer.from(claims.privateKey, "base64"),
      wrapped ?? Buffer.alloc(0),
    );
    try {
      checkMaterial(key.keySpec, material);
      const id = keyMaterialId(key.keyId, material);
      const wasPendingImport = keyState(key) === "PendingImport";
      const terms: ImportTerms = { expirationModel, validTo, description, now };
      const result = symmetric
        ? importSymmetric(ctx, key, id, material, terms, { importType, keyMaterialId: requestedId })
        : { KeyId: key.arn, ...importSingleMaterial(ctx, key, id, material, terms) };
      // "When this operation is successful, the key state of the KMS key changes to Enabled."
      if (wasPendingImport && keyState(key) !== "PendingImport") key.enabled = true;
      return result;
    } finally {
      material.fill(0);
    }
  },
};
