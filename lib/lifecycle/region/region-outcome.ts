/** What a region run is asked to do (its trigger) and what it did (its outcome): lib/lifecycle/region/reconcile-region.ts. */
import type { LossEvidence } from "../../domain/attribution.js";
import type { RegionDecision } from "../../domain/decision.js";
import type { LossCause } from "../../domain/managed-key.js";
import type { OperatorRequest } from "../../domain/region-rules.js";

/** Who asked and why: every audit event of the run carries it. */
export interface Trigger {
  readonly actor: string;
  readonly correlationId: string;
  /** An operator's explicit request: import now even if nothing is due ("reimport"), or restore material
   *  that policy would not restore automatically ("restore"). Absent for the sweep and KMS events. */
  readonly operator?: OperatorRequest | undefined;
  /** A loss an event told us about (expiry, out-of-band deletion), recorded before deciding. */
  readonly knownLoss?: LossCause | undefined;
  /** When the event says the expiry happened: a late one older than the last import is not recorded. */
  readonly knownLossAt?: Date | undefined;
  /** Who removed the material, from a CloudTrail event the trigger carries. */
  readonly evidence?: LossEvidence | undefined;
}

/** What happened in one region, for the sweep's report and the API's answer. */
export type RegionOutcome = (
  | { readonly kind: "busy" }
  | { readonly kind: "gone" }
  | { readonly kind: "lease-lost" }
  | { readonly kind: "failed"; readonly errorName: string }
  | { readonly kind: RegionDecision["kind"] | "imported" | "renewed" | "restored" | "revoked" }
) & {
  /**
   * Set on a healthy visit of the primary of an active key whose scheduled rotation is due: the sweep
   * then rotates it (lib/domain/rotation-schedule.ts).
   */
  readonly rotationDue?: boolean;
};
