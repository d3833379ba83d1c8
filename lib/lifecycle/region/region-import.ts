/**
 * A region run's import (import, renew or restore), crash-safe: the intent is announced in the Region's
 * record (importInFlight, with the audit event id it will be recorded under) before ImportKeyMaterial, and
 * the next run settles an intent a crash left behind by asking KMS whether the import happened
 * (settleImportInFlight). See lib/lifecycle/region/reconcile-region.ts.
 */
import {
  CheckValueMismatchError,
  errorName,
  IncorrectKeyMaterialError,
  LeaseNotAcquiredError,
  TetherError,
} from "../../domain/errors.js";
import { computeValidTo, distinctValidTo } from "../../domain/import-policy.js";
import { ImportType } from "../../domain/kms-constants.js";
import {
  awaitsPrimaryImport,
  findRegion,
  holdsMaterial,
  type ImportInFlight,
  keyMaterials,
  type ManagedKey,
  type RegionRecord,
} from "../../domain/managed-key.js";
import type { ObservedKeyState } from "../../domain/observed.js";
import { importConfirmed } from "../../domain/region-rules.js";
import { clearImportInFlight, recordImport, recordImportStarted } from "../../domain/region-transitions.js";
import type { Requester } from "../helpers/audit-context.js";
import { importStep, importWrapping } from "../helpers/import-step.js";
import type { Lease, LifecycleDeps } from "../ports.js";

/** What an import attempt left: the record to go on from, and either the intent done or the failure. */
export type ImportAttempt =
  | {
      readonly ok: true;
      readonly record: RegionRecord;
      readonly intent: ImportInFlight;
      readonly after: ObservedKeyState;
    }
  | { readonly ok: false; readonly record: RegionRecord; readonly error: unknown };

/**
 * Checks every material of the key against its recorded check value, announces the intent, imports each
 * material (oldest first, the current one last, all with the same ValidTo: DescribeKey reports the
 * earliest ValidTo of the key's materials) and confirms with DescribeKey. A failure KMS or the vault
 * explained means nothing was imported: the intent is forgotten; anything else (a timeout) may have
 * imported, so the intent stays for the next run to settle.
 * @throws LeaseNotAcquiredError when the lease was lost (the run ends there)
 */
export async function importIntoRegion(
  deps: LifecycleDeps,
  lease: Lease,
  by: Requester,
  key: ManagedKey,
  before: RegionRecord,
  kind: ImportInFlight["kind"],
  now: Date,
  observed: ObservedKeyState,
): Promise<ImportAttempt> {
  let record = before;
  try {
    // Every material permanently associated with the key: the loss or expiry of any one of them puts the
    // whole key in PendingImport, so each is checked and re-imported.
    const materials = keyMaterials(key);
    for (const material of materials) {
      if ((await deps.vault.checkValue(material.materialRef)) !== material.checkValue) {
        throw new CheckValueMismatchError({ keyId: key.id, materialRef: material.materialRef });
      }
    }
    if (key.vaultKind !== deps.vault.kind) await moveVault(deps, key, now);
    const wrapping = await importWrapping(deps, key);
    const intent = importIntent(deps, by, key, kind, now, observed);
    record = recordImportStarted(record, intent);
    await deps.keys.saveRegion(key.id, record, lease);
    let after: ObservedKeyState = { found: false };
    for (const material of materials) {
      after = await importStep(deps, {
        key,
        into: record,
        materialRef: material.materialRef,
        checkValue: material.checkValue,
        validTo: intent.validTo,
        wrapping,
        // A rotated key names which of its materials each import is; a key never rotated imports as it
        // always did (asymmetric and HMAC keys reject ImportType).
        ...(key.materials !== undefined && material.keyMaterialId !== undefined
          ? { importType: ImportType.EXISTING_KEY_MATERIAL, keyMaterialId: material.keyMaterialId }
          : {}),
      });
    }
    if (!importConfirmed(after, intent.validTo)) {
      // KMS accepted the call but does not show the result: keep the intent; the next run settles it.
      throw new ImportNotConfirmedError(key.id, lease.region, after.found ? after.keyState : "NotFound");
    }
    return { ok: true, record, intent, after };
  } catch (caught) {
    if (caught instanceof LeaseNotAcquiredError) throw caught;
    const error = await explainReplicaRefusal(deps, lease, key, caught);
    const known = error instanceof TetherError && !(error instanceof ImportNotConfirmedError);
    return { ok: false, record: known ? clearImportInFlight(record) : record, error };
  }
}

