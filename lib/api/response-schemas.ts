/**
 * The admin API's answers. Only the OpenAPI document (lib/api/openapi.ts) and clients (the CLI) need them:
 * the API function builds them on the first GET /openapi.json, never to answer other requests.
 */
import * as z from "zod";
import { OperationKind, OperationState } from "../domain/approvals.js";
import { RotationMethod } from "../domain/import-policy.js";
import { KeyStatusState, LossCause } from "../domain/managed-key.js";
import { ErrorCode } from "./error-code.js";
import { requestSchemas } from "./request-schemas.js";
import { isoTimestamp, values } from "./schema-primitives.js";

// ---------------------------------------------------------------- responses

export const KeyStatusView = z.strictObject({
  state: z.enum(values(KeyStatusState)),
  reason: z.string().optional(),
  actor: z.string().optional(),
  at: isoTimestamp().optional(),
});

/** Tether's record of one Region. */
export const RegionView = z.strictObject({
  region: z.string(),
  keyArn: z.string(),
  materialExpected: z.boolean(),
  lastImportedAt: isoTimestamp().optional(),
  importedValidTo: isoTimestamp().optional(),
  lossCause: z.enum(values(LossCause)).optional(),
  lossDetectedAt: isoTimestamp().optional(),
  unexplainedSince: isoTimestamp()
    .optional()
    .describe(
      "When Tether first saw the material gone with nothing to explain it (the attribution grace runs from here)",
    ),
  deletedBy: z.string().optional().describe("Who deleted the material, from CloudTrail (principal ARN)"),
  deletedAt: isoTimestamp().optional().describe("When they did, from CloudTrail"),
  deletedFrom: z.string().optional().describe("From where (CloudTrail's sourceIPAddress)"),
  lastObservedKeyState: z.string().optional(),
  lastObservedAt: isoTimestamp().optional(),
  nextCheckAt: isoTimestamp(),
  consecutiveFailures: z.number().int().min(0),
  lastFailure: z.string().optional(),
  importParameters: z
    .strictObject({
      validTo: isoTimestamp().describe("GetParametersForImport's ParametersValidTo"),
      wrappingAlgorithm: z.string(),
      wrappingKeySpec: z.string(),
    })
    .optional()
    .describe(
      "The import parameters stored with this Region (kept warm so a restore needs no GetParametersForImport call): their validity and wrapping only, never the token or public key",
    ),
});

/** One material Tether records for a key (oldest first, the current one last). */
export const MaterialRecordView = z.strictObject({
  materialRef: z.string(),
  checkValue: z.string(),
  keyMaterialId: z.string().optional(),
  rotatedAt: isoTimestamp().optional(),
});

/** A rotation started and not finished: `POST /keys/{id}/rotate` again finishes it. */
export const PendingRotationView = z.strictObject({
  materialRef: z.string(),
  checkValue: z.string(),
  keyMaterialId: z.string().optional(),
  startedAt: isoTimestamp(),
  actor: z.string(),
  reason: z.string(),
});

/** A key swap started and not finished: `POST /keys/{id}/rotate` again finishes it. */
export const PendingSwapView = z.strictObject({
  materialRef: z.string(),
  checkValue: z.string(),
  successorId: z.string().describe("The Tether id the new key gets"),
  alias: z.string(),
  newKeyArn: z.string().optional().describe("The new key, once created"),
  startedAt: isoTimestamp(),
  actor: z.string(),
  reason: z.string(),
});

/** One material of a key as KMS lists it in one Region (ListKeyRotations, ALL_KEY_MATERIAL). */
export const KeyMaterialView = z.strictObject({
  keyMaterialId: z.string(),
  description: z.string().optional(),
  state: z
    .string()
    .describe("CURRENT, NON_CURRENT, PENDING_ROTATION or PENDING_MULTI_REGION_IMPORT_AND_ROTATION"),
  validTo: isoTimestamp().optional(),
  importState: z.string().optional(),
  rotationDate: isoTimestamp().optional(),
});

