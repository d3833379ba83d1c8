import {
  type DeleteRecord,
  type LossEvidence,
  NO_EVIDENCE,
  SentinelHealth,
} from "../../domain/attribution.js";
import { decide, type RegionDecision } from "../../domain/decision.js";
import { errorName } from "../../domain/errors.js";
import { KeyState } from "../../domain/kms-constants.js";
import { LossCause, type ManagedKey, type RegionRecord } from "../../domain/managed-key.js";
import type { ObservedKeyState } from "../../domain/observed.js";
import type { LifecycleDeps } from "../ports.js";
import { readSentinelHealth } from "../scheduled/sentinels.js";

/**
 * The decision table with what CloudTrail knows. Decides first without looking; when the answer is that
 * the loss is unexplained (or the attribution grace has just ended with nothing found), it looks in
 * CloudTrail's event history for a delete since the last import and decides again with what it found.
 * Evidence the caller already has (a CloudTrail event delivered by EventBridge) is used as it is.
 * A failed lookup is logged and counts as nothing found (the next visit looks again, until the grace ends).
 * The Region's sentinel health comes from the probe (lib/lifecycle/scheduled/sentinels.ts): an open regional-loss
 * incident makes the loss a regional one, restored at once; read only when material is missing.
 * `importUnconfirmed`: the run just dropped an import intent KMS does not show (attribution.ts).
 */
export async function decideWithEvidence(
  deps: LifecycleDeps,
  key: ManagedKey,
  record: RegionRecord,
  observed: ObservedKeyState,
  now: Date,
  evidence: LossEvidence | undefined,
  importUnconfirmed = false,
): Promise<RegionDecision> {
  const sentinel =
    observed.found && observed.keyState === KeyState.PendingImport
      ? await readSentinelHealth(deps, record.region)
      : SentinelHealth.Unknown;
  const first = decide(key, record, observed, now, { sentinel, evidence, importUnconfirmed });
  if (evidence !== undefined || deps.cloudTrail === undefined || !needsLookup(first, record)) return first;
  const found = await lookUp(deps, record, now);
  return found.kind === "none"
    ? first
    : decide(key, record, observed, now, { sentinel, evidence: found, importUnconfirmed });
}

/** Unexplained: look. A local loss concluded just now (the grace ended): one last look before acting. */
function needsLookup(decision: RegionDecision, record: RegionRecord): boolean {
  if (decision.kind === "attributing") return true;
  if (record.lossCause === LossCause.LocalLoss) return false;
  return (
    (decision.kind === "restore" && decision.cause === LossCause.LocalLoss) ||
    (decision.kind === "alert" && decision.lossCause === LossCause.LocalLoss)
  );
}

async function lookUp(deps: LifecycleDeps, record: RegionRecord, now: Date): Promise<LossEvidence> {
  const cloudTrail = deps.cloudTrail;
  if (cloudTrail === undefined) return NO_EVIDENCE;
  // The delete came after the last import (an earlier one was undone by it). CloudTrail's eventTime has
  // whole seconds, so the window starts at the import's second.
  const from = (record.lastImportedAt ?? record.unexplainedSince ?? now).getTime();
  const since = new Date(Math.floor(from / 1000) * 1000);
  let deletes: DeleteRecord[];
  try {
    deletes = await cloudTrail.materialDeletes(record.region, record.keyArn, since, now);
  } catch (error) {
    deps.log?.("warn", "CloudTrail lookup failed; looking again at the next visit", {
      region: record.region,
      keyArn: record.keyArn,
      error: errorName(error),
    });
    return NO_EVIDENCE;
  }
  return classify(deletes, deps.isTether);
}

/**
 * The newest delete decides: someone else's is an out-of-band delete; Tether's own (a revoke) is Tether's.
 */
export function classify(
  deletes: readonly DeleteRecord[],
  isTether: ((principalArn: string) => boolean) | undefined,
): LossEvidence {
  const newest = [...deletes].sort((a, b) => b.at.getTime() - a.at.getTime())[0];
  if (newest === undefined) return NO_EVIDENCE;
  return isTether?.(newest.principal) === true
    ? { kind: "tether", ...newest }
    : { kind: "out-of-band", ...newest };
}
