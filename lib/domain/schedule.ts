import { MINUTE_MS } from "./duration.js";
import type { ImportPolicy } from "./import-policy.js";
import { ExpirationModel } from "./kms-constants.js";

/** Re-check a key that KMS reports as Creating or Updating this soon (capped by the reconcile interval). */
export const TRANSIENT_RECHECK_MS = 5 * MINUTE_MS;
/** First retry after a failure; doubles per consecutive failure up to RETRY_MAX_MS. */
export const RETRY_BASE_MS = MINUTE_MS;
export const RETRY_MAX_MS = 30 * MINUTE_MS;

/**
 * When to look at a region next, given the ValidTo KMS reports (or Tether recorded): the start of the
 * renew window if it is still ahead, else the expiry itself if still ahead (to notice it), but never later
 * than the reconcile interval. Always after `now` for a valid policy.
 */
export function nextCheckAt(policy: ImportPolicy, validTo: Date | undefined, now: Date): Date {
  const nowMs = now.getTime();
  const reconcileAt = nowMs + policy.reconcileIntervalMs;
  if (policy.expirationModel === ExpirationModel.KEY_MATERIAL_EXPIRES && validTo !== undefined) {
    const validToMs = validTo.getTime();
    const renewAt = validToMs - policy.renewBeforeMs;
    if (renewAt > nowMs) return new Date(Math.min(renewAt, reconcileAt));
    if (validToMs > nowMs) return new Date(Math.min(validToMs, reconcileAt));
  }
  return new Date(reconcileAt);
}

/** When to try again after `consecutiveFailures` failures in a row (1 → 1 minute, 2 → 2, … at most 30). */
export function retryAt(consecutiveFailures: number, policy: ImportPolicy, now: Date): Date {
  const exponent = Math.max(0, Math.min(consecutiveFailures - 1, 16));
  const delay = Math.min(RETRY_BASE_MS * 2 ** exponent, RETRY_MAX_MS, policy.reconcileIntervalMs);
  return new Date(now.getTime() + delay);
}

/** When to look again at a key that is Creating or Updating. */
export function transientRecheckAt(policy: ImportPolicy, now: Date): Date {
  return new Date(now.getTime() + Math.min(TRANSIENT_RECHECK_MS, policy.reconcileIntervalMs));
}
