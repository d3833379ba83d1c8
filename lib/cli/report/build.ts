/**
 * Builds the inventory report from what the API answered: no I/O, no clock (the time is given), so it is
 * unit-tested on its own. The renderers (csv.ts, html.ts) and the command (commands/report.ts) do the rest.
 */
import type { AuditEventView, KeyDetailResponse, KeyView, RegionView } from "../../api/schemas.js";
import {
  type Finding,
  type InventoryReport,
  REPORT_SCHEMA_VERSION,
  type ReportEvent,
  type ReportRow,
} from "./schema.js";

/** One managed key as the API shows it: the record, its detail (live state), its history in the period. */
export interface KeyEvidence {
  readonly key: KeyView;
  /** GET /keys/{id}; undefined when it could not be read (the row then has no live state). */
  readonly detail?: KeyDetailResponse | undefined;
  /** GET /keys/{id}/history, newest first, back to the period's start at least. */
  readonly history: readonly AuditEventView[];
}

export interface ReportInput {
  readonly generatedAt: Date;
  readonly since: Date;
  /** ISO 8601 duration, as given (shown in the report). */
  readonly warningWindow: string;
  readonly warningWindowMs: number;
  readonly api?: string | undefined;
  readonly keys: readonly KeyEvidence[];
}

const IMPORT_TYPES = new Set(["Key Material Imported", "Key Material Renewed", "Key Material Restored"]);
const EVENT_KINDS: Readonly<Record<string, ReportEvent["kind"]>> = {
  "Key Material Rotated": "rotation",
  "Key Swapped": "key-swap",
  "Key Material Revoked": "revoke",
  "Key Material Restored": "restore",
};
/** Planned actions that mean Tether cannot get on with this Region by itself. */
const FAILING_ACTIONS = new Set(["alert", "standstill"]);

export function buildReport(input: ReportInput): InventoryReport {
  const since = input.since.getTime();
  const rows: ReportRow[] = [];
  const events: ReportEvent[] = [];
  const findings: Finding[] = [];
  const sorted = [...input.keys].sort((a, b) => a.key.id.localeCompare(b.key.id));
  for (const evidence of sorted) {
    const period = evidence.history.filter((e) => Date.parse(e.time) >= since);
    const keyEvents = period.flatMap((e) => reportEvent(e));
    events.push(...keyEvents);
    for (const region of evidence.key.regions) {
      const row = reportRow(evidence, region, keyEvents);
      rows.push(row);
      findings.push(...findingsOf(row, region, input));
    }
  }
  events.sort((a, b) => a.time.localeCompare(b.time) || a.keyId.localeCompare(b.keyId));
  const count = (kind: Finding["kind"]) => findings.filter((f) => f.kind === kind).length;
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    generatedAt: input.generatedAt.toISOString(),
    since: input.since.toISOString(),
    warningWindow: input.warningWindow,
    ...(input.api === undefined ? {} : { api: input.api }),
    summary: {
      keys: input.keys.length,
      keyRegions: rows.length,
      failing: count("failing"),
      expiring: count("expiring"),
      unattributedLosses: count("unattributed-loss"),
      events: events.length,
    },
    rows,
    events,
    findings,
  };
}

function reportEvent(event: AuditEventView): ReportEvent[] {
  const kind = EVENT_KINDS[event.detailType];
  if (kind === undefined) return [];
  return [
    compact({
      time: event.time,
      kind,
      keyId: event.keyId,
      region: event.region,
      actor: event.actor,
      reason: event.reason,
      relatedKeyId: event.relatedKeyId,
    }) as ReportEvent,
  ];
}

function reportRow(evidence: KeyEvidence, region: RegionView, events: readonly ReportEvent[]): ReportRow {
  const { key } = evidence;
  const live = evidence.detail?.regions.find((r) => r.region === region.region);
  const observed = live?.observed;
  const lastImport = evidence.history.find(
    (e) => IMPORT_TYPES.has(e.detailType) && (e.region === undefined || e.region === region.region),
  );
  const here = (kind: ReportEvent["kind"]) =>
    events.filter((e) => e.kind === kind && (e.region === undefined || e.region === region.region)).length;
  const plannedRenewalAt = live?.nextAction.kind === "renew" ? live.nextAction.at : live?.nextAction.renewAt;
  return compact({
    keyId: key.id,
    keyArn: region.keyArn,
    region: region.region,
    primary: region.region === key.primaryRegion,
    alias: key.alias,
    keySpec: key.keySpec,
    keyUsage: observed?.keyUsage,
    vault: key.vault,
    materialRef: key.materialRef,
    checkValue: key.checkValue,
    policy: policyText(key.policy),
    status: key.status.state,
    keyState: observed?.keyState,
    validTo: observed?.validTo ?? region.importedValidTo,
    lastImportedAt: region.lastImportedAt,
    lastImportedBy: lastImport?.actor,
    nextAction: live?.nextAction.kind,
    nextActionAt: live?.nextAction.at,
    plannedRenewalAt,
    consecutiveFailures: region.consecutiveFailures,
    lastFailure: region.lastFailure,
    lossCause: region.lossCause,
    supersededBy: key.supersededBy,
    supersedes: key.supersedes,
    rotations: here("rotation"),
    keySwaps: here("key-swap"),
    revokes: here("revoke"),
    restores: here("restore"),
  }) as ReportRow;
}