/** A managed key as the API shows it. */
export const KeyView = z.strictObject({
  id: z.string(),
  kmsKeyId: z.string(),
  keyArn: z.string(),
  /** The AWS account the key lives in: the deployment's own or a registered member's. */
  account: z.string().regex(/^\d{12}$/),
  primaryRegion: z.string(),
  keySpec: z.string(),
  multiRegion: z.boolean(),
  alias: z.string().optional(),
  description: z.string().optional(),
  vault: z
    .string()
    .optional()
    .describe("The kind of vault that holds the material (file, secrets-manager, hashicorp, pkcs11)"),
  materialRef: z.string(),
  checkValue: z.string(),
  materials: z.array(MaterialRecordView).optional().describe("Every material, once the key was rotated"),
  pendingRotation: PendingRotationView.optional(),
  pendingSwap: PendingSwapView.optional(),
  supersededBy: z
    .string()
    .optional()
    .describe("The key that took this key's alias in a key swap; this one stays managed until retired"),
  supersedes: z.string().optional().describe("The key this one replaced in a key swap"),
  policy: requestSchemas.ImportPolicyInput,
  status: KeyStatusView,
  version: z.number().int(),
  createdAt: isoTimestamp(),
  updatedAt: isoTimestamp(),
  regions: z.array(RegionView),
});

/** What one Region's action did (lib/lifecycle RegionOutcome). */
export const RegionOutcomeView = z.strictObject({
  kind: z.string(),
  errorName: z.string().optional(),
});

/** One approval or denial of an operation request. */
export const ApprovalView = z.strictObject({
  by: z.string().describe("The admin's principal ARN"),
  person: z.string().describe("Who that counts as (a role's sessions are one person unless mapped)"),
  at: isoTimestamp(),
  reason: z.string(),
});

/** A dual-control operation request (lib/domain/approvals.ts). */
export const OperationView = z.strictObject({
  id: z.string(),
  operation: z.enum(values(OperationKind)),
  keyId: z.string(),
  keyArn: z.string().optional(),
  state: z.enum(values(OperationState)),
  requestedBy: z.string(),
  reason: z.string(),
  createdAt: isoTimestamp(),
  expiresAt: isoTimestamp().describe("Pending until then; an emergency revoke: confirm by then"),
  quorum: z.number().int().describe("People needed, the requester included"),
  approvalsCounted: z.number().int().describe("Different people who approved, the requester not counted"),
  emergency: z.boolean(),
  weakenings: z.array(z.string()).optional().describe("policy-weaken: how the change weakens the policy"),
  input: z
    .record(z.string(), z.unknown())
    .describe("What runs once approved (the original request's fields)"),
  approvals: z.array(ApprovalView),
  denial: ApprovalView.optional(),
  executionStartedAt: isoTimestamp().optional(),
  finishedAt: isoTimestamp().optional(),
  errorName: z.string().optional().describe("failed: why the operation was refused (the error class)"),
});

/** GET /operations/{id}, POST /operations/{id}/approve|deny. */
export const OperationResponse = z.strictObject({ operation: OperationView });

/** GET /operations. */
export const OperationListResponse = z.strictObject({
  items: z.array(OperationView),
  nextToken: z.string().optional(),
});

/** 202 from a destructive route under dual control: the request, and how another admin approves it. */
export const OperationAcceptedResponse = z.strictObject({
  operation: OperationView,
  approve: z.string().describe("The call another admin makes to approve (POST /operations/{id}/approve)"),
});

/** POST /keys, /reimport, /revoke, /restore. */
export const KeyActionResponse = z.strictObject({
  key: KeyView,
  regions: z.record(z.string(), RegionOutcomeView),
  operation: OperationView.optional().describe("An emergency revoke: its request, awaiting confirmation"),
});

