import type { AlertFinding, AlertReason, AlertSeverity } from "./alerts.js";
import type { DeleteRecord } from "./attribution.js";
import { ValidationError } from "./errors.js";

/**
 * The audit vocabulary: EventBridge detail-types of the events Tether publishes, and the event shape.
 * Every field is a string or a number, so nothing can carry bytes — material, wrapped material and import
 * tokens have no place to go. Times are ISO 8601 strings, ready for JSON.
 */
export const AuditDetailType = {
  KeyRegistered: "Key Registered",
  KeyMaterialImported: "Key Material Imported",
  KeyMaterialRenewed: "Key Material Renewed",
  KeyMaterialRestored: "Key Material Restored",
  KeyMaterialRevoked: "Key Material Revoked",
  KeyMaterialLost: "Key Material Lost",
  ImportFailed: "Import Failed",
  DriftDetected: "Drift Detected",
  KeyPolicyChanged: "Key Policy Changed",
  KeyPaused: "Key Paused",
  KeyResumed: "Key Resumed",
  KeyUnmanaged: "Key Unmanaged",
  TetherAlert: "Tether Alert",
  KeyMaterialRotated: "Key Material Rotated",
  /** One step of a rotation or key swap (`step` says which), so a half-done one can be followed. */
  KeyRotationStep: "Key Rotation Step",
  /** A key swap finished: `relatedKeyId` took over the alias (on the old key) or was replaced (on the new). */
  KeySwapped: "Key Swapped",
  /**
   * A regional-loss incident closed: every managed key of the Region that Tether restores is back and the
   * sentinel re-imported (`keysRestored`, `keysNotRestored`, `detectionMs`, `recoveryMs`).
   */
  RegionalLossRecovered: "Regional Loss Recovered",
  /** Dual control (lib/domain/approvals.ts): an operation waits for approvals (`operationId`, `operation`). */
  OperationRequested: "Operation Requested",
  OperationApproved: "Operation Approved",
  OperationDenied: "Operation Denied",
  /** A pending request nobody approved in time; it never runs. */
  OperationExpired: "Operation Expired",
  /** The operation ran (`approvers` names every approver, `outcome` executed or failed). */
  OperationExecuted: "Operation Executed",
  /** A second admin confirmed an emergency (break-glass) revoke. */
  OperationConfirmed: "Operation Confirmed",
  /** A member account registered (`keyId` is the account id: its history is the account's), and removed. */
  MemberAccountAdded: "Member Account Added",
  MemberAccountRemoved: "Member Account Removed",
} as const;
export type AuditDetailType = (typeof AuditDetailType)[keyof typeof AuditDetailType];

/** Bumped when a field changes meaning; consumers check it. */
export const AUDIT_SCHEMA_VERSION = 1;

/** Fields every audit event has. */
interface AuditEventBase {
  /** Unique per fact: a retry publishes the same id, so consumers can drop duplicates. */
  readonly id: string;
  readonly time: string;
  /** The Tether key id. */
  readonly keyId: string;
  readonly keyArn?: string;
  readonly region?: string;
  /** The material's check value (a fingerprint, not the material). */
  readonly checkValue?: string;
  /** The ValidTo sent with an import, ISO 8601. */
  readonly validTo?: string;
  readonly reason?: string;
  /** Who: an operator's identity, or `tether:sweep`, `tether:kms-events`. */
  readonly actor: string;
  /** Ties together everything one request or sweep run did. */
  readonly correlationId: string;
  readonly schemaVersion: typeof AUDIT_SCHEMA_VERSION;
  /** The other key of a key swap (the Tether id). */
  readonly relatedKeyId?: string;
  /** Which step of a rotation (Key Rotation Step events). */
  readonly step?: RotationStep;
  /** A loss attributed from CloudTrail: who deleted the material (principal ARN), when, from where. */
  readonly deletedBy?: string;
  readonly deletedAt?: string;
  readonly deletedFrom?: string;
  /** Regional Loss Recovered: managed key-Regions restored, and those Tether did not restore. */
  readonly keysRestored?: number;
  readonly keysNotRestored?: number;
  /** Regional Loss Recovered: from the last probe that saw the sentinel intact to the incident (ms). */
  readonly detectionMs?: number;
  /** Regional Loss Recovered: from the incident to the last key restored (ms). */
  readonly recoveryMs?: number;
  /** Dual control: the operation request's id, what it is, its quorum, approvers (comma-separated ARNs). */
  readonly operationId?: string;
  readonly operation?: string;
  readonly quorum?: number;
  readonly approvers?: string;
  /** Operation Executed: `executed`, `unconfirmed` (an emergency revoke) or `failed`. */
  readonly outcome?: string;
}

