/**
 * On-demand rotation of imported material inside one symmetric key (AWS's rotation of EXTERNAL keys):
 * the vault makes new material, Tether imports it with NEW_KEY_MATERIAL into the primary, the same bytes
 * with EXISTING_KEY_MATERIAL and the same KeyMaterialId into every replica, then RotateKeyOnDemand on the
 * primary. https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys-import-key-material.html
 */
import { type AlertFinding, AlertReason, AlertSeverity } from "../../domain/alerts.js";
import {
  AuditDetailType,
  type AuditEvent,
  buildAlertEvent,
  buildFactEvent,
  RotationStep,
} from "../../domain/audit-types.js";
import { formatDuration } from "../../domain/duration.js";
import {
  errorName,
  IncorrectKeyMaterialError,
  NotFoundError,
  StateConflictError,
  TetherError,
  ValidationError,
} from "../../domain/errors.js";
import { type MaterialRef, parseMaterialRef } from "../../domain/ids.js";
import { computeValidTo, RotationMethod, rotationMethodOf } from "../../domain/import-policy.js";
import type { KeyMaterialInfo, KeyMaterialRecord, PendingRotation } from "../../domain/key-material.js";
import { assertImportAllowed } from "../../domain/key-status.js";
import {
  ImportType,
  KeyMaterialState,
  KeySpec,
  MAX_ON_DEMAND_ROTATIONS,
} from "../../domain/kms-constants.js";
import { findRegion, keyMaterials, type ManagedKey, type RegionRecord } from "../../domain/managed-key.js";
import { auditContext, fixedContext, keySubject } from "../helpers/audit-context.js";
import { type ImportStep, importStep } from "../helpers/import-step.js";
import { BUSY_RETRIES, withLease } from "../helpers/lease.js";
import { saveKeyChange } from "../helpers/save-key.js";
import type { ImportResult, LifecycleDeps } from "../ports.js";
import { loadKey } from "./operator-actions.js";
import { markStep, recordSteps, startIntent, stepName } from "./rotation-steps.js";
import { type SwapResult, swapKey } from "./swap.js";

/** From this many completed rotations on, each rotation also raises a warning alert. */
export const ROTATION_WARNING_THRESHOLD = 20;

export interface RotateRequest {
  /** A Tether id, a key ARN or an alias. */
  readonly key: string;
  readonly reason: string;
  readonly actor: string;
  readonly correlationId: string;
  /**
   * The key's rotation schedule asked for it (the sweep), rather than an operator: every failure is then
   * alerted, refusals included, since nobody is there to read the error.
   */
  readonly scheduled?: boolean | undefined;
}

/** What an in-key rotation did. */
export interface InKeyRotateResult {
  readonly method: typeof RotationMethod.InKey;
  readonly key: ManagedKey;
  /** The primary's materials after the rotation, as KMS lists them (oldest first). */
  readonly materials: readonly KeyMaterialInfo[];
  /** True when this call finished a rotation an earlier, interrupted call had started. */
  readonly resumed: boolean;
  /** On-demand rotations the key has had, this one included. */
  readonly rotations: number;
}

/** What a key swap did: `key` is the old key (superseded, still managed), `successor` the new one. */
export type SwapRotateResult = { readonly method: typeof RotationMethod.KeySwap } & SwapResult;

export type RotateResult = InKeyRotateResult | SwapRotateResult;

/**
 * Rotates the key the way its policy says (rotationMethodOf): in-key, or by a key swap (lib/lifecycle/
 * swap.ts). A rotation or swap that an earlier call started and did not finish is finished first, whatever
 * the policy says now. Holds the lease on the key's primary Region throughout, so two rotations of one key
 * never run at once.
 *
 * In-key rotation. Crash safety: the new material is recorded on the key (`pendingRotation`) before
 * anything reaches KMS, under a material reference derived from the key's first one (`<first ref>/r<generation>`), so a rerun
 * finds the same vault material rather than making another. A rerun — this function called again, e.g. the
 * operator repeating the request — asks KMS how far the rotation got (ListKeyRotations on the primary)
 * and finishes it: imports into the primary if nothing is pending there, into the replicas, rotates, and
 * records. The audit event's id is fixed when the rotation starts, so finishing twice is one fact.
 * @throws NotFoundError; ValidationError (empty reason); StateConflictError (in-key rotation of a key that
 *   is not symmetric; revoked; superseded by a swap; 25 rotations done; material pending rotation in KMS
 *   that Tether did not put there; a swap without an alias, or not finished; the primary busy with
 *   another worker); KmsRotationLimitError, Kms*Error, vault errors
 */