/** POST /keys/{id}/rotate. */
export const RotateResponse = z.strictObject({
  method: z.enum(values(RotationMethod)),
  key: KeyView.describe("The key rotated; after a key swap, the old key (superseded, still managed)"),
  successor: KeyView.optional().describe("key-swap: the new key, which now holds the alias"),
  materials: z
    .array(KeyMaterialView)
    .optional()
    .describe("in-key: the primary's materials after the rotation, oldest first"),
  resumed: z.boolean().describe("True when this request finished a rotation an earlier one had started"),
  rotations: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe("in-key: on-demand rotations the key has had (AWS allows 25)"),
});

/** GET /keys. */
export const KeyListResponse = z.strictObject({
  items: z.array(KeyView),
  nextToken: z.string().optional(),
});

/** One live DescribeKey, translated; `error` names the error class when KMS could not be asked. */
export const ObservedView = z.strictObject({
  found: z.boolean().optional(),
  keyState: z.string().optional(),
  origin: z.string().optional(),
  enabled: z.boolean().optional(),
  expirationModel: z.string().optional(),
  validTo: isoTimestamp().optional(),
  keySpec: z.string().optional(),
  keyUsage: z.string().optional().describe("ENCRYPT_DECRYPT, SIGN_VERIFY or GENERATE_VERIFY_MAC"),
  currentKeyMaterialId: z.string().optional(),
  deletionDate: isoTimestamp().optional(),
  error: z.string().optional(),
});

/** What Tether would do in a Region if it looked now, and when it next looks. Nothing is done. */
export const PlannedActionView = z.strictObject({
  /** attributing: material gone with nothing to explain it yet; Tether looks in CloudTrail until the grace ends. */
  kind: z.enum(["none", "renew", "restore", "revoke", "alert", "standstill", "attributing", "unknown"]),
  summary: z.string(),
  /** When the sweep next looks at this Region (renew/restore/revoke: the action happens then). */
  at: isoTimestamp(),
  /** Whether `at` has come: the next sweep acts. */
  due: z.boolean(),
  /** For "none" on expiring material: when the renew window opens. */
  renewAt: isoTimestamp().optional(),
});

/** GET /keys/{id}. */
export const KeyDetailResponse = z.strictObject({
  key: KeyView,
  regions: z.array(
    z.strictObject({
      region: z.string(),
      observed: ObservedView,
      nextAction: PlannedActionView,
      materials: z.array(KeyMaterialView).optional(),
      warmParameters: z
        .boolean()
        .describe(
          "Whether a stored set of import parameters of the wrapping an import would use now is valid: a restore here needs no GetParametersForImport call",
        ),
    }),
  ),
  warmParameters: z
    .strictObject({
      warm: z.number().int().min(0),
      regions: z.number().int().min(0),
    })
    .describe("How many of the key's Regions hold warm import parameters"),
});

/** One audit event (lib/domain/audit-types.ts); alert and failure events carry their extra fields. */
export const AuditEventView = z.strictObject({
  id: z.string(),
  detailType: z.string(),
  time: isoTimestamp(),
  keyId: z.string(),
  keyArn: z.string().optional(),
  region: z.string().optional(),
  checkValue: z.string().optional(),
  validTo: isoTimestamp().optional(),
  reason: z.string().optional(),
  actor: z.string(),
  correlationId: z.string(),
  schemaVersion: z.number().int(),
  severity: z.string().optional(),
  reasonCode: z.string().optional(),
  summary: z.string().optional(),
  errorName: z.string().optional(),
  attempt: z.number().int().optional(),
  relatedKeyId: z.string().optional().describe("The other key of a key swap"),
  deletedBy: z.string().optional().describe("A loss attributed from CloudTrail: who deleted the material"),
  deletedAt: isoTimestamp().optional().describe("When they did (CloudTrail's eventTime)"),
  deletedFrom: z.string().optional().describe("From where (CloudTrail's sourceIPAddress)"),
  step: z.string().optional().describe("Key Rotation Step events: which step"),
  keysRestored: z.number().int().optional().describe("Regional Loss Recovered: key-Regions restored"),
  keysNotRestored: z
    .number()
    .int()
    .optional()
    .describe("Regional Loss Recovered: key-Regions Tether did not restore (paused, revoked, policy)"),
  detectionMs: z
    .number()
    .int()
    .optional()
    .describe("Regional Loss Recovered: from the last probe that saw the sentinel intact to the incident"),
  recoveryMs: z
    .number()
    .int()
    .optional()
    .describe("Regional Loss Recovered: from the incident to the last key restored"),
  operationId: z.string().optional().describe("Dual control: the operation request"),
  operation: z.string().optional().describe("Dual control: what the request is for"),
  quorum: z.number().int().optional().describe("Dual control: people needed, the requester included"),
  approvers: z
    .string()
    .optional()
    .describe("Operation Executed / Confirmed: every approver, comma-separated"),
  outcome: z.string().optional().describe("Operation Executed: executed, unconfirmed or failed"),
});

