import { SentinelHealth } from "../../domain/attribution.js";
import { AuditDetailType, buildAlertEvent, buildFactEvent } from "../../domain/audit-types.js";
import { errorName } from "../../domain/errors.js";
import type { AwsRegion } from "../../domain/ids.js";
import { ExpirationModel, KeySpec, KeyState, KeyUsage } from "../../domain/kms-constants.js";
import { KeyStatusState } from "../../domain/managed-key.js";
import {
  blindnessAlert,
  type IncidentKeyState,
  incidentAlert,
  probeVerdict,
  type RegionalIncident,
  recoveryProgress,
  restoresAfter,
  type SentinelRecord,
  sentinelAlias,
  sentinelBlind,
  sentinelHealth,
  sentinelMaterialName,
  sentinelSubject,
  sentinelTags,
} from "../../domain/sentinel.js";
import { chooseWrapping } from "../../domain/wrapping.js";
import type { LifecycleDeps, SentinelRepository } from "../ports.js";

/** A claim on a Region's sentinel creation older than this was left by a run that died (a Lambda's 15 min). */
const STALE_CLAIM_MS = 15 * 60 * 1000;

export const PROBE_ACTOR = "tether:probe";

/** What the sentinels and open incidents were at one instant. */
export interface SentinelSnapshot {
  readonly sentinels: readonly SentinelRecord[];
  readonly incidents: readonly RegionalIncident[];
}

/** The attribution rules' view of one Region, from a snapshot. */
export function healthIn(snapshot: SentinelSnapshot, region: AwsRegion): SentinelHealth {
  return sentinelHealth(
    snapshot.sentinels.find((s) => s.region === region),
    snapshot.incidents.find((i) => i.region === region),
  );
}

/** Reads the Region's sentinel health now (one Query); unknown without sentinels or on a read failure. */
export async function readSentinelHealth(deps: LifecycleDeps, region: AwsRegion): Promise<SentinelHealth> {
  if (deps.sentinelHealth !== undefined) return deps.sentinelHealth(region);
  if (deps.sentinels === undefined) return SentinelHealth.Unknown;
  try {
    return healthIn(await deps.sentinels.list(), region);
  } catch (error) {
    deps.log?.("warn", "sentinel read failed; sentinel health unknown", {
      region,
      error: errorName(error),
    });
    return SentinelHealth.Unknown;
  }
}

/**
 * Makes sure every Region of deps.sentinelRegions has its sentinel. Cheap when they exist: one Query, no
 * KMS call. Crash-safe: a Region is claimed in the table first (a conditional put, so two runs never both
 * create), the material is generated once under the deployment's own reference (reused when a run died
 * after generating it), the key is found again by its alias when a run died after creating it, and the
 * record says ready only once the key holds its material. A Region that fails is logged and tried again by
 * the next run; the others go on.
 */
export async function ensureSentinels(deps: LifecycleDeps): Promise<SentinelSnapshot> {
  const repo = deps.sentinels;
  if (repo === undefined) return { sentinels: [], incidents: [] };
  const snapshot = await repo.list();
  const regions = deps.sentinelRegions ?? [];
  const missing = regions.filter(
    (r) => !snapshot.sentinels.some((s) => s.region === r && s.state === "ready"),
  );
  if (missing.length === 0) return snapshot;
  const created: SentinelRecord[] = [];
  for (const region of missing) {
    try {
      const record = await createSentinel(deps, repo, region);
      if (record !== undefined) created.push(record);
    } catch (error) {
      deps.log?.("error", "sentinel creation failed; the next run tries again", {
        region,
        error: errorName(error),
      });
    }
  }
  return {
    sentinels: [...snapshot.sentinels.filter((s) => !created.some((c) => c.region === s.region)), ...created],
    incidents: snapshot.incidents,
  };
}

async function createSentinel(
  deps: LifecycleDeps,
  repo: SentinelRepository,
  region: AwsRegion,
): Promise<SentinelRecord | undefined> {
  const now = deps.clock();
  const name = sentinelMaterialName(region);
  const materialRef = deps.vault.ownedRef?.(name) ?? name;
  const claim: SentinelRecord = { region, materialRef, state: "creating", createdAt: now };
  if (!(await repo.claim(claim, new Date(now.getTime() - STALE_CLAIM_MS)))) return undefined;
  if (!(await deps.vault.has(materialRef))) await deps.vault.generate(materialRef, KeySpec.SYMMETRIC_DEFAULT);
  const alias = sentinelAlias(deps.aliasPrefix);
  let keyArn = await deps.kms.aliasTarget(region, alias);
  if (keyArn === undefined) {
    const created = await deps.kms.createKey({
      region,
      keySpec: KeySpec.SYMMETRIC_DEFAULT,
      keyUsage: KeyUsage.ENCRYPT_DECRYPT,
      multiRegion: false,
      description: `Tether sentinel (${deps.deployment}): proves a region-wide loss of imported material; never use it`,
      tags: sentinelTags(deps.deployment),
    });
    await deps.kms.createAlias(region, alias, created.keyArn);
    keyArn = created.keyArn;
  }
  await importSentinel(deps, region, keyArn, materialRef);
  const ready: SentinelRecord = {
    region,
    keyArn,
    materialRef,
    state: "ready",
    createdAt: now,
    lastProbeState: KeyState.Enabled,
    lastProbeAt: deps.clock(),
    lastIntactAt: deps.clock(),
  };
  await repo.save(ready);
  deps.log?.("info", "sentinel created", { region, keyArn });
  return ready;
}