export async function rotateKey(deps: LifecycleDeps, request: RotateRequest): Promise<RotateResult> {
  try {
    return await rotateOnce(deps, request);
  } catch (error) {
    await alertRotationFailure(deps, request, error).catch((alertError: unknown) => {
      deps.log?.("error", "could not record the rotation alert", {
        error: errorName(alertError),
      });
    });
    throw error;
  }
}

/**
 * Conflicts that leave work half-done or need a look at KMS, alerted whoever asked; every other conflict is
 * a refusal before anything was done, which an operator reads in the answer (409).
 */
const FAILED_CONFLICTS: readonly string[] = ["swap-incomplete", "kms-key-gone"];

/**
 * A warning alert for a rotation that failed: always for a scheduled one; for an operator's, when the
 * failure is not a refusal the answer already explains (KMS, vault or store errors; a swap left
 * incomplete). AWS's rotation limit has its own critical alert, and bad input none.
 */
async function alertRotationFailure(
  deps: LifecycleDeps,
  request: RotateRequest,
  error: unknown,
): Promise<void> {
  if (error instanceof ValidationError || error instanceof NotFoundError) return;
  if (error instanceof StateConflictError) {
    if (error.state === "rotation-limit-reached") return;
    if (!FAILED_CONFLICTS.includes(error.state) && request.scheduled !== true) return;
  }
  const id = await deps.keys.resolve(request.key);
  const key = id === undefined ? undefined : await deps.keys.get(id);
  if (key === undefined) return;
  const name = errorName(error);
  const every =
    key.policy.rotateEveryMs === undefined ? "" : ` (every ${formatDuration(key.policy.rotateEveryMs)})`;
  const next = request.scheduled === true ? "the next sweep tries again" : "repeat the request to finish it";
  await deps.audit.record(
    buildAlertEvent(AuditDetailType.TetherAlert, auditContext(deps, request), keySubject(key), {
      severity: AlertSeverity.Warning,
      reason: AlertReason.RotationFailed,
      summary: `key ${key.id}: the ${request.scheduled === true ? `scheduled rotation${every}` : "rotation"} failed with ${name}; ${next}`,
    }),
  );
}

async function rotateOnce(deps: LifecycleDeps, request: RotateRequest): Promise<RotateResult> {
  if (typeof request.reason !== "string" || request.reason.trim() === "") {
    throw new ValidationError("reason", "must not be empty");
  }
  const found = await loadKey(deps, request.key);
  assertImportAllowed(found, "operator");
  const primary = findRegion(found, found.primaryRegion);
  if (primary === undefined) {
    throw new StateConflictError(`Key ${found.id} has no record of its primary Region.`, {
      keyId: found.id,
      state: "no-primary",
    });
  }
  const leased = await withLease(
    deps,
    found.id,
    found.primaryRegion,
    // Read again under the lease: another rotation may have finished while this one waited for it.
    async () => rotateLeased(deps, request, await loadKey(deps, found.id), primary),
    { retries: BUSY_RETRIES, purpose: "rotate" },
  );
  if (!leased.acquired) {
    throw new StateConflictError(`Key ${found.id}'s primary Region is busy with another worker; try again.`, {
      keyId: found.id,
      state: "busy",
    });
  }
  return leased.value;
}

