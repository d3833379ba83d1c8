import { type AlertFinding, AlertReason, AlertSeverity } from "./alerts.js";
import { SentinelHealth } from "./attribution.js";
import { MANAGED_BY_TAG_KEY } from "./deployment.js";
import type { AwsRegion } from "./ids.js";
import type { ImportPolicy } from "./import-policy.js";
import { KeyState } from "./kms-constants.js";
import { LossCause } from "./managed-key.js";

/**
 * Sentinel keys: the proof of a region-wide loss. In each Region of TETHER_REGIONS Tether keeps one EXTERNAL
 * SYMMETRIC_DEFAULT key of its own whose material never expires and which Tether never revokes. If that key
 * is found in PendingImport, nothing Tether did explains it and no operator touches it: the Region lost
 * imported material wholesale, and every managed key there is restored at once instead of waiting out the
 * attribution grace (lib/domain/attribution.ts, "the Region's sentinel lost its material too").
 * Pure: no clock, no I/O.
 */

/** The tag that marks a sentinel (beside the deployment's `tether:managed-by`); the probe's IAM needs both. */
export const SENTINEL_TAG_KEY = "tether:sentinel";
export const SENTINEL_TAG_VALUE = "true";

/** The subject of a sentinel's audit events (not a Tether key id: they go to a SYSTEM# partition). */
export const sentinelSubject = (region: string): string => `sentinel/${region}`;

/** `alias/<prefix>sentinel`: inside the deployment's alias prefix, the same name in every Region. */
export const sentinelAlias = (aliasPrefix: string | undefined): string =>
  `alias/${aliasPrefix ?? ""}sentinel`;

/** The material reference's name before the vault's own prefix (a PKCS#11 label prefix) is put on it. */
export const sentinelMaterialName = (region: string): string => `tether-sentinel/${region}`;

/** The tags a sentinel is created with. */
export function sentinelTags(deployment: string): Record<string, string> {
  return { [MANAGED_BY_TAG_KEY]: deployment, [SENTINEL_TAG_KEY]: SENTINEL_TAG_VALUE };
}

/** Tether's record of one Region's sentinel. */
export interface SentinelRecord {
  readonly region: AwsRegion;
  /** Absent while it is being created (a claim taken, the key not yet recorded). */
  readonly keyArn?: string | undefined;
  readonly materialRef: string;
  /** creating: a run claimed the Region and is making the key; ready: the key holds its material. */
  readonly state: "creating" | "ready";
  readonly createdAt: Date;
  /** The KeyState the last probe read, and when. */
  readonly lastProbeState?: string | undefined;
  readonly lastProbeAt?: Date | undefined;
  /** When the last probe saw it Enabled (the latest instant the Region is known to have been intact). */
  readonly lastIntactAt?: Date | undefined;
}

/** A regional-loss incident, open from the probe that found the sentinel lost until every key is back. */
export interface RegionalIncident {
  readonly region: AwsRegion;
  readonly sentinelArn: string;
  /** When the probe found the sentinel in PendingImport. */
  readonly openedAt: Date;
  /** The last probe that saw the sentinel intact before: the loss happened after it. */
  readonly intactAt?: Date | undefined;
  /** Managed key-Regions in the Region made due when it opened. */
  readonly keysMadeDue: number;
  readonly closedAt?: Date | undefined;
  readonly keysRestored?: number | undefined;
  readonly keysNotRestored?: number | undefined;
  /** When the last key of the Region was restored (its import time). */
  readonly lastRestoredAt?: Date | undefined;
}

/**
 * The sentinel's health as the attribution rules take it: an open incident → lost; the last probe saw it
 * Enabled → intact; otherwise (no sentinel, not probed yet, another state) → unknown, never lost.
 */
export function sentinelHealth(
  sentinel: SentinelRecord | undefined,
  incident: RegionalIncident | undefined,
): SentinelHealth {
  if (incident !== undefined && incident.closedAt === undefined) return SentinelHealth.Lost;
  if (sentinel?.state === "ready" && sentinel.lastProbeState === KeyState.Enabled)
    return SentinelHealth.Intact;
  return SentinelHealth.Unknown;
}

/**
 * What a probe reading means: `open` when a ready sentinel is found in PendingImport and no incident is open
 * (Tether never deletes a sentinel's material, and it never expires, so nothing of Tether's explains it).
 */
export function probeVerdict(
  sentinel: SentinelRecord,
  observedState: string | undefined,
  openIncident: RegionalIncident | undefined,
): "open" | "none" {
  if (sentinel.state !== "ready" || openIncident !== undefined) return "none";
  return observedState === KeyState.PendingImport ? "open" : "none";
}

/**
 * Sentinel states in which the probe cannot see a region-wide loss: the key is gone, disabled (its material
 * state cannot be read as a loss) or scheduled for deletion. "NotFound" is the probe's word for a key
 * DescribeKey no longer finds.
 */
