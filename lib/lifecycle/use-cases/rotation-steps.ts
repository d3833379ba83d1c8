/**
 * The steps of a rotation or key swap under way, kept on the key (PendingRotation.steps,
 * PendingSwap.steps) before their "Key Rotation Step" audit events are written. Each event takes the time
 * its step was recorded and an id derived from the rotation's, so a run that writes it again after a crash
 * (or a rerun that writes every recorded step again) adds no second fact to the history.
 */
import { AuditDetailType, buildFactEvent, RotationStep } from "../../domain/audit-types.js";
import { TetherError } from "../../domain/errors.js";
import {
  type AwsRegion,
  type CheckValue,
  type MaterialRef,
  parseAwsRegion,
  parseCheckValue,
} from "../../domain/ids.js";
import { parseKmsKeyArn } from "../../domain/key-arn.js";
import type { IntentStart } from "../../domain/key-material.js";
import type { KeySpec } from "../../domain/kms-constants.js";
import { findRegion, type ManagedKey } from "../../domain/managed-key.js";
import { fixedContext, keySubject } from "../helpers/audit-context.js";
import { saveKeyChange } from "../helpers/save-key.js";
import type { LifecycleDeps } from "../ports.js";

/** Which kind of rotation the steps belong to. */
export type StepsOf = "rotation" | "swap";

/** A step that fixes a time without an event of its own (e.g. the time of the final events). */
export const UNAUDITED_STEPS: readonly string[] = ["finished"];

/** `step` or `step:region`: the key of a step in `steps`. */
export function stepName(step: RotationStep | "finished", region?: AwsRegion): string {
  return region === undefined ? step : `${step}:${region}`;
}

/** A step's key read back (stepName's inverse); the step is what was recorded, the Region a known one. */
export function parseStepName(name: string): { step: RotationStep; region: AwsRegion | undefined } {
  const at = name.indexOf(":");
  const step = at < 0 ? name : name.slice(0, at);
  const steps: readonly string[] = Object.values(RotationStep);
  const known = steps.find((s): s is RotationStep => s === step);
  if (known === undefined) throw new TetherError(`Unknown rotation step ${JSON.stringify(step)} recorded.`);
  return { step: known, region: at < 0 ? undefined : parseAwsRegion(name.slice(at + 1)) };
}

/** The recorded steps of the rotation or swap under way (empty when none is). */
export function stepsOf(key: ManagedKey, of: StepsOf): Readonly<Record<string, Date>> {
  return (of === "swap" ? key.pendingSwap?.steps : key.pendingRotation?.steps) ?? {};
}

/**
 * Records that a step is done (now), unless it already is, then writes its audit event.
 * @throws VersionConflictError after repeated concurrent changes
 */
export async function markStep(
  deps: LifecycleDeps,
  key: ManagedKey,
  of: StepsOf,
  name: string,
): Promise<ManagedKey> {
  const now = deps.clock();
  const saved = await saveKeyChange(deps, key, (current) => {
    if (stepsOf(current, of)[name] !== undefined) return current;
    if (of === "swap" && current.pendingSwap !== undefined) {
      const steps = { ...current.pendingSwap.steps, [name]: now };
      return { ...current, pendingSwap: { ...current.pendingSwap, steps } };
    }
    if (of === "rotation" && current.pendingRotation !== undefined) {
      const steps = { ...current.pendingRotation.steps, [name]: now };
      return { ...current, pendingRotation: { ...current.pendingRotation, steps } };
    }
    return current;
  });
  await recordSteps(deps, saved, of, [name]);
  return saved;
}

/**
 * Writes the Key Rotation Step events of recorded steps (all, or the named ones). For a swap the event
 * names the new key in `relatedKeyId` and, once it exists, its ARN in the step's Region.
 */
export async function recordSteps(
  deps: LifecycleDeps,
  key: ManagedKey,
  of: StepsOf,
  names?: readonly string[],
): Promise<void> {
  const pending = of === "swap" ? key.pendingSwap : key.pendingRotation;
  if (pending === undefined) return;
  const swap = of === "swap" ? key.pendingSwap : undefined;
  const events = Object.entries(pending.steps ?? {})
    .filter(([name]) => !UNAUDITED_STEPS.includes(name) && (names === undefined || names.includes(name)))
    .map(([name, at]) => {
      const { step, region } = parseStepName(name);
      const inRegion = region ?? key.primaryRegion;
      const keyArn =
        swap?.newKeyArn !== undefined && step !== RotationStep.MaterialGenerated
          ? arnIn(swap.newKeyArn, inRegion)
          : (findRegion(key, inRegion)?.keyArn ?? key.kmsKeyId);
      return buildFactEvent(
        AuditDetailType.KeyRotationStep,
        fixedContext(`${pending.eventId}:${name}`, at, pending),
        {
          ...keySubject(key, { keyArn, region: inRegion }),
          checkValue: pending.checkValue,
          reason: pending.reason,
          relatedKeyId: swap?.successorId,
          step,
        },
      );
    });
  if (events.length > 0) await deps.audit.record(...events);
}

/**
 * The start of a rotation's or swap's intent: new material under `materialRef` (see materialUnder), the
 * material-generated step, and the request's actor, correlation and reason.
 * @throws vault errors
 */
export async function startIntent(
  deps: LifecycleDeps,
  request: { readonly actor: string; readonly correlationId: string; readonly reason: string },
  materialRef: MaterialRef,
  keySpec: KeySpec,
): Promise<IntentStart> {
  const now = deps.clock();
  return {
    materialRef,
    checkValue: await materialUnder(deps, materialRef, keySpec),
    startedAt: now,
    steps: { [RotationStep.MaterialGenerated]: now },
    eventId: deps.newId(),
    correlationId: request.correlationId,
    actor: request.actor,
    reason: request.reason,
  };
}

/**
 * New material for a rotation or swap under a deterministic reference: made by the vault, or, when a run
 * crashed after the vault made it and before the intent was recorded, the material already there.
 * @throws vault errors
 */
export async function materialUnder(
  deps: LifecycleDeps,
  materialRef: string,
  keySpec: KeySpec,
): Promise<CheckValue> {
  const checkValue = (await deps.vault.has(materialRef))
    ? await deps.vault.checkValue(materialRef)
    : (await deps.vault.generate(materialRef, keySpec)).checkValue;
  return parseCheckValue(checkValue);
}

/** The same key id's ARN in another Region (Multi-Region keys share their id). */
export function arnIn(arn: string, region: string): string {
  const parsed = parseKmsKeyArn(arn);
  return parsed.arn.replace(`:${parsed.region}:`, `:${region}:`);
}