/** The rotation the key's policy (or an unfinished one) asks for, under the primary's lease. */
async function rotateLeased(
  deps: LifecycleDeps,
  request: RotateRequest,
  key: ManagedKey,
  primary: RegionRecord,
): Promise<RotateResult> {
  if (
    key.pendingSwap !== undefined ||
    (key.pendingRotation === undefined &&
      rotationMethodOf(key.keySpec, key.policy) === RotationMethod.KeySwap)
  ) {
    const result = await swapKey(deps, key, request);
    return { method: RotationMethod.KeySwap, ...result };
  }
  if (key.supersededBy !== undefined) {
    throw new StateConflictError(
      `Key ${key.id} was swapped for ${key.supersededBy}; rotate that key instead.`,
      {
        keyId: key.id,
        state: "superseded",
      },
    );
  }
  if (key.keySpec !== KeySpec.SYMMETRIC_DEFAULT) {
    throw new StateConflictError(
      `Key ${key.id} is ${key.keySpec}: KMS rotates imported material on demand only in symmetric keys; its policy's rotationMethod must be key-swap.`,
      { keyId: key.id, state: key.keySpec },
    );
  }
  const result = await new Rotation(deps, request, primary).run(key);
  return { method: RotationMethod.InKey, ...result };
}

const PENDING_STATES: readonly string[] = [
  KeyMaterialState.PENDING_ROTATION,
  KeyMaterialState.PENDING_MULTI_REGION_IMPORT_AND_ROTATION,
];

/** Completed on-demand rotations: every associated (not pending) material but the first. */
export function completedRotations(materials: readonly KeyMaterialInfo[]): number {
  return Math.max(0, materials.filter((m) => !PENDING_STATES.includes(m.state)).length - 1);
}

class Rotation {
  readonly #events: AuditEvent[] = [];

  constructor(
    private readonly deps: LifecycleDeps,
    private readonly request: RotateRequest,
    private readonly primary: RegionRecord,
  ) {}

  async run(start: ManagedKey): Promise<Omit<InKeyRotateResult, "method">> {
    const { deps, primary } = this;
    let key = start;
    const listed = await deps.kms.listKeyMaterials(primary.region, primary.keyArn);
    const resumed = key.pendingRotation !== undefined;
    if (key.pendingRotation === undefined) key = await this.#begin(key, listed);
    // Steps an interrupted run recorded but may not have audited (same ids and times: no duplicates).
    await recordSteps(deps, key, "rotation");
    const pending = pendingRotation(key);

    const recorded =
      pending.keyMaterialId === undefined
        ? undefined
        : listed.find((m) => m.keyMaterialId === pending.keyMaterialId);
    if (recorded?.state !== KeyMaterialState.CURRENT) {
      key = await this.#importIntoPrimary(key, pending, listed);
      key = await markStep(deps, key, "rotation", stepName(RotationStep.MaterialStaged, primary.region));
      key = await this.#importIntoReplicas(key, pendingRotation(key));
      await deps.kms.rotateKeyOnDemand(primary.region, primary.keyArn);
    }
    key = await markStep(deps, key, "rotation", stepName(RotationStep.MaterialActivated));
    const after = await deps.kms.listKeyMaterials(primary.region, primary.keyArn);
    const rotations = completedRotations(after);
    key = await this.#finish(key, rotations, after);
    return { key, materials: after, resumed, rotations };
  }