/** The steps of a rotation (in-key) and of a key swap, as Key Rotation Step events name them. */
export const RotationStep = {
  /** The vault made the new material. */
  MaterialGenerated: "material-generated",
  /** In-key: the new material is in this Region, pending rotation. */
  MaterialStaged: "material-staged",
  /** In-key: RotateKeyOnDemand made the new material current. */
  MaterialActivated: "material-activated",
  /** Swap: the new KMS key exists in the primary Region. */
  KeyCreated: "key-created",
  /** Swap: the new key's replica exists in this Region. */
  ReplicaCreated: "replica-created",
  /** Swap: the new key holds its material in every Region. */
  SuccessorReady: "successor-ready",
  /** Swap: the alias names the new key in this Region. */
  AliasRepointed: "alias-repointed",
} as const;
export type RotationStep = (typeof RotationStep)[keyof typeof RotationStep];

export type FactDetailType = Exclude<AuditDetailType, "Tether Alert" | "Drift Detected" | "Import Failed">;

/** A state change: registered, imported, renewed, restored, revoked, lost, policy changed, paused, ... */
export interface FactEvent extends AuditEventBase {
  readonly detailType: FactDetailType;
}

/** Something people must know about. */
export interface AlertEvent extends AuditEventBase {
  readonly detailType: typeof AuditDetailType.TetherAlert | typeof AuditDetailType.DriftDetected;
  readonly severity: AlertSeverity;
  readonly reasonCode: AlertReason;
  /** One line for a pager. */
  readonly summary: string;
}

/** An attempt that failed; `errorName` is the error class (e.g. KmsThrottledError), never its message. */
export interface ImportFailedEvent extends AuditEventBase {
  readonly detailType: typeof AuditDetailType.ImportFailed;
  readonly errorName: string;
  readonly attempt: number;
}

export type AuditEvent = FactEvent | AlertEvent | ImportFailedEvent;

/** Who, when, under which correlation, with which event id. */
export interface AuditContext {
  readonly id: string;
  readonly time: Date;
  readonly actor: string;
  readonly correlationId: string;
}

/** What the event is about. */
export interface AuditSubject {
  readonly keyId: string;
  readonly keyArn?: string | undefined;
  readonly region?: string | undefined;
  readonly checkValue?: string | undefined;
  readonly validTo?: Date | undefined;
  readonly reason?: string | undefined;
  readonly relatedKeyId?: string | undefined;
  readonly step?: RotationStep | undefined;
  /** Who deleted the material, from CloudTrail. */
  readonly deletedBy?: DeleteRecord | undefined;
  /** A regional-loss incident's figures (Regional Loss Recovered). */
  readonly incident?:
    | {
        readonly keysRestored: number;
        readonly keysNotRestored: number;
        readonly detectionMs?: number | undefined;
        readonly recoveryMs?: number | undefined;
      }
    | undefined;
  /** A dual-control operation request the event is about. */
  readonly operation?:
    | {
        readonly id: string;
        readonly kind: string;
        readonly quorum: number;
        readonly approvers?: readonly string[] | undefined;
        readonly outcome?: string | undefined;
      }
    | undefined;
}

/** Free text (reasons, summaries) is cut to this length and stripped of control characters. */
export const MAX_AUDIT_TEXT_LENGTH = 1024;

/**
 * A state-change audit event.
 * @throws ValidationError when id, actor, correlationId or keyId is empty, or a time is invalid
 */
export function buildFactEvent(
  detailType: FactDetailType,
  context: AuditContext,
  subject: AuditSubject,
): FactEvent {
  return { detailType, ...base(context, subject) };
}