/** POST /keys/check: an adoption that would be accepted as it stands (nothing was changed). */
export const AdoptionCheckResponse = z.strictObject({
  ok: z.literal(true),
  keyArn: z.string(),
  keySpec: z.string(),
  regions: z.array(z.string()).describe("The primary's Region first, then the replicas'"),
  materialRef: z.string(),
  checkValue: z.string().describe("The vault's check value: equal to the one given"),
});

/** GET /keys/{id}/history, newest first. */
export const HistoryResponse = z.strictObject({
  items: z.array(AuditEventView),
  nextToken: z.string().optional(),
});

/** PATCH /keys/{id}/policy. */
export const PolicyResponse = z.strictObject({ key: KeyView });

/** DELETE /keys/{id}: Tether no longer manages the key; KMS key and material are untouched. */
export const UnmanageResponse = z.strictObject({
  id: z.string(),
  keyArn: z.string(),
  unmanaged: z.literal(true),
});

/** A regional-loss incident: open (no closedAt) or closed. */
export const IncidentView = z.strictObject({
  openedAt: isoTimestamp(),
  intactAt: isoTimestamp().optional().describe("The last probe that saw the sentinel intact before"),
  keysMadeDue: z.number().int(),
  closedAt: isoTimestamp().optional(),
  keysRestored: z.number().int().optional(),
  keysNotRestored: z.number().int().optional(),
});

/** GET /sentinels: each Region's sentinel key as the last probe saw it, and its open incident. */
export const SentinelsResponse = z.strictObject({
  items: z.array(
    z.strictObject({
      region: z.string(),
      keyArn: z.string().optional().describe("Absent while the sentinel is being created"),
      state: z.enum(["creating", "ready"]),
      lastProbeState: z.string().optional().describe("The KeyState the last probe read"),
      lastProbeAt: isoTimestamp().optional(),
      lastIntactAt: isoTimestamp().optional(),
      detectionBlind: z
        .boolean()
        .optional()
        .describe(
          "true when the last probe found the sentinel deleted (NotFound), Disabled or PendingDeletion: a region-wide loss there goes unseen until each key's next reconcile (a SENTINEL_UNAVAILABLE alert was raised)",
        ),
      incident: IncidentView.optional().describe("The open regional-loss incident, if any"),
    }),
  ),
});

/** One step of a member account's check on add. */
export const CheckStepView = z.union([
  z.strictObject({ ok: z.literal(true), detail: z.string().optional() }),
  z.strictObject({ ok: z.literal(false), code: z.string(), message: z.string() }),
]);

/** A registered member account (README, "Member accounts"). */
export const AccountView = z.strictObject({
  accountId: z.string(),
  roleArn: z.string(),
  externalId: z.string(),
  name: z.string().optional(),
  addedAt: isoTimestamp(),
  addedBy: z.string(),
  check: z.strictObject({
    checkedAt: isoTimestamp(),
    assumeRole: CheckStepView,
    kms: CheckStepView.optional().describe(
      "DescribeKey of the probe key, or ListKeys; absent when the role was refused",
    ),
    missing: z.array(z.string()).describe("What the member lacks, in words; empty when the check passed"),
  }),
});