  /** Refuses at the limit, makes the new material in the vault, records the intent. */
  async #begin(key: ManagedKey, listed: readonly KeyMaterialInfo[]): Promise<ManagedKey> {
    const { deps, request } = this;
    const now = deps.clock();
    const rotations = completedRotations(listed);
    if (rotations >= MAX_ON_DEMAND_ROTATIONS) {
      const summary = `key ${key.id} had ${rotations} on-demand rotations, AWS's limit; rotate by a key swap`;
      await deps.audit.record(
        this.#alertEvent(key, {
          severity: AlertSeverity.Critical,
          reason: AlertReason.RotationLimitNear,
          summary,
        }),
      );
      throw new StateConflictError(
        `Key ${key.id} reached AWS's limit of ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations; rotate it by a key swap (PATCH its policy with rotationMethod key-swap; the key needs an alias).`,
        { keyId: key.id, state: "rotation-limit-reached" },
      );
    }
    const foreign = listed.find((m) => PENDING_STATES.includes(m.state));
    if (foreign !== undefined) {
      throw new StateConflictError(
        `Key ${key.id} has material pending rotation in KMS that Tether did not import; resolve it first.`,
        { keyId: key.id, state: foreign.state },
      );
    }
    const materials = withCurrentId(keyMaterials(key), listed);
    const materialRef = nextMaterialRef(materials);
    // The new material's reference is this key's, as its first one is (one managed key per reference).
    await deps.keys.claimMaterial(materialRef, key.id);
    const pendingRotation: PendingRotation = await startIntent(deps, request, materialRef, key.keySpec);
    return deps.keys.saveKey({ ...key, materials, pendingRotation, updatedAt: now });
  }

  /** NEW_KEY_MATERIAL into the primary, unless an earlier run already put it there. */
  async #importIntoPrimary(
    key: ManagedKey,
    pending: PendingRotation,
    listed: readonly KeyMaterialInfo[],
  ): Promise<ManagedKey> {
    const { primary } = this;
    const inKms = listed.find((m) => PENDING_STATES.includes(m.state));
    if (
      inKms !== undefined &&
      pending.keyMaterialId !== undefined &&
      inKms.keyMaterialId !== pending.keyMaterialId
    ) {
      throw new StateConflictError(
        `Key ${key.id} has other material pending rotation in KMS than Tether imported; resolve it first.`,
        { keyId: key.id, state: inKms.state },
      );
    }
    if (inKms !== undefined && pending.keyMaterialId !== undefined) return key;
    let keyMaterialId: string | undefined;
    if (inKms === undefined) {
      const result = await this.#import(key, primary, pending, {
        importType: ImportType.NEW_KEY_MATERIAL,
        keyMaterialDescription: `Tether rotation ${pending.materialRef}`,
      });
      keyMaterialId = result.importedKeyMaterialId;
    } else {
      // A crash after the import and before it was recorded: the pending material is ours only if KMS
      // takes our bytes under its id.
      try {
        await this.#import(key, primary, pending, {
          importType: ImportType.EXISTING_KEY_MATERIAL,
          keyMaterialId: inKms.keyMaterialId,
        });
      } catch (error) {
        if (!(error instanceof IncorrectKeyMaterialError)) throw error;
        throw new StateConflictError(
          `Key ${key.id} has material pending rotation in KMS that is not Tether's; resolve it first.`,
          { keyId: key.id, state: inKms.state },
          { cause: error },
        );
      }
      keyMaterialId = inKms.keyMaterialId;
    }
    if (keyMaterialId === undefined) {
      throw new TetherError(`KMS did not say which KeyMaterialId it gave the new material of key ${key.id}.`);
    }
    return saveKeyChange(this.deps, key, (current) =>
      current.pendingRotation === undefined
        ? current
        : { ...current, pendingRotation: { ...current.pendingRotation, keyMaterialId } },
    );
  }

  /** The same bytes into every replica as EXISTING_KEY_MATERIAL with the primary's KeyMaterialId. */
  async #importIntoReplicas(start: ManagedKey, pending: PendingRotation): Promise<ManagedKey> {
    let key = start;
    for (const record of key.regions) {
      if (record.region === key.primaryRegion) continue;
      // Imported again on a rerun even when recorded: EXISTING_KEY_MATERIAL of the same bytes is harmless,
      // and KMS, not the record, is the truth about what each replica holds.
      await this.#import(key, record, pending, {
        importType: ImportType.EXISTING_KEY_MATERIAL,
        keyMaterialId: pending.keyMaterialId,
      });
      key = await markStep(this.deps, key, "rotation", stepName(RotationStep.MaterialStaged, record.region));
    }
    return key;
  }

  /** One import into one Region of the key (import-step.ts), with a ValidTo from the policy as of now. */
  #import(
    key: ManagedKey,
    into: RegionRecord,
    material: KeyMaterialRecord,
    extra: Pick<ImportStep, "importType" | "keyMaterialId" | "keyMaterialDescription">,
  ): Promise<ImportResult> {
    const validTo = computeValidTo(key.policy, this.deps.clock());
    const { materialRef, checkValue } = material;
    return importStep(this.deps, { key, into, materialRef, checkValue, validTo, ...extra });
  }

  /** The new material becomes current; audit (the id fixed at the start), then the record. */
  async #finish(key: ManagedKey, rotations: number, listed: readonly KeyMaterialInfo[]): Promise<ManagedKey> {
    const { deps } = this;
    const pending = pendingRotation(key);
    const now = deps.clock();
    // The event's time is KMS's rotation date: a rerun after a crash between the event and the record
    // writes the same event (same id and time), not a second one.
    const rotatedAt =
      listed.find((m) => m.keyMaterialId === pending.keyMaterialId)?.rotationDate ?? pending.startedAt;
    this.#events.push(
      buildFactEvent(AuditDetailType.KeyMaterialRotated, fixedContext(pending.eventId, rotatedAt, pending), {
        ...keySubject(key, this.primary),
        checkValue: pending.checkValue,
        reason: pending.reason,
      }),
    );
    if (rotations >= ROTATION_WARNING_THRESHOLD) {
      this.#events.push(
        this.#alertEvent(key, {
          severity: AlertSeverity.Warning,
          reason: AlertReason.RotationLimitNear,
          summary: `key ${key.id} had ${rotations} of AWS's ${MAX_ON_DEMAND_ROTATIONS} on-demand rotations`,
        }),
      );
    }
    await deps.audit.record(...this.#events);
    return saveKeyChange(this.deps, key, (current) => {
      const intent = current.pendingRotation;
      if (intent === undefined) return current;
      const material: KeyMaterialRecord = {
        materialRef: intent.materialRef,
        checkValue: intent.checkValue,
        keyMaterialId: intent.keyMaterialId,
        rotatedAt: now,
      };
      return {
        ...current,
        materials: [...keyMaterials(current), material],
        materialRef: intent.materialRef,
        checkValue: intent.checkValue,
        pendingRotation: undefined,
        updatedAt: now,
      };
    });
  }

  #alertEvent(key: ManagedKey, finding: AlertFinding): AuditEvent {
    return buildAlertEvent(
      AuditDetailType.TetherAlert,
      auditContext(this.deps, this.request),
      keySubject(key, this.primary),
      finding,
    );
  }
}