/**
 * An alert (`Tether Alert`) or a drift finding (`Drift Detected`).
 * @throws ValidationError as buildFactEvent
 */
export function buildAlertEvent(
  detailType: AlertEvent["detailType"],
  context: AuditContext,
  subject: AuditSubject,
  finding: AlertFinding,
): AlertEvent {
  return {
    detailType,
    ...base(context, subject),
    severity: finding.severity,
    reasonCode: finding.reason,
    summary: text(finding.summary),
  };
}

/**
 * An `Import Failed` event.
 * @throws ValidationError as buildFactEvent, or when attempt is not a positive integer
 */
export function buildImportFailedEvent(
  context: AuditContext,
  subject: AuditSubject,
  failure: { readonly errorName: string; readonly attempt: number },
): ImportFailedEvent {
  if (!Number.isInteger(failure.attempt) || failure.attempt < 1) {
    throw new ValidationError("attempt", "must be a positive integer");
  }
  return {
    detailType: AuditDetailType.ImportFailed,
    ...base(context, subject),
    errorName: required(failure.errorName, "errorName"),
    attempt: failure.attempt,
  };
}

function base(context: AuditContext, subject: AuditSubject): AuditEventBase {
  const event: {
    -readonly [K in keyof AuditEventBase]: AuditEventBase[K];
  } = {
    id: required(context.id, "id"),
    time: isoTime(context.time, "time"),
    keyId: required(subject.keyId, "keyId"),
    actor: required(context.actor, "actor"),
    correlationId: required(context.correlationId, "correlationId"),
    schemaVersion: AUDIT_SCHEMA_VERSION,
  };
  if (subject.keyArn !== undefined) event.keyArn = subject.keyArn;
  if (subject.region !== undefined) event.region = subject.region;
  if (subject.checkValue !== undefined) event.checkValue = subject.checkValue;
  if (subject.validTo !== undefined) event.validTo = isoTime(subject.validTo, "validTo");
  if (subject.reason !== undefined) event.reason = text(subject.reason);
  if (subject.relatedKeyId !== undefined) event.relatedKeyId = subject.relatedKeyId;
  if (subject.step !== undefined) event.step = subject.step;
  if (subject.deletedBy !== undefined) {
    event.deletedBy = text(subject.deletedBy.principal);
    event.deletedAt = isoTime(subject.deletedBy.at, "deletedAt");
    if (subject.deletedBy.sourceIp !== undefined) event.deletedFrom = text(subject.deletedBy.sourceIp);
  }
  if (subject.incident !== undefined) {
    event.keysRestored = count(subject.incident.keysRestored, "keysRestored");
    event.keysNotRestored = count(subject.incident.keysNotRestored, "keysNotRestored");
    if (subject.incident.detectionMs !== undefined)
      event.detectionMs = count(subject.incident.detectionMs, "detectionMs");
    if (subject.incident.recoveryMs !== undefined)
      event.recoveryMs = count(subject.incident.recoveryMs, "recoveryMs");
  }
  if (subject.operation !== undefined) {
    event.operationId = required(subject.operation.id, "operationId");
    event.operation = subject.operation.kind;
    event.quorum = count(subject.operation.quorum, "quorum");
    if (subject.operation.approvers !== undefined)
      event.approvers = text(subject.operation.approvers.join(","));
    if (subject.operation.outcome !== undefined) event.outcome = subject.operation.outcome;
  }
  return event;
}

function required(value: string, field: string): string {
  if (typeof value !== "string" || value.trim() === "") throw new ValidationError(field, "must not be empty");
  return value;
}

function count(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0)
    throw new ValidationError(field, "must be a non-negative integer");
  return value;
}

function isoTime(value: Date, field: string): string {
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw new ValidationError(field, "is not a valid time");
  return value.toISOString();
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]+/g;

/** One line, bounded: audit text ends up in pagers and log lines. */
function text(value: string): string {
  const line = String(value).replace(CONTROL_CHARACTERS, " ").trim();
  return line.length > MAX_AUDIT_TEXT_LENGTH ? `${line.slice(0, MAX_AUDIT_TEXT_LENGTH - 1)}…` : line;
}
