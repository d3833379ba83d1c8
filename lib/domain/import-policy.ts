import { DAY_MS, formatDuration, HOUR_MS, MINUTE_MS, parseDuration, SECOND_MS } from "./duration.js";
import { ValidationError } from "./errors.js";
import {
  ExpirationModel,
  KeySpec,
  MAX_VALID_TO_MS,
  WrappingAlgorithm,
  WrappingKeySpec,
} from "./kms-constants.js";
import type { WrappingPreference } from "./wrapping.js";

/**
 * How a key is rotated. `in-key`: new material inside the same key, RotateKeyOnDemand (symmetric keys
 * only). `key-swap`: a new EXTERNAL key with new material takes over the key's alias; the old key stays
 * managed, for decryption, until an operator retires it (the only way for asymmetric and HMAC keys).
 * https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys-import-key-material.html
 */
export const RotationMethod = {
  InKey: "in-key",
  KeySwap: "key-swap",
} as const;
export type RotationMethod = (typeof RotationMethod)[keyof typeof RotationMethod];

/**
 * Which work goes first when there is more of it than one run takes or the KMS quota allows: the due-work
 * index serves a critical key's Regions before a high one's, then normal, then low; within a priority the
 * earliest due first. It orders renewals and restores alike, so an incident restores critical keys first.
 * Changing it weakens nothing (it orders work, never withholds it): not a "policy-weaken" for dual control.
 */
export const Priority = {
  Critical: "critical",
  High: "high",
  Normal: "normal",
  Low: "low",
} as const;
export type Priority = (typeof Priority)[keyof typeof Priority];

/** Every priority, first served first. */
export const PRIORITIES: readonly Priority[] = [
  Priority.Critical,
  Priority.High,
  Priority.Normal,
  Priority.Low,
];

/**
 * How Tether imports a key's material: whether and when it expires, when to renew, how to wrap, and
 * what to do after a loss. Durations are milliseconds; the input form (ImportPolicyInput) uses ISO 8601.
 */
export type ImportPolicy = ExpiringImportPolicy | NonExpiringImportPolicy;

interface ImportPolicyCommon {
  readonly wrapping: WrappingPreference;
  /** Restore automatically after expiry or a regional loss. */
  readonly restoreAfterLoss: boolean;
  /** Restore automatically after someone deleted the material outside Tether. */
  readonly restoreAfterOutOfBandDelete: boolean;
  /** How often a healthy key is re-checked with DescribeKey even when nothing is due. */
  readonly reconcileIntervalMs: number;
  /**
   * How long Tether looks in CloudTrail for the cause of an unexplained loss (material gone before its
   * ValidTo, the Region's sentinel intact, no Tether action) before treating it as a local loss. 0: look
   * once, then act. See lib/domain/attribution.ts.
   */
  readonly attributionGraceMs: number;
  /**
   * Rotate (a new material becomes current, or a new key takes over) this long after the current material
   * became current; undefined: no scheduled rotation.
   */
  readonly rotateEveryMs?: number | undefined;
  /** How to rotate; undefined: in-key for symmetric keys, key-swap for others (see rotationMethodOf). */
  readonly rotationMethod?: RotationMethod | undefined;
  /** Where the key's due work is served: critical first, low last (see Priority). */
  readonly priority: Priority;
}

export interface ExpiringImportPolicy extends ImportPolicyCommon {
  readonly expirationModel: typeof ExpirationModel.KEY_MATERIAL_EXPIRES;
  readonly validity: Validity;
  /** Renew when ValidTo is this close. Shorter than the validity period. */
  readonly renewBeforeMs: number;
}

export interface NonExpiringImportPolicy extends ImportPolicyCommon {
  readonly expirationModel: typeof ExpirationModel.KEY_MATERIAL_DOES_NOT_EXPIRE;
}

/**
 * `period`: each import gets ValidTo = now + period. `fixed`: the material must be gone at this time;
 * each import gets that ValidTo, capped at 365 days ahead (so a date further out is reached by renewals).
 */
export type Validity =
  | { readonly kind: "period"; readonly periodMs: number }
  | { readonly kind: "fixed"; readonly validTo: Date };