/** The policy in words, e.g. "expires, valid P90D, renew P14D before; restore after loss". */
export function policyText(policy: KeyView["policy"]): string {
  const parts: string[] = [];
  if (policy.expirationModel === "KEY_MATERIAL_DOES_NOT_EXPIRE") parts.push("does not expire");
  else if (policy.validTo !== undefined) parts.push(`expires at ${policy.validTo}`);
  else if (policy.validityPeriod !== undefined) parts.push(`valid ${policy.validityPeriod}`);
  if (policy.renewBefore !== undefined) parts.push(`renew ${policy.renewBefore} before`);
  if (policy.restoreAfterLoss === false) parts.push("no automatic restore");
  if (policy.restoreAfterOutOfBandDelete === true) parts.push("restore after out-of-band delete");
  if (policy.rotateEvery !== undefined) parts.push(`rotate every ${policy.rotateEvery}`);
  if (policy.rotationMethod !== undefined) parts.push(`by ${policy.rotationMethod}`);
  if (policy.priority !== undefined) parts.push(`priority ${policy.priority}`);
  return parts.length === 0 ? "defaults" : parts.join("; ");
}

function findingsOf(row: ReportRow, region: RegionView, input: ReportInput): Finding[] {
  const base = { keyId: row.keyId, keyArn: row.keyArn, region: row.region };
  const findings: Finding[] = [];
  const revoked = row.status === "revoked";
  if (row.consecutiveFailures > 0 || (row.nextAction !== undefined && FAILING_ACTIONS.has(row.nextAction))) {
    const what = row.lastFailure ?? `next action: ${row.nextAction}`;
    findings.push({
      ...base,
      kind: "failing",
      detail: `${row.consecutiveFailures} failure(s) in a row; ${what}`,
    });
  }
  const validTo = row.validTo === undefined ? undefined : Date.parse(row.validTo);
  const horizon = input.generatedAt.getTime() + input.warningWindowMs;
  if (!revoked && validTo !== undefined && validTo <= horizon && region.materialExpected) {
    const past = validTo <= input.generatedAt.getTime();
    findings.push({
      ...base,
      kind: "expiring",
      detail: past
        ? `material expired at ${row.validTo}`
        : `material expires at ${row.validTo}, within ${input.warningWindow}${row.plannedRenewalAt === undefined ? "" : `; renewal planned at ${row.plannedRenewalAt}`}`,
      since: row.validTo,
    });
  }
  if (region.lossCause === "local-loss" || region.unexplainedSince !== undefined) {
    findings.push(
      compact({
        ...base,
        kind: "unattributed-loss",
        detail:
          region.lossCause === "local-loss"
            ? "material lost with no CloudTrail record of who deleted it (local loss)"
            : "material gone, nothing explains it yet (Tether is looking in CloudTrail)",
        since: region.unexplainedSince ?? region.lossDetectedAt,
      }) as Finding,
    );
  }
  return findings;
}

/** Drops undefined fields (the schema's optional fields are absent, not null). */
function compact<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** CSV columns, in order: every row field. */
export const CSV_COLUMNS: readonly (keyof ReportRow)[] = [
  "keyId",
  "keyArn",
  "region",
  "primary",
  "alias",
  "keySpec",
  "keyUsage",
  "vault",
  "materialRef",
  "checkValue",
  "policy",
  "status",
  "keyState",
  "validTo",
  "lastImportedAt",
  "lastImportedBy",
  "nextAction",
  "nextActionAt",
  "plannedRenewalAt",
  "consecutiveFailures",
  "lastFailure",
  "lossCause",
  "supersededBy",
  "supersedes",
  "rotations",
  "keySwaps",
  "revokes",
  "restores",
];
