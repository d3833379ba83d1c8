/**
 * The one import step of every use case that puts material into KMS (a region run's import, renewal and
 * restore; a rotation's imports into the primary and its replicas): the wrapping, then ImportKeyMaterial
 * through the KMS port (which fetches the material from the vault and wraps it).
 */
import type { ManagedKey } from "../../domain/managed-key.js";
import { chooseWrapping, type WrappingChoice } from "../../domain/wrapping.js";
import type { ImportRequest, ImportResult, LifecycleDeps } from "../ports.js";

/**
 * The strongest wrapping KMS accepts for the key, its policy prefers and the vault can produce (an HSM may
 * not do OAEP with SHA-256, say).
 * @throws UnsupportedWrappingError; vault errors
 */
export async function importWrapping(deps: LifecycleDeps, key: ManagedKey): Promise<WrappingChoice> {
  return chooseWrapping(key.keySpec, key.policy.wrapping, await deps.vault.supportedWrappings?.(key.keySpec));
}

/** One import into one Region of a managed key. */
export interface ImportStep {
  readonly key: ManagedKey;
  readonly into: { readonly region: ImportRequest["region"]; readonly keyArn: string };
  readonly materialRef: string;
  /** The check value recorded for that material: a vault that wraps elsewhere (the vault agent) must answer with it. */
  readonly checkValue?: string | undefined;
  readonly validTo: Date | undefined;
  /** Chosen beforehand (importWrapping) when several imports share it; else chosen here. */
  readonly wrapping?: WrappingChoice | undefined;
  readonly importType?: ImportRequest["importType"];
  readonly keyMaterialId?: string | undefined;
  readonly keyMaterialDescription?: string | undefined;
}

/**
 * Imports the material under `step.materialRef` into the Region, with the key's expiration model and the
 * step's ValidTo; returns what DescribeKey showed afterwards (KmsPort.importMaterial).
 * @throws IncorrectKeyMaterialError, Kms*Error, vault errors
 */
export async function importStep(deps: LifecycleDeps, step: ImportStep): Promise<ImportResult> {
  const { key, into } = step;
  return deps.kms.importMaterial({
    region: into.region,
    keyId: into.keyArn,
    managedKeyId: key.id,
    materialRef: step.materialRef,
    wrapping: step.wrapping ?? (await importWrapping(deps, key)),
    expirationModel: key.policy.expirationModel,
    validTo: step.validTo,
    // For a vault that wraps elsewhere (the vault agent): the key spec, and the check value its answer must carry.
    keySpec: key.keySpec,
    ...(step.checkValue === undefined ? {} : { checkValue: step.checkValue }),
    ...(step.importType === undefined ? {} : { importType: step.importType }),
    ...(step.keyMaterialId === undefined ? {} : { keyMaterialId: step.keyMaterialId }),
    ...(step.keyMaterialDescription === undefined
      ? {}
      : { keyMaterialDescription: step.keyMaterialDescription }),
  });
}