/** The policy as an API caller writes it (and as it is stored): ISO 8601 durations and timestamps. */
export interface ImportPolicyInput {
  expirationModel?: ExpirationModel;
  /** ISO 8601 duration, e.g. `P30D`, `PT1H`. Not with validTo. */
  validityPeriod?: string;
  /** ISO 8601 timestamp. Not with validityPeriod. */
  validTo?: string;
  /** ISO 8601 duration, e.g. `P7D`, `PT15M`. */
  renewBefore?: string;
  wrappingAlgorithm?: WrappingAlgorithm;
  wrappingKeySpec?: WrappingKeySpec;
  restoreAfterLoss?: boolean;
  restoreAfterOutOfBandDelete?: boolean;
  /** ISO 8601 duration, e.g. `PT6H`. */
  reconcileInterval?: string;
  /** ISO 8601 duration, `PT0S`..`PT24H`, e.g. `PT15M`: how long to look for who deleted lost material. */
  attributionGrace?: string;
  /** ISO 8601 duration, e.g. `P365D`: rotate this often. */
  rotateEvery?: string;
  /** `in-key` (symmetric keys only) or `key-swap`; absent: in-key where KMS allows it. */
  rotationMethod?: RotationMethod;
  /** `critical`, `high`, `normal` (default) or `low`: the order due work is served in. */
  priority?: Priority;
}

/** The limits a policy must keep. */
export const ImportPolicyLimits = {
  /** The dead-man's-switch customers: material that dies an hour after Tether stops renewing it. */
  minValidityMs: HOUR_MS,
  /** AWS: ValidTo at most 365 days ahead. */
  maxValidityMs: MAX_VALID_TO_MS,
  /** Shorter than this leaves no time to retry a failed renewal. */
  minRenewBeforeMs: 5 * MINUTE_MS,
  minReconcileIntervalMs: MINUTE_MS,
  maxReconcileIntervalMs: DAY_MS,
  /** A fixed ValidTo must be at least this far ahead at import time, or the import is pointless. */
  minValidToLeadMs: MINUTE_MS,
  /**
   * AWS allows 25 on-demand rotations per key over its whole life, and every rotation adds a material
   * that each renewal and restore must re-import; the sweep also looks at a healthy key only once per
   * reconcile interval (at most a day). Faster than daily would use up the key in under a month and
   * could not be kept on time anyway.
   * https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys-import-key-material.html
   */
  minRotateEveryMs: DAY_MS,
  /** Ten years: a longer schedule is no schedule. */
  maxRotateEveryMs: 3650 * DAY_MS,
  /** PT0S: look in CloudTrail once, then act at once (where no trail's delay is worth waiting for). */
  minAttributionGraceMs: 0,
  /**
   * CloudTrail delivers its events best effort, typically within minutes; a day is past any delay worth
   * waiting for, and a key stays unusable while Tether waits.
   * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/how-cloudtrail-works.html
   */
  maxAttributionGraceMs: DAY_MS,
} as const;

/** Defaults, applied in parseImportPolicy and nowhere else. */
export const ImportPolicyDefaults = {
  expirationModel: ExpirationModel.KEY_MATERIAL_EXPIRES,
  validityPeriodMs: 30 * DAY_MS,
  /** Renew-before defaults to a quarter of the validity period, at most 7 days (30 days → 7 days, 1 hour → 15 minutes). */
  renewBeforeMaxMs: 7 * DAY_MS,
  renewBeforeFraction: 1 / 4,
  restoreAfterLoss: true,
  restoreAfterOutOfBandDelete: false,
  reconcileIntervalMs: 6 * HOUR_MS,
  attributionGraceMs: 15 * MINUTE_MS,
  priority: Priority.Normal,
} as const;

const INPUT_FIELDS = new Set<string>([
  "expirationModel",
  "validityPeriod",
  "validTo",
  "renewBefore",
  "wrappingAlgorithm",
  "wrappingKeySpec",
  "restoreAfterLoss",
  "restoreAfterOutOfBandDelete",
  "reconcileInterval",
  "attributionGrace",
  "rotateEvery",
  "rotationMethod",
  "priority",
]);