/** The intent announced before the import: what, with which ValidTo, under which event id, by whom. */
function importIntent(
  deps: LifecycleDeps,
  by: Requester,
  key: ManagedKey,
  kind: ImportInFlight["kind"],
  now: Date,
  observed: ObservedKeyState,
): ImportInFlight {
  const present = observed.found && holdsMaterial(observed.keyState);
  const validTo = distinctValidTo(computeValidTo(key.policy, now), present ? observed.validTo : undefined);
  return {
    kind,
    startedAt: now,
    validTo,
    eventId: deps.newId(),
    correlationId: by.correlationId,
    actor: by.actor,
    ...(present && validTo === undefined && observed.validTo === undefined ? { unprovable: true } : {}),
  };
}

/** What a previous run's crash mid-import left, settled by what KMS shows now. */
export type Settled =
  | { readonly kind: "none" | "unprovable" | "not-done"; readonly record: RegionRecord }
  | { readonly kind: "done"; readonly record: RegionRecord; readonly intent: ImportInFlight };

/**
 * A previous run crashed mid-import: KMS says whether the import happened. Done: recorded as of its
 * start (the caller writes its fact under the intent's event id, so no duplicate in the history). A
 * re-import of material that does not expire into a key that held it cannot be proven either way, and
 * nothing depends on it: forgotten, not claimed in the history.
 */
export function settleImportInFlight(
  key: ManagedKey,
  record: RegionRecord,
  observed: ObservedKeyState,
): Settled {
  const intent = record.importInFlight;
  if (intent === undefined) return { kind: "none", record };
  if (intent.unprovable === true) return { kind: "unprovable", record: clearImportInFlight(record) };
  if (!importConfirmed(observed, intent.validTo))
    return { kind: "not-done", record: clearImportInFlight(record) };
  const done = recordImport(record, { at: intent.startedAt, validTo: intent.validTo }, key.policy);
  return { kind: "done", record: done, intent };
}

/**
 * The configured vault is another kind than the key's, and its material under the reference has the
 * recorded check value: the same bytes, so the key now lives in this vault. A lost race with another
 * writer of the key record only delays the move to the next import.
 */
async function moveVault(deps: LifecycleDeps, key: ManagedKey, now: Date): Promise<void> {
  try {
    await deps.keys.saveKey({ ...key, vaultKind: deps.vault.kind, updatedAt: now });
    deps.log?.("info", "key moved to another vault (same check value)", {
      keyId: key.id,
      from: key.vaultKind ?? "unrecorded",
      to: deps.vault.kind,
    });
  } catch (error) {
    deps.log?.("warn", "key's vault move not recorded; retried at the next import", {
      keyId: key.id,
      error: errorName(error),
    });
  }
}

/**
 * KMS refuses a replica's import until its primary holds the material (a Multi-Region key's material
 * goes into the primary first), and says so with IncorrectKeyMaterialException. While the primary has
 * never been imported into, that refusal says nothing about the vault's bytes: it is retried like any
 * passing failure, not left waiting for an operator.
 */
async function explainReplicaRefusal(
  deps: LifecycleDeps,
  lease: Lease,
  key: ManagedKey,
  error: unknown,
): Promise<unknown> {
  if (!(error instanceof IncorrectKeyMaterialError) || lease.region === key.primaryRegion) return error;
  const whole = await deps.keys.get(key.id).catch(() => undefined);
  const primary = whole === undefined ? undefined : findRegion(whole, whole.primaryRegion);
  if (primary === undefined || !awaitsPrimaryImport(primary)) return error;
  return new PrimaryNotImportedError(key.id, lease.region, { cause: error });
}

/** KMS took the import but DescribeKey does not show it. */
export class ImportNotConfirmedError extends TetherError {
  constructor(keyId: string, region: string, keyState: string) {
    super(`Import into key ${keyId} in ${region} was not confirmed by DescribeKey (state ${keyState}).`);
    this.name = "ImportNotConfirmedError";
  }
}

/**
 * A replica's import was refused because its primary holds no material yet (see explainReplicaRefusal):
 * retried with the usual backoff.
 */
export class PrimaryNotImportedError extends TetherError {
  constructor(keyId: string, region: string, options?: ErrorOptions) {
    super(
      `Key ${keyId}: the replica in ${region} cannot take the material before the primary has it; retrying.`,
      options,
    );
    this.name = "PrimaryNotImportedError";
  }
}