/** GET /accounts. */
export const AccountListResponse = z.strictObject({ items: z.array(AccountView) });
/** POST /accounts, GET /accounts/{accountId}. */
export const AccountResponse = z.strictObject({ account: AccountView });
/** DELETE /accounts/{accountId}. */
export const AccountRemovedResponse = z.strictObject({ accountId: z.string(), removed: z.literal(true) });
/** GET /agent/requests: the requests this agent claimed, each the signed text and its signature. */
export const AgentRequestsResponse = z.strictObject({
  requests: z.array(
    z.strictObject({
      id: z.string(),
      text: z
        .string()
        .describe("The signed request (JSON; lib/domain/agent-protocol.ts): verify before parsing"),
      signature: z.string().describe("Base64 RSASSA_PKCS1_V1_5_SHA_256 signature over text"),
      signingKeyId: z.string(),
      expiresAt: isoTimestamp(),
    }),
  ),
});

/** POST /agent/requests/{id}/answer. */
export const AgentAnswerResponse = z.strictObject({ id: z.string(), answered: z.literal(true) });

/** GET /agent/health. */
export const AgentHealthResponse = z.strictObject({
  state: z.enum(["healthy", "behind", "down"]),
  summary: z.string(),
  oldestPending: isoTimestamp().optional(),
  agents: z.array(
    z.strictObject({
      name: z.string(),
      principal: z.string(),
      state: z.enum(["healthy", "behind", "down"]),
      lastSeen: isoTimestamp(),
      version: z.string().optional(),
      answered: z.number().int().optional(),
      refused: z.number().int().optional(),
    }),
  ),
});

/** GET /health. */
export const HealthResponse = z.strictObject({ status: z.literal("ok") });

/** GET /openapi.json: an OpenAPI document (described loosely; docs/openapi.json is the document itself). */
export const OpenApiResponse = z.looseObject({ openapi: z.string() });

/** Every 4xx/5xx body. */
export const ErrorResponse = z.strictObject({
  error: z.strictObject({
    code: z.enum(values(ErrorCode)),
    message: z.string(),
    field: z.string().optional(),
    requestId: z.string(),
  }),
});

/**
 * The body of answers API Gateway gives itself, before or instead of the function: a missing or bad
 * signature (403), a route that does not exist (404), a body over its 10 MB payload quota (413), a
 * request line or header over its 10,240-byte quota (431, or 400 when malformed), and a function that
 * failed or timed out (500). Quotas: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
 */
export const GatewayErrorResponse = z
  .strictObject({
    message: z
      .string()
      .describe('API Gateway\'s own text, e.g. "Forbidden", "Not Found", "Internal Server Error"'),
  })
  .describe(
    "An answer from API Gateway itself, not from Tether: no `error` object, no request id in the body",
  );

export type KeyView = z.infer<typeof KeyView>;
export type RegionView = z.infer<typeof RegionView>;
export type KeyActionResponse = z.infer<typeof KeyActionResponse>;
export type KeyMaterialView = z.infer<typeof KeyMaterialView>;
export type RotateResponse = z.infer<typeof RotateResponse>;
export type KeyListResponse = z.infer<typeof KeyListResponse>;
export type KeyDetailResponse = z.infer<typeof KeyDetailResponse>;
export type AuditEventView = z.infer<typeof AuditEventView>;
export type AdoptionCheckResponse = z.infer<typeof AdoptionCheckResponse>;
export type HistoryResponse = z.infer<typeof HistoryResponse>;
export type OperationView = z.infer<typeof OperationView>;
export type OperationListResponse = z.infer<typeof OperationListResponse>;
export type PolicyResponse = z.infer<typeof PolicyResponse>;
export type UnmanageResponse = z.infer<typeof UnmanageResponse>;
export type SentinelsResponse = z.infer<typeof SentinelsResponse>;
export type HealthResponse = z.infer<typeof HealthResponse>;
export type AgentHealthResponse = z.infer<typeof AgentHealthResponse>;
export type ErrorResponse = z.infer<typeof ErrorResponse>;
