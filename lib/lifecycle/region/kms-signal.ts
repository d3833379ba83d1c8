import type { LossEvidence } from "../../domain/attribution.js";
import { TetherError } from "../../domain/errors.js";
import { parseAwsRegion } from "../../domain/ids.js";
import { LossCause } from "../../domain/managed-key.js";
import type { KmsSignal, LifecycleDeps } from "../ports.js";
import { type RegionOutcome, reconcileWhenFree } from "./reconcile-region.js";

export const KMS_EVENTS_ACTOR = "tether:kms-events";

export interface SignalOptions {
  readonly correlationId: string;
  /** Whether a principal ARN is Tether itself (its own DeleteImportedKeyMaterial on revoke, its imports). */
  readonly isTether: (principalArn: string) => boolean;
}

export type SignalOutcome =
  | { readonly kind: "unmanaged" }
  | { readonly kind: "own-call" }
  | { readonly kind: "region-unmanaged" }
  | { readonly kind: "handled"; readonly outcome: RegionOutcome };

/**
 * Acts on a KMS event at once, in the Region it concerns: an expiry is restored in the same invocation
 * where policy allows; a deletion by someone other than Tether is drift (alert; restore only if policy
 * says so); other changes make Tether look at the key now. The decision table decides in every case —
 * the event only tells it why material is gone.
 */
export async function handleKmsSignal(
  deps: LifecycleDeps,
  signal: KmsSignal,
  options: SignalOptions,
): Promise<SignalOutcome> {
  const keyId = await deps.keys.resolve(signal.keyArn);
  if (keyId === undefined) return { kind: "unmanaged" };
  const key = await deps.keys.get(keyId);
  const region = parseAwsRegion(signal.region);
  if (key === undefined || !key.regions.some((r) => r.region === region)) return { kind: "region-unmanaged" };

  let knownLoss: LossCause | undefined;
  let knownLossAt: Date | undefined;
  let evidence: LossEvidence | undefined;
  switch (signal.kind) {
    case "material-expired":
      // Read as an expiry unless it is older than the Region's last import (a late event about earlier
      // material: attribution.ts staleExpiryEvent), checked under the Region's lease.
      knownLoss = LossCause.Expired;
      knownLossAt = signal.at;
      break;
    case "material-deleted":
      if (options.isTether(signal.actorArn)) return { kind: "own-call" };
      knownLoss = LossCause.DeletedOutOfBand;
      // The CloudTrail record itself: it settles an unexplained loss as the lookup would.
      evidence = {
        kind: "out-of-band",
        eventName: "DeleteImportedKeyMaterial",
        principal: signal.actorArn,
        at: signal.at ?? deps.clock(),
        sourceIp: signal.sourceIp,
      };
      break;
    case "material-imported":
      if (options.isTether(signal.actorArn)) return { kind: "own-call" };
      break;
    case "key-changed":
      break;
  }
  const outcome = await reconcileWhenFree(deps, keyId, region, {
    actor: KMS_EVENTS_ACTOR,
    correlationId: options.correlationId,
    knownLoss,
    knownLossAt,
    evidence,
  });
  // Still held by another worker: fail the invocation so EventBridge delivers the event again, rather
  // than lose what it says (why the material is gone decides whether to restore).
  if (outcome.kind === "busy") throw new RegionBusyError(keyId, region);
  return { kind: "handled", outcome };
}

/** The region stayed leased by another worker; the event is to be delivered again. */
export class RegionBusyError extends TetherError {
  constructor(keyId: string, region: string) {
    super(`Key ${keyId} in ${region} is busy with another worker; retry the event.`);
    this.name = "RegionBusyError";
  }
}
