import type { LossEvidence } from "../../domain/attribution.js";
import { TetherError } from "../../domain/errors.js";
import { parseAwsRegion } from "../../domain/ids.js";
import { accountOfKeyId } from "../../domain/key-arn.js";
import { LossCause } from "../../domain/managed-key.js";
import { isMemberSession, type MemberAccount } from "../../domain/member-account.js";
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
  /** From an account that is neither the deployment's nor a registered member's: ignored (logged). */
  | { readonly kind: "account-unregistered"; readonly account: string }
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
  // The account the event came from: the key ARN the parser read names it (the event's resources, or the
  // envelope's `account` with the key id). Managed keys are found by that whole ARN, so a key id that
  // repeats in two accounts is never taken for the other account's key.
  const account = accountOfKeyId(signal.keyArn);
  const standing = await accountStanding(deps, account);
  if (standing.kind === "unregistered" && account !== undefined) {
    return { kind: "account-unregistered", account };
  }
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
      if (isOwnCall(signal.actorArn, standing, options)) return { kind: "own-call" };
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
      if (isOwnCall(signal.actorArn, standing, options)) return { kind: "own-call" };
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

type AccountStanding =
  | { readonly kind: "deployment" }
  | { readonly kind: "member"; readonly member: MemberAccount }
  | { readonly kind: "unregistered" };

/**
 * Whose account this is: the deployment's (also when the deployment's account is not known here, as before
 * member accounts), a registered member's, or neither.
 */
async function accountStanding(deps: LifecycleDeps, account: string | undefined): Promise<AccountStanding> {
  if (account === undefined || deps.deploymentAccount === undefined) return { kind: "deployment" };
  if (account === (await deps.deploymentAccount())) return { kind: "deployment" };
  const member = await deps.accounts?.get(account);
  return member === undefined ? { kind: "unregistered" } : { kind: "member", member };
}

/** Tether's own call: one of its roles in the deployment's account, or its member role's session in a member. */
function isOwnCall(actorArn: string, standing: AccountStanding, options: SignalOptions): boolean {
  if (options.isTether(actorArn)) return true;
  return standing.kind === "member" && isMemberSession(actorArn, standing.member);
}

/** The region stayed leased by another worker; the event is to be delivered again. */
export class RegionBusyError extends TetherError {
  constructor(keyId: string, region: string) {
    super(`Key ${keyId} in ${region} is busy with another worker; retry the event.`);
    this.name = "RegionBusyError";
  }
}