/**
 * Validates an import policy and applies its defaults. Whether the wrapping preference suits the key's
 * material is checked separately, with the key spec (chooseWrapping).
 * @throws ValidationError naming the field: unknown fields, wrong types, a validity outside 1 hour..365
 *   days, validityPeriod together with validTo, expiry settings with KEY_MATERIAL_DOES_NOT_EXPIRE, a
 *   renew window not shorter than the validity, a reconcile interval outside 1 minute..24 hours, a
 *   rotation schedule outside 1..3650 days, an attribution grace outside PT0S..PT24H, a priority that is
 *   not one of critical, high, normal, low
 */
export function parseImportPolicy(input: unknown): ImportPolicy {
  const raw = input ?? {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ValidationError("policy", "must be an object");
  }
  const fields = raw as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (!INPUT_FIELDS.has(name)) throw new ValidationError(`policy.${name}`, "is not a policy field");
  }

  const expirationModel = oneOf(fields.expirationModel, ExpirationModel, "expirationModel");
  const wrappingAlgorithm = oneOf(fields.wrappingAlgorithm, WrappingAlgorithm, "wrappingAlgorithm");
  const wrappingKeySpec = oneOf(fields.wrappingKeySpec, WrappingKeySpec, "wrappingKeySpec");
  const restoreAfterLoss = optionalBoolean(fields.restoreAfterLoss, "restoreAfterLoss");
  const restoreAfterOutOfBandDelete = optionalBoolean(
    fields.restoreAfterOutOfBandDelete,
    "restoreAfterOutOfBandDelete",
  );
  const validityPeriodMs = optional(fields.validityPeriod, (v) => parseDuration(v, "validityPeriod"));
  const renewBeforeMs = optional(fields.renewBefore, (v) => parseDuration(v, "renewBefore"));
  const reconcileIntervalMs = optional(fields.reconcileInterval, (v) =>
    parseDuration(v, "reconcileInterval"),
  );
  const attributionGraceMs = optional(fields.attributionGrace, parseAttributionGrace);
  const fixedValidTo = optional(fields.validTo, (v) => parseTimestamp(v, "validTo"));
  const rotateEveryMs = optional(fields.rotateEvery, (v) => parseDuration(v, "rotateEvery"));
  const rotationMethod = oneOf(fields.rotationMethod, RotationMethodByName, "rotationMethod");
  const priority = oneOf(fields.priority, PriorityByName, "priority");

  const common = {
    wrapping: { algorithm: wrappingAlgorithm, keySpec: wrappingKeySpec },
    restoreAfterLoss: restoreAfterLoss ?? ImportPolicyDefaults.restoreAfterLoss,
    restoreAfterOutOfBandDelete:
      restoreAfterOutOfBandDelete ?? ImportPolicyDefaults.restoreAfterOutOfBandDelete,
    reconcileIntervalMs: reconcileIntervalMs ?? ImportPolicyDefaults.reconcileIntervalMs,
    attributionGraceMs: attributionGraceMs ?? ImportPolicyDefaults.attributionGraceMs,
    priority: priority ?? ImportPolicyDefaults.priority,
    ...(rotateEveryMs === undefined ? {} : { rotateEveryMs }),
    ...(rotationMethod === undefined ? {} : { rotationMethod }),
  };
  checkSchedules(rotateEveryMs, common.reconcileIntervalMs);

  if (
    (expirationModel ?? ImportPolicyDefaults.expirationModel) === ExpirationModel.KEY_MATERIAL_DOES_NOT_EXPIRE
  ) {
    for (const [name, value] of [
      ["validityPeriod", validityPeriodMs],
      ["validTo", fixedValidTo],
      ["renewBefore", renewBeforeMs],
    ] as const) {
      if (value !== undefined) {
        throw new ValidationError(
          name,
          "must not be set when expirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE",
        );
      }
    }
    return { expirationModel: ExpirationModel.KEY_MATERIAL_DOES_NOT_EXPIRE, ...common };
  }

  const { validity, renewBeforeDefault } = parseValidity(validityPeriodMs, fixedValidTo);
  const renewBefore = renewBeforeMs ?? renewBeforeDefault;
  checkRenewBefore(renewBefore, validity);
  return {
    expirationModel: ExpirationModel.KEY_MATERIAL_EXPIRES,
    validity,
    renewBeforeMs: renewBefore,
    ...common,
  };
}

