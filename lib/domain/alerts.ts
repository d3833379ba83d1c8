/** How loud an alert is: critical pages someone (the key is or will be unusable), warning is a ticket. */
export const AlertSeverity = {
  Critical: "critical",
  Warning: "warning",
} as const;
export type AlertSeverity = (typeof AlertSeverity)[keyof typeof AlertSeverity];

/** Machine-readable reasons for alerts and drift findings; the one-line summary is for people. */
export const AlertReason = {
  // Found by the decision table.
  KeyNotFound: "KEY_NOT_FOUND",
  OriginNotExternal: "ORIGIN_NOT_EXTERNAL",
  KeySpecMismatch: "KEY_SPEC_MISMATCH",
  KeyPendingDeletion: "KEY_PENDING_DELETION",
  ReplicaPendingDeletion: "REPLICA_PENDING_DELETION",
  KeyUnavailable: "KEY_UNAVAILABLE",
  KeyDisabled: "KEY_DISABLED",
  UnknownKeyState: "UNKNOWN_KEY_STATE",
  DeletedOutOfBand: "DELETED_OUT_OF_BAND",
  MaterialLostNotRestored: "MATERIAL_LOST_NOT_RESTORED",
  /** Material gone before its ValidTo, sentinel intact, no Tether action: Tether looks for who did it. */
  UnexplainedMaterialLoss: "UNEXPLAINED_MATERIAL_LOSS",
  /** The attribution grace ended with no CloudTrail record of a delete: a local loss. */
  LossNotAttributed: "LOSS_NOT_ATTRIBUTED",
  /** The probe found a Region's sentinel key without its material: a region-wide loss (one per incident). */
  RegionalLossDetected: "REGIONAL_LOSS_DETECTED",
  /**
   * The probe found a Region's sentinel deleted, disabled or pending deletion: a region-wide loss there would
   * go unseen until each key's next reconcile (one alert per state the sentinel enters).
   */
  SentinelUnavailable: "SENTINEL_UNAVAILABLE",
  MaterialPresentAfterRevoke: "MATERIAL_PRESENT_AFTER_REVOKE",
  ValidToDrift: "VALID_TO_DRIFT",
  ValidToUnknown: "VALID_TO_UNKNOWN",
  ExpirationModelDrift: "EXPIRATION_MODEL_DRIFT",
  PolicyValidToPassed: "POLICY_VALID_TO_PASSED",
  /** decide met input it could not reason about (an invalid date, a hand-built policy out of range). */
  InvalidInput: "INVALID_INPUT",
  // Raised by use cases when an action fails.
  IncorrectKeyMaterial: "INCORRECT_KEY_MATERIAL",
  CheckValueMismatch: "CHECK_VALUE_MISMATCH",
  ImportFailing: "IMPORT_FAILING",
  VaultUnavailable: "VAULT_UNAVAILABLE",
  /** The vault's material cannot go into this key (wrong kind or size, or no wrapping can carry it). */
  MaterialUnfit: "MATERIAL_UNFIT",
  /** A key nears (or reached) AWS's limit of on-demand rotations. */
  RotationLimitNear: "ROTATION_LIMIT_NEAR",
  /** A rotation stopped between steps; the next rotate request finishes it. */
  RotationIncomplete: "ROTATION_INCOMPLETE",
  /** A rotation the key's schedule asked for failed; the next sweep tries again. */
  RotationFailed: "ROTATION_FAILED",
  /** Dual control: an operation waits for another admin's approval. */
  ApprovalRequested: "APPROVAL_REQUESTED",
  /** An emergency (break-glass) revoke ran at once; another admin must confirm it. */
  EmergencyRevoke: "EMERGENCY_REVOKE",
  /** An emergency revoke is past its confirmation window, unconfirmed (every sweep says so; never undone). */
  EmergencyRevokeUnconfirmed: "EMERGENCY_REVOKE_UNCONFIRMED",
  /** No vault agent called in for longer than the threshold, or requests wait too long (docs/agent.md). */
  VaultAgentUnavailable: "VAULT_AGENT_UNAVAILABLE",
  /** The vault agents are back after an unavailability alert. */
  VaultAgentRecovered: "VAULT_AGENT_RECOVERED",
  /**
   * The hub cannot act in a member account (its role missing, its trust revoked, STS throttling): one alert
   * per member, not one per key; its keys wait and are retried, other accounts are not affected.
   */
  MemberAccessFailing: "MEMBER_ACCESS_FAILING",
} as const;
export type AlertReason = (typeof AlertReason)[keyof typeof AlertReason];

/** One finding worth telling people about. */
export interface AlertFinding {
  readonly severity: AlertSeverity;
  readonly reason: AlertReason;
  /** One line, for a pager or a chat message. Names keys, regions, states and times only. */
  readonly summary: string;
}
