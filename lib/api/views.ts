/**
 * Domain objects → the JSON the API answers with (lib/api/schemas.ts). Dates become ISO 8601 strings;
 * absent optional fields are left out rather than sent as null. Lease owners and in-flight import details
 * stay internal.
 */
import { type Approval, countedApprovers, type OperationRequest } from "../domain/approvals.js";
import type { AuditEvent } from "../domain/audit-types.js";
import { toImportPolicyInput } from "../domain/import-policy.js";
import type { KeyMaterialInfo } from "../domain/key-material.js";
import type { ManagedKey, RegionRecord } from "../domain/managed-key.js";
import type { MemberAccount } from "../domain/member-account.js";
import type { ObservedKeyState } from "../domain/observed.js";
import { type RegionalIncident, type SentinelRecord, sentinelBlind } from "../domain/sentinel.js";
import type { RegionOutcome } from "../lifecycle/region/reconcile-region.js";
import { keyArnOf } from "../lifecycle/use-cases/key-admin.js";
import type { KeyInsight, PlannedAction } from "../lifecycle/use-cases/queries.js";
import type {
  AuditEventView,
  KeyDetailResponse,
  KeyMaterialView,
  KeyView,
  RegionView,
  SentinelsResponse,
} from "./schemas.js";

export function keyView(key: ManagedKey): KeyView {
  const status = key.status;
  return compact({
    id: key.id,
    kmsKeyId: key.kmsKeyId,
    keyArn: keyArnOf(key),
    account: key.account,
    primaryRegion: key.primaryRegion,
    keySpec: key.keySpec,
    multiRegion: key.multiRegion,
    alias: key.alias,
    description: key.description,
    vault: key.vaultKind,
    materialRef: key.materialRef,
    checkValue: key.checkValue,
    materials: key.materials?.map((m) =>
      compact({
        materialRef: m.materialRef,
        checkValue: m.checkValue,
        keyMaterialId: m.keyMaterialId,
        rotatedAt: isoOrUndefined(m.rotatedAt),
      }),
    ),
    pendingRotation:
      key.pendingRotation === undefined
        ? undefined
        : compact({
            materialRef: key.pendingRotation.materialRef,
            checkValue: key.pendingRotation.checkValue,
            keyMaterialId: key.pendingRotation.keyMaterialId,
            startedAt: iso(key.pendingRotation.startedAt),
            actor: key.pendingRotation.actor,
            reason: key.pendingRotation.reason,
          }),
    pendingSwap:
      key.pendingSwap === undefined
        ? undefined
        : compact({
            materialRef: key.pendingSwap.materialRef,
            checkValue: key.pendingSwap.checkValue,
            successorId: key.pendingSwap.successorId,
            alias: key.pendingSwap.alias,
            newKeyArn: key.pendingSwap.newKeyArn,
            startedAt: iso(key.pendingSwap.startedAt),
            actor: key.pendingSwap.actor,
            reason: key.pendingSwap.reason,
          }),
    supersededBy: key.supersededBy,
    supersedes: key.supersedes,
    policy: toImportPolicyInput(key.policy),
    status:
      status.state === "active"
        ? { state: status.state }
        : { state: status.state, reason: status.reason, actor: status.actor, at: iso(status.at) },
    version: key.version,
    createdAt: iso(key.createdAt),
    updatedAt: iso(key.updatedAt),
    regions: key.regions.map(regionView),
  }) as KeyView;
}

function regionView(record: RegionRecord): RegionView {
  return compact({
    region: record.region,
    keyArn: record.keyArn,
    materialExpected: record.materialExpected,
    lastImportedAt: isoOrUndefined(record.lastImportedAt),
    importedValidTo: isoOrUndefined(record.importedValidTo),
    lossCause: record.lossCause,
    lossDetectedAt: isoOrUndefined(record.lossDetectedAt),
    unexplainedSince: isoOrUndefined(record.unexplainedSince),
    deletedBy: record.deletedBy,
    deletedAt: isoOrUndefined(record.deletedAt),
    deletedFrom: record.deletedFrom,
    lastObservedKeyState: record.lastObservedKeyState,
    lastObservedAt: isoOrUndefined(record.lastObservedAt),
    nextCheckAt: iso(record.nextCheckAt),
    consecutiveFailures: record.consecutiveFailures,
    lastFailure: record.lastFailure,
    // Named field by field: the validity and wrapping of the stored set, never the set itself.
    importParameters:
      record.storedParameters === undefined
        ? undefined
        : {
            validTo: iso(record.storedParameters.validTo),
            wrappingAlgorithm: record.storedParameters.wrapping.wrappingAlgorithm,
            wrappingKeySpec: record.storedParameters.wrapping.wrappingKeySpec,
          },
  }) as RegionView;
}

export function outcomesView(
  regions: Readonly<Record<string, RegionOutcome>>,
): Record<string, { kind: string; errorName?: string }> {
  return Object.fromEntries(
    Object.entries(regions).map(([region, outcome]) => [
      region,
      "errorName" in outcome ? { kind: outcome.kind, errorName: outcome.errorName } : { kind: outcome.kind },
    ]),
  );
}