/** The rotation schedule and reconcile interval within their limits. */
function checkSchedules(rotateEveryMs: number | undefined, reconcileIntervalMs: number): void {
  const limits = ImportPolicyLimits;
  if (rotateEveryMs !== undefined && rotateEveryMs < limits.minRotateEveryMs) {
    throw new ValidationError(
      "rotateEvery",
      "must be at least P1D (AWS allows 25 on-demand rotations per key, and each adds material to keep alive)",
    );
  }
  if (rotateEveryMs !== undefined && rotateEveryMs > limits.maxRotateEveryMs) {
    throw new ValidationError("rotateEvery", "must be at most P3650D");
  }
  if (reconcileIntervalMs < limits.minReconcileIntervalMs) {
    throw new ValidationError("reconcileInterval", "must be at least PT1M");
  }
  if (reconcileIntervalMs > limits.maxReconcileIntervalMs) {
    throw new ValidationError("reconcileInterval", "must be at most P1D");
  }
}

/** Expiring material's validity (a fixed ValidTo, or a period within limits) and its default renew window. */
function parseValidity(
  validityPeriodMs: number | undefined,
  fixedValidTo: Date | undefined,
): { validity: Validity; renewBeforeDefault: number } {
  const limits = ImportPolicyLimits;
  if (validityPeriodMs !== undefined && fixedValidTo !== undefined) {
    throw new ValidationError("validTo", "give either validityPeriod or validTo, not both");
  }
  let validity: Validity;
  let renewBeforeDefault: number;
  if (fixedValidTo !== undefined) {
    validity = { kind: "fixed", validTo: fixedValidTo };
    renewBeforeDefault = ImportPolicyDefaults.renewBeforeMaxMs;
  } else {
    const periodMs = validityPeriodMs ?? ImportPolicyDefaults.validityPeriodMs;
    if (periodMs < limits.minValidityMs) throw new ValidationError("validityPeriod", "must be at least PT1H");
    if (periodMs > limits.maxValidityMs) {
      throw new ValidationError(
        "validityPeriod",
        "must be at most P365D (the longest ValidTo AWS KMS accepts)",
      );
    }
    validity = { kind: "period", periodMs };
    renewBeforeDefault = Math.min(
      ImportPolicyDefaults.renewBeforeMaxMs,
      Math.floor((periodMs * ImportPolicyDefaults.renewBeforeFraction) / SECOND_MS) * SECOND_MS,
    );
  }
  return { validity, renewBeforeDefault };
}

/** A renew window of at least five minutes and shorter than the validity. */
function checkRenewBefore(renewBefore: number, validity: Validity): void {
  const limits = ImportPolicyLimits;
  if (renewBefore < limits.minRenewBeforeMs)
    throw new ValidationError("renewBefore", "must be at least PT5M");
  const renewLimit = validity.kind === "period" ? validity.periodMs : limits.maxValidityMs;
  if (renewBefore >= renewLimit) {
    throw new ValidationError(
      "renewBefore",
      validity.kind === "period"
        ? `must be shorter than validityPeriod (${formatDuration(renewLimit)})`
        : "must be shorter than P365D",
    );
  }
}

/**
 * The input form of a policy (for storage and API responses); parseImportPolicy(toImportPolicyInput(p))
 * gives back an equal policy.
 */