async function importSentinel(
  deps: LifecycleDeps,
  region: AwsRegion,
  keyArn: string,
  materialRef: string,
): Promise<void> {
  await deps.kms.importMaterial({
    region,
    keyId: keyArn,
    materialRef,
    wrapping: chooseWrapping(
      KeySpec.SYMMETRIC_DEFAULT,
      {},
      await deps.vault.supportedWrappings?.(KeySpec.SYMMETRIC_DEFAULT),
    ),
    expirationModel: ExpirationModel.KEY_MATERIAL_DOES_NOT_EXPIRE,
    keySpec: KeySpec.SYMMETRIC_DEFAULT,
  });
}

export interface ProbeReport {
  readonly probed: number;
  readonly opened: string[];
  readonly failed: number;
  /** Regions whose sentinel is deleted, disabled or pending deletion: regional-loss detection is blind. */
  readonly blind: string[];
}

/**
 * The one-minute probe: DescribeKey on each ready sentinel. One found in PendingImport opens a regional-loss
 * incident for its Region (a conditional put, so concurrent probes open one), raises one `Regional Loss
 * Detected` alert, and makes every managed key-Region there due now (before the alert, which starts the
 * drain: lib/domain/drain.ts), so they are restored at once with no attribution grace (the sentinel lost
 * too proves the Region lost its material).
 */
export async function probeSentinels(
  deps: Pick<LifecycleDeps, "kms" | "audit" | "clock" | "sentinels" | "log">,
  correlationId: string,
): Promise<ProbeReport> {
  const repo = deps.sentinels;
  if (repo === undefined) return { probed: 0, opened: [], failed: 0, blind: [] };
  const { sentinels, incidents } = await repo.list();
  const opened: string[] = [];
  const blind: string[] = [];
  let probed = 0;
  let failed = 0;
  for (const sentinel of sentinels) {
    if (sentinel.state !== "ready" || sentinel.keyArn === undefined) continue;
    let state: string;
    try {
      const observed = await deps.kms.describeKey(sentinel.region, sentinel.keyArn);
      state = observed.found ? observed.keyState : "NotFound";
    } catch (error) {
      failed++;
      deps.log?.("warn", "sentinel probe failed", {
        region: sentinel.region,
        error: errorName(error),
      });
      continue;
    }
    probed++;
    const now = deps.clock();
    const open = incidents.find((i) => i.region === sentinel.region);
    if (probeVerdict(sentinel, state, open) === "open") {
      if (await openIncident(deps, repo, sentinel, now, correlationId)) opened.push(sentinel.region);
    }
    if (sentinelBlind(state)) blind.push(sentinel.region);
    const alert = blindnessAlert(sentinel, state);
    if (alert !== undefined) {
      // Once per state entered: the record's lastProbeState (written next) says the last probe saw it. The
      // id names the previous probe, so a probe that dies before recordProbe and runs again records it once.
      const previous = sentinel.lastProbeAt ?? sentinel.createdAt;
      await deps.audit.record(
        buildAlertEvent(
          AuditDetailType.TetherAlert,
          {
            id: `sentinel:${sentinel.region}:${state}:${previous.toISOString()}`,
            time: now,
            actor: PROBE_ACTOR,
            correlationId,
          },
          { keyId: sentinelSubject(sentinel.region), keyArn: sentinel.keyArn, region: sentinel.region },
          alert,
        ),
      );
      deps.log?.("error", "sentinel unusable: regional-loss detection blind", {
        region: sentinel.region,
        state,
      });
    }
    await repo.recordProbe(sentinel.region, state, now);
  }
  return { probed, opened, failed, blind };
}