const BLIND_STATES: Readonly<Record<string, string>> = {
  NotFound: "the sentinel key no longer exists",
  [KeyState.Disabled]: "the sentinel key is disabled",
  [KeyState.PendingDeletion]: "the sentinel key is scheduled for deletion",
};

/** Whether the probe is blind to a regional loss with the sentinel in this state. */
export function sentinelBlind(state: string | undefined): boolean {
  return state !== undefined && Object.hasOwn(BLIND_STATES, state);
}

/**
 * The probe's alert for a sentinel it cannot use: raised when the sentinel enters a blind state (the last
 * probe read another state), not at every probe.
 */
export function blindnessAlert(sentinel: SentinelRecord, observedState: string): AlertFinding | undefined {
  if (sentinel.state !== "ready" || !sentinelBlind(observedState)) return undefined;
  if (sentinel.lastProbeState === observedState) return undefined;
  return {
    severity: AlertSeverity.Critical,
    reason: AlertReason.SentinelUnavailable,
    summary: `Regional-loss detection is blind in ${sentinel.region}: ${BLIND_STATES[observedState]} (${observedState}); a region-wide loss there is found only at each key's next reconcile until the sentinel is back (enable it, or cancel its deletion)`,
  };
}

/** The one alert of an incident. */
export function incidentAlert(incident: RegionalIncident): AlertFinding {
  return {
    severity: AlertSeverity.Critical,
    reason: AlertReason.RegionalLossDetected,
    summary: `Regional Loss Detected in ${incident.region}: the sentinel key lost its imported material (found ${incident.openedAt.toISOString()}${incident.intactAt === undefined ? "" : `, intact at ${incident.intactAt.toISOString()}`}); restoring ${incident.keysMadeDue} managed key-Region(s) there now`,
  };
}

/** One managed key-Region of an incident's Region, as the recovery check sees it. */
export interface IncidentKeyState {
  /** The key is active (paused and revoked keys are not restored by anyone). */
  readonly active: boolean;
  readonly materialExpected: boolean;
  readonly lastImportedAt?: Date | undefined;
  /** The sweep looked at it (observed KMS) since the incident opened. */
  readonly visitedSinceOpen: boolean;
  /** Tether will restore it after this loss (restoresAfter: the policy for its recorded cause). */
  readonly restores: boolean;
  /**
   * KMS showed material (Enabled) at the last visit, which was since the incident opened: nothing is left
   * to restore there, whatever the record says. The record can still say "lost" (materialExpected false):
   * a KMS event recorded the loss and the run that recorded it failed before it looked at KMS (seed
   * 1981782715: a stale CloudTrail delete record, then a crash at DescribeKey).
   */
  readonly presentAtVisit?: boolean | undefined;
}

/**
 * Whether Tether restores a key-Region after a loss with this recorded cause: never after its own revoke
 * (only an operator's restore), after an out-of-band delete only if restoreAfterOutOfBandDelete (a key
 * deleted out of band before the incident and kept gone by policy must not hold the incident open), else
 * if restoreAfterLoss.
 */
export function restoresAfter(
  lossCause: LossCause | undefined,
  policy: Pick<ImportPolicy, "restoreAfterLoss" | "restoreAfterOutOfBandDelete">,
): boolean {
  if (lossCause === LossCause.RevokedByTether) return false;
  if (lossCause === LossCause.DeletedOutOfBand) return policy.restoreAfterOutOfBandDelete;
  return policy.restoreAfterLoss;
}

export interface RecoveryProgress {
  /** Keys Tether will still restore: the incident stays open. */
  readonly pending: number;
  readonly restored: number;
  readonly notRestored: number;
  readonly lastRestoredAt?: Date | undefined;
}

/**
 * How far an incident's recovery is. A key-Region is restored when it was imported since the incident
 * opened; pending while Tether will still restore it (active, restoring policy, material not back, or not
 * looked at yet); otherwise not restored (paused, revoked, or a policy that does not restore after a loss).
 */
export function recoveryProgress(openedAt: Date, keys: readonly IncidentKeyState[]): RecoveryProgress {
  let pending = 0;
  let restored = 0;
  let notRestored = 0;
  let last: number | undefined;
  for (const key of keys) {
    const imported = key.lastImportedAt?.getTime();
    const present = key.materialExpected || (key.visitedSinceOpen && key.presentAtVisit === true);
    if (present && imported !== undefined && imported >= openedAt.getTime()) {
      restored++;
      last = Math.max(last ?? imported, imported);
    } else if (key.active && (!key.visitedSinceOpen || (key.restores && !present))) {
      pending++;
    } else if (present && key.visitedSinceOpen) {
      // Looked at since, material present and not re-imported: it was not lost (imported after the loss).
      restored++;
    } else {
      notRestored++;
    }
  }
  return {
    pending,
    restored,
    notRestored,
    ...(last === undefined ? {} : { lastRestoredAt: new Date(last) }),
  };
}