/** The key's materials with the current one's KeyMaterialId filled in from KMS, where not yet known. */
function withCurrentId(
  materials: readonly KeyMaterialRecord[],
  listed: readonly KeyMaterialInfo[],
): KeyMaterialRecord[] {
  const current = listed.find((m) => m.state === KeyMaterialState.CURRENT);
  return materials.map((material, i) =>
    i === materials.length - 1 && material.keyMaterialId === undefined && current !== undefined
      ? { ...material, keyMaterialId: current.keyMaterialId }
      : material,
  );
}

/**
 * `<first material's ref>/r<generation>`: the first material is generation 1, so the first rotation makes
 * `/r2`. Deterministic, so an interrupted rotation finds its material again; based on the first reference
 * so references do not grow with every rotation.
 * @throws ValidationError when the reference would be too long
 */
export function nextMaterialRef(materials: readonly KeyMaterialRecord[]): MaterialRef {
  const first = materials[0]?.materialRef ?? "";
  return parseMaterialRef(`${first}/r${materials.length + 1}`);
}

/** The in-key rotation under way. */
function pendingRotation(key: ManagedKey): PendingRotation {
  if (key.pendingRotation === undefined) {
    throw new StateConflictError(`Key ${key.id} has no rotation under way.`, {
      keyId: key.id,
      state: "no-rotation",
    });
  }
  return key.pendingRotation;
}
