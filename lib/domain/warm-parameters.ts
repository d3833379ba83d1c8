import { DAY_MS, MINUTE_MS } from "./duration.js";
import type { WrappingChoice } from "./wrapping.js";

/**
 * Warm import parameters: each managed key-Region keeps one valid set of GetParametersForImport's answer
 * (public key and import token) stored with its Region record, so a restore after a regional loss needs no
 * GetParametersForImport call — the quota (1/s per account and Region) that otherwise sets the time to
 * recover. This is what may be known about a stored set outside the KMS adapter and the store: its
 * ParametersValidTo and the wrapping it was asked for, never the token or the public key.
 */
export interface StoredParametersInfo {
  /** GetParametersForImport's ParametersValidTo (24 hours after the call). */
  readonly validTo: Date;
  /** The algorithm and wrapping key spec the set was asked for: an import must wrap with exactly these. */
  readonly wrapping: WrappingChoice;
}

/** How long one set is valid (GetParametersForImport's ParametersValidTo, 24 hours:
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html). */
export const PARAMETERS_VALIDITY_MS = DAY_MS;

/**
 * A set is used for an import only while it stays valid this long beyond now: the wrap and the call
 * take seconds, and Tether's clock and KMS's may differ a little.
 */
export const PARAMETERS_USE_MARGIN_MS = 10 * MINUTE_MS;

/** Whether a stored set can serve an import with `wrapping` at `at` (same wrapping, valid past the margin). */
export function parametersUsable(
  info: StoredParametersInfo | undefined,
  wrapping: WrappingChoice | undefined,
  at: Date,
): info is StoredParametersInfo {
  if (info === undefined) return false;
  if (info.validTo.getTime() - PARAMETERS_USE_MARGIN_MS <= at.getTime()) return false;
  return wrapping === undefined || sameWrapping(info.wrapping, wrapping);
}

/**
 * Whether a key-Region's set must be renewed now: it would not serve an import at `nextVisitAt`, the next
 * time the sweep looks at the Region (its nextCheckAt) — the last chance to renew it before it goes cold.
 * A set of another wrapping (the policy or the vault changed) counts as none.
 */
export function parametersNeedRenewal(
  info: StoredParametersInfo | undefined,
  wrapping: WrappingChoice,
  nextVisitAt: Date,
): boolean {
  return !parametersUsable(info, wrapping, nextVisitAt);
}

export function sameWrapping(a: WrappingChoice, b: WrappingChoice): boolean {
  return a.wrappingAlgorithm === b.wrappingAlgorithm && a.wrappingKeySpec === b.wrappingKeySpec;
}

/** Warm key-Regions as a share of those counted, in percent (CloudWatch's Percent unit); undefined if none. */
export function warmSharePercent(warm: number, total: number): number | undefined {
  if (!(total > 0)) return undefined;
  return Math.round((Math.min(warm, total) / total) * 1000) / 10;
}