async function openIncident(
  deps: Pick<LifecycleDeps, "audit" | "log">,
  repo: SentinelRepository,
  sentinel: SentinelRecord,
  now: Date,
  correlationId: string,
): Promise<boolean> {
  const keys = await repo.keysIn(sentinel.region);
  const incident: RegionalIncident = {
    region: sentinel.region,
    sentinelArn: sentinel.keyArn ?? "",
    openedAt: now,
    intactAt: sentinel.lastIntactAt,
    keysMadeDue: keys.length,
  };
  if (!(await repo.openIncident(incident))) return false;
  // Every key due before the alert: the alert starts the drain (a sweep run, lib/domain/drain.ts), which must
  // find the whole Region due, not the part made due before it started.
  for (const keyId of keys) await repo.makeDue(keyId, sentinel.region, now);
  // The alert's id is the incident's: a probe that dies after the put and is run again records it once.
  await deps.audit.record(
    buildAlertEvent(
      AuditDetailType.TetherAlert,
      {
        id: `incident:${sentinel.region}:${now.toISOString()}`,
        time: now,
        actor: PROBE_ACTOR,
        correlationId,
      },
      { keyId: sentinelSubject(sentinel.region), keyArn: sentinel.keyArn, region: sentinel.region },
      incidentAlert(incident),
    ),
  );
  deps.log?.("error", "regional loss detected", { region: sentinel.region, keys: keys.length });
  return true;
}

/**
 * After a sweep's restores: each open incident whose Region has no managed key Tether will still restore
 * gets its sentinel re-imported (last, so the probe does not see the Region intact before its keys are),
 * then closes with one `Regional Loss Recovered` event (counts and durations) and a closed record kept.
 * Returns the Regions closed.
 */
export async function recoverIncidents(
  deps: LifecycleDeps,
  snapshot: SentinelSnapshot,
  correlationId: string,
  actor: string,
): Promise<string[]> {
  const repo = deps.sentinels;
  if (repo === undefined) return [];
  const closed: string[] = [];
  for (const incident of snapshot.incidents) {
    try {
      if (await recoverOne(deps, repo, snapshot, incident, correlationId, actor))
        closed.push(incident.region);
    } catch (error) {
      deps.log?.("error", "incident recovery failed; the next sweep tries again", {
        region: incident.region,
        error: errorName(error),
      });
    }
  }
  return closed;
}

async function recoverOne(
  deps: LifecycleDeps,
  repo: SentinelRepository,
  snapshot: SentinelSnapshot,
  incident: RegionalIncident,
  correlationId: string,
  actor: string,
): Promise<boolean> {
  const ids = await repo.keysIn(incident.region);
  const states: IncidentKeyState[] = [];
  for (const id of ids) {
    const key = await deps.keys.get(id);
    const record = key?.regions.find((r) => r.region === incident.region);
    if (key === undefined || record === undefined) continue;
    states.push({
      active: key.status.state === KeyStatusState.Active,
      materialExpected: record.materialExpected,
      lastImportedAt: record.lastImportedAt,
      visitedSinceOpen:
        record.lastObservedAt !== undefined && record.lastObservedAt.getTime() >= incident.openedAt.getTime(),
      restores: restoresAfter(record.lossCause, key.policy),
      presentAtVisit: record.lastObservedKeyState === KeyState.Enabled,
    });
  }
  const progress = recoveryProgress(incident.openedAt, states);
  if (progress.pending > 0) return false;
  const sentinel = snapshot.sentinels.find((s) => s.region === incident.region);
  if (sentinel?.keyArn !== undefined) {
    const observed = await deps.kms.describeKey(incident.region, sentinel.keyArn);
    if (observed.found && observed.keyState === KeyState.PendingImport) {
      await importSentinel(deps, incident.region, sentinel.keyArn, sentinel.materialRef);
    }
  }
  const now = deps.clock();
  const done: RegionalIncident = {
    ...incident,
    closedAt: now,
    keysRestored: progress.restored,
    keysNotRestored: progress.notRestored,
    lastRestoredAt: progress.lastRestoredAt,
  };
  await deps.audit.record(
    buildFactEvent(
      AuditDetailType.RegionalLossRecovered,
      {
        id: `incident:${incident.region}:${incident.openedAt.toISOString()}:recovered`,
        time: now,
        actor,
        correlationId,
      },
      {
        keyId: sentinelSubject(incident.region),
        keyArn: incident.sentinelArn,
        region: incident.region,
        reason: `Regional Loss Recovered in ${incident.region}: ${progress.restored} key-Region(s) restored, ${progress.notRestored} not restored; the sentinel re-imported`,
        incident: {
          keysRestored: progress.restored,
          keysNotRestored: progress.notRestored,
          detectionMs:
            incident.intactAt === undefined
              ? undefined
              : Math.max(0, incident.openedAt.getTime() - incident.intactAt.getTime()),
          recoveryMs:
            progress.lastRestoredAt === undefined
              ? undefined
              : Math.max(0, progress.lastRestoredAt.getTime() - incident.openedAt.getTime()),
        },
      },
    ),
  );
  await repo.closeIncident(done);
  await repo.recordProbe(incident.region, KeyState.Enabled, deps.clock());
  deps.log?.("info", "regional loss recovered", { region: incident.region, ...progress });
  return true;
}

/** The sentinels and open incidents as the last probe left them (no KMS call); empty without sentinels. */
export async function listSentinels(deps: Pick<LifecycleDeps, "sentinels">): Promise<SentinelSnapshot> {
  return deps.sentinels === undefined ? { sentinels: [], incidents: [] } : deps.sentinels.list();
}