export function toImportPolicyInput(policy: ImportPolicy): ImportPolicyInput {
  const input: ImportPolicyInput = {
    expirationModel: policy.expirationModel,
    restoreAfterLoss: policy.restoreAfterLoss,
    restoreAfterOutOfBandDelete: policy.restoreAfterOutOfBandDelete,
    reconcileInterval: formatDuration(policy.reconcileIntervalMs),
    attributionGrace: formatDuration(policy.attributionGraceMs),
    priority: policy.priority,
  };
  if (policy.wrapping.algorithm !== undefined) input.wrappingAlgorithm = policy.wrapping.algorithm;
  if (policy.wrapping.keySpec !== undefined) input.wrappingKeySpec = policy.wrapping.keySpec;
  if (policy.rotateEveryMs !== undefined) input.rotateEvery = formatDuration(policy.rotateEveryMs);
  if (policy.rotationMethod !== undefined) input.rotationMethod = policy.rotationMethod;
  if (policy.expirationModel === ExpirationModel.KEY_MATERIAL_EXPIRES) {
    if (policy.validity.kind === "period") input.validityPeriod = formatDuration(policy.validity.periodMs);
    else input.validTo = policy.validity.validTo.toISOString();
    input.renewBefore = formatDuration(policy.renewBeforeMs);
  }
  return input;
}

/**
 * The ValidTo to send with an import made at `now`: undefined for KEY_MATERIAL_DOES_NOT_EXPIRE, else
 * now + period or the fixed ValidTo, never more than 365 days ahead, truncated to whole seconds (the
 * precision DescribeKey reports it with, so later comparisons are exact).
 * @throws ValidationError (`validTo`) when a fixed ValidTo is in the past or less than a minute ahead;
 *   (`validityPeriod`) when the period is outside 1 hour..365 days; (`now`) when now is not a valid time
 */
export function computeValidTo(policy: ImportPolicy, now: Date): Date | undefined {
  const nowMs = now.getTime();
  if (Number.isNaN(nowMs)) throw new ValidationError("now", "is not a valid time");
  if (policy.expirationModel === ExpirationModel.KEY_MATERIAL_DOES_NOT_EXPIRE) return undefined;
  const latest = nowMs + MAX_VALID_TO_MS;
  if (policy.validity.kind === "period") {
    const { periodMs } = policy.validity;
    if (!(periodMs >= ImportPolicyLimits.minValidityMs && periodMs <= ImportPolicyLimits.maxValidityMs)) {
      throw new ValidationError("validityPeriod", "must be between PT1H and P365D");
    }
    return new Date(floorToSecond(Math.min(nowMs + periodMs, latest)));
  }
  const fixedMs = policy.validity.validTo.getTime();
  if (Number.isNaN(fixedMs) || fixedMs < nowMs + ImportPolicyLimits.minValidToLeadMs) {
    throw new ValidationError(
      "validTo",
      `the policy's fixed ValidTo ${describeTime(policy.validity.validTo)} is in the past or less than a minute ahead; change the policy to import again`,
    );
  }
  return new Date(floorToSecond(Math.min(fixedMs, latest)));
}

/**
 * Refuses in-key rotation for a key KMS cannot rotate on demand: only symmetric keys with imported
 * material are; asymmetric and HMAC keys are rotated by a key swap.
 * https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys-import-key-material.html
 * @throws ValidationError (`rotationMethod`) when the policy asks for in-key rotation of a key that is not
 *   SYMMETRIC_DEFAULT
 */
export function checkRotationSchedule(keySpec: string, policy: ImportPolicy): void {
  if (policy.rotationMethod === RotationMethod.InKey && keySpec !== KeySpec.SYMMETRIC_DEFAULT) {
    throw new ValidationError(
      "rotationMethod",
      `only a ${KeySpec.SYMMETRIC_DEFAULT} key is rotated in-key (on demand); ${keySpec} keys are rotated by a key swap`,
    );
  }
}

/** How the key is rotated: its policy's method, else in-key where KMS allows it, else a key swap. */
export function rotationMethodOf(keySpec: string, policy: ImportPolicy): RotationMethod {
  if (policy.rotationMethod !== undefined) return policy.rotationMethod;
  return keySpec === KeySpec.SYMMETRIC_DEFAULT ? RotationMethod.InKey : RotationMethod.KeySwap;
}

/** ValidTo values closer than this are the same (DescribeKey reports whole seconds). */
export const VALID_TO_TOLERANCE_MS = SECOND_MS;