export function keyDetailView(insight: KeyInsight): KeyDetailResponse {
  return {
    key: keyView(insight.key),
    regions: insight.regions.map((r) => ({
      region: r.region,
      observed: observedView(r.observed),
      nextAction: plannedView(r.nextAction),
      ...(r.materials === undefined ? {} : { materials: materialsView(r.materials) }),
      warmParameters: r.warmParameters,
    })),
    warmParameters: {
      warm: insight.regions.filter((r) => r.warmParameters).length,
      regions: insight.regions.length,
    },
  };
}

function observedView(
  observed: ObservedKeyState | { readonly error: string },
): KeyDetailResponse["regions"][number]["observed"] {
  if ("error" in observed) return { error: observed.error };
  if (!observed.found) return { found: false };
  return compact({
    found: true,
    keyState: observed.keyState,
    origin: observed.origin,
    enabled: observed.enabled,
    expirationModel: observed.expirationModel,
    validTo: isoOrUndefined(observed.validTo),
    keySpec: observed.keySpec,
    keyUsage: observed.keyUsage,
    currentKeyMaterialId: observed.currentKeyMaterialId,
    deletionDate: isoOrUndefined(observed.deletionDate),
  });
}

function plannedView(action: PlannedAction): KeyDetailResponse["regions"][number]["nextAction"] {
  return compact({
    kind: action.kind,
    summary: action.summary,
    at: iso(action.at),
    due: action.due,
    renewAt: isoOrUndefined(action.renewAt),
  }) as KeyDetailResponse["regions"][number]["nextAction"];
}

export function auditEventView(event: AuditEvent): AuditEventView {
  return compact({ ...event }) as AuditEventView;
}

function iso(date: Date): string {
  return date.toISOString();
}

function isoOrUndefined(date: Date | undefined): string | undefined {
  return date === undefined || Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Drops undefined fields, so the JSON has no nulls and strict schemas see only what is there. */
function compact<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** KMS's list of a key's materials in one Region. */
export function materialsView(materials: readonly KeyMaterialInfo[]): KeyMaterialView[] {
  return materials.map(
    (m) =>
      compact({
        keyMaterialId: m.keyMaterialId,
        description: m.description,
        state: m.state,
        validTo: isoOrUndefined(m.validTo),
        importState: m.importState,
        rotationDate: isoOrUndefined(m.rotationDate),
      }) as KeyMaterialView,
  );
}

/** A member account on the wire (GET/POST /accounts). */
export function accountView(account: MemberAccount) {
  return {
    accountId: account.accountId,
    roleArn: account.roleArn,
    externalId: account.externalId,
    ...(account.name === undefined ? {} : { name: account.name }),
    addedAt: account.addedAt,
    addedBy: account.addedBy,
    check: {
      checkedAt: account.check.checkedAt,
      assumeRole: account.check.assumeRole,
      ...(account.check.kms === undefined ? {} : { kms: account.check.kms }),
      missing: [...account.check.missing],
    },
  };
}

/** GET /sentinels. */
export function sentinelsView(snapshot: {
  readonly sentinels: readonly SentinelRecord[];
  readonly incidents: readonly RegionalIncident[];
}): SentinelsResponse {
  return {
    items: [...snapshot.sentinels]
      .sort((a, b) => a.region.localeCompare(b.region))
      .map((s) => {
        const incident = snapshot.incidents.find((i) => i.region === s.region);
        return compact({
          region: s.region,
          keyArn: s.keyArn,
          state: s.state,
          lastProbeState: s.lastProbeState,
          lastProbeAt: isoOrUndefined(s.lastProbeAt),
          lastIntactAt: isoOrUndefined(s.lastIntactAt),
          detectionBlind: s.state === "ready" && sentinelBlind(s.lastProbeState) ? true : undefined,
          incident:
            incident === undefined
              ? undefined
              : (compact({
                  openedAt: iso(incident.openedAt),
                  intactAt: isoOrUndefined(incident.intactAt),
                  keysMadeDue: incident.keysMadeDue,
                  closedAt: isoOrUndefined(incident.closedAt),
                  keysRestored: incident.keysRestored,
                  keysNotRestored: incident.keysNotRestored,
                }) as NonNullable<SentinelsResponse["items"][number]["incident"]>),
        }) as SentinelsResponse["items"][number];
      }),
  };
}

function approvalView(approval: Approval) {
  return { by: approval.by, person: approval.person, at: iso(approval.at), reason: approval.reason };
}

/** A dual-control operation request (claims and versions stay internal). */
export function operationView(request: OperationRequest): Record<string, unknown> {
  return compact({
    id: request.id,
    operation: request.operation,
    keyId: request.keyId,
    keyArn: request.keyArn,
    state: request.state,
    requestedBy: request.requestedBy,
    reason: request.reason,
    createdAt: iso(request.createdAt),
    expiresAt: iso(request.expiresAt),
    quorum: request.quorum,
    approvalsCounted: countedApprovers(request),
    emergency: request.emergency,
    weakenings: request.weakenings === undefined ? undefined : [...request.weakenings],
    input: { ...request.input },
    approvals: request.approvals.map(approvalView),
    denial: request.denial === undefined ? undefined : approvalView(request.denial),
    executionStartedAt: isoOrUndefined(request.executionStartedAt),
    finishedAt: isoOrUndefined(request.finishedAt),
    errorName: request.errorName,
  });
}