/** Whether two ValidTo values are the same within VALID_TO_TOLERANCE_MS (both absent is the same too). */
export function sameValidTo(a: Date | undefined, b: Date | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Math.abs(a.getTime() - b.getTime()) <= VALID_TO_TOLERANCE_MS;
}

/** How far apart a new import's ValidTo is kept from the one KMS reports already (see distinctValidTo). */
export const DISTINCT_VALID_TO_MS = 2 * SECOND_MS;

/**
 * The ValidTo for an import into a key that already holds material with ValidTo `current`: the policy's,
 * unless that is the same second as `current` — then two seconds earlier (still within the policy: the
 * material goes no later than it says). KMS keeps no import counter, so a ValidTo it did not report before
 * is the only proof that an import took effect; a crash after sending one must be told apart from a crash
 * before (lib/lifecycle/region/reconcile-region.ts, importInFlight).
 */
export function distinctValidTo(validTo: Date | undefined, current: Date | undefined): Date | undefined {
  if (validTo === undefined || current === undefined) return validTo;
  if (Math.abs(validTo.getTime() - current.getTime()) >= DISTINCT_VALID_TO_MS) return validTo;
  return new Date(current.getTime() - DISTINCT_VALID_TO_MS);
}

/** Whether the policy's fixed ValidTo is too close or past, so no import can be made at `now`. */
export function policyEnded(policy: ImportPolicy, now: Date): boolean {
  return (
    policy.expirationModel === ExpirationModel.KEY_MATERIAL_EXPIRES &&
    policy.validity.kind === "fixed" &&
    !(policy.validity.validTo.getTime() >= now.getTime() + ImportPolicyLimits.minValidToLeadMs)
  );
}

function floorToSecond(ms: number): number {
  return Math.floor(ms / SECOND_MS) * SECOND_MS;
}

function describeTime(date: Date): string {
  return Number.isNaN(date.getTime()) ? "(invalid)" : date.toISOString();
}

/** parseDuration refuses zero; the attribution grace allows it. */
const ZERO_DURATIONS = new Set(["PT0S", "PT0M", "PT0H", "P0D"]);

/**
 * `attributionGrace`: an ISO 8601 duration from PT0S (look once, then act) to PT24H.
 * @throws ValidationError (`attributionGrace`) naming the bounds
 */
function parseAttributionGrace(value: unknown): number {
  if (typeof value === "string" && ZERO_DURATIONS.has(value)) return 0;
  const ms = parseDuration(value, "attributionGrace");
  if (ms > ImportPolicyLimits.maxAttributionGraceMs) {
    throw new ValidationError("attributionGrace", "must be at most PT24H");
  }
  return ms;
}

function optional<T>(value: unknown, parse: (value: unknown) => T): T | undefined {
  return value === undefined ? undefined : parse(value);
}

function optionalBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined || typeof value === "boolean") return value;
  throw new ValidationError(field, "must be true or false");
}

function oneOf<T extends Record<string, string>>(
  value: unknown,
  allowed: T,
  field: string,
): T[keyof T] | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string" && Object.hasOwn(allowed, value) && allowed[value] === value) {
    return value as T[keyof T];
  }
  throw new ValidationError(field, `must be one of ${Object.values(allowed).join(", ")}`);
}

/** oneOf's shape for RotationMethod: its values are its names. */
const RotationMethodByName = {
  [RotationMethod.InKey]: RotationMethod.InKey,
  [RotationMethod.KeySwap]: RotationMethod.KeySwap,
} as const;

/** oneOf's shape for Priority: its values are its names. */
const PriorityByName = {
  [Priority.Critical]: Priority.Critical,
  [Priority.High]: Priority.High,
  [Priority.Normal]: Priority.Normal,
  [Priority.Low]: Priority.Low,
} as const;

/** ISO 8601 with a date, a time and an offset (Z or ±hh:mm), so a ValidTo never depends on the server's zone. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

function parseTimestamp(value: unknown, field: string): Date {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return new Date(value.getTime());
  if (typeof value === "string" && TIMESTAMP.test(value)) {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new ValidationError(
    field,
    "must be an ISO 8601 timestamp with a time zone, e.g. 2026-01-31T00:00:00Z",
  );
}
