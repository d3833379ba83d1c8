/**
 * The admin API's wire contract: one zod schema per route's input (path, query, body) and output. The
 * handler validates with these, the OpenAPI document is generated from them, and the CLI parses answers
 * with them — so the three cannot drift apart. Everything here is JSON: times are ISO 8601 strings.
 *
 * Objects are strict (`z.strictObject`): an unknown field is a 400 naming it, never silently dropped.
 */
import { z } from "zod";
import { RotationMethod } from "../domain/import-policy.js";
import {
  ExpirationModel,
  KeySpec,
  KeyUsage,
  WrappingAlgorithm,
  WrappingKeySpec,
} from "../domain/kms-constants.js";
import { KeyStatusState, LossCause } from "../domain/managed-key.js";

const values = <T extends Record<string, string>>(o: T) => Object.values(o) as [T[keyof T], ...T[keyof T][]];

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f]*$/;

/** Longest `{id}` accepted: a key ARN is under 150 characters, an alias at most 256. */
export const MAX_KEY_REFERENCE_LENGTH = 512;
export const MAX_REASON_LENGTH = 1024;
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 25;

const isoTimestamp = z.iso.datetime({ offset: true });
const isoDuration = z.string().min(2).max(64).describe("ISO 8601 duration, e.g. P30D, PT1H");
const reason = z.string().trim().min(1).max(MAX_REASON_LENGTH).regex(NO_CONTROL_CHARACTERS);

// ---------------------------------------------------------------- path and query

/** `{id}` after URL-decoding: a Tether id (tk_…), a key ARN (any Region) or an alias (alias/name). */
export const KeyReference = z
  .string()
  .min(1)
  .max(MAX_KEY_REFERENCE_LENGTH)
  .regex(NO_CONTROL_CHARACTERS, "must not contain control characters")
  .describe("A Tether key id (tk_…), a KMS key ARN, or an alias (alias/name); URL-encoded in the path");

export const KeyPathParams = z.strictObject({ id: KeyReference });

const pageSize = z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE);
const nextToken = z.string().min(1).max(4096).regex(NO_CONTROL_CHARACTERS);

/** GET /keys query. */
export const ListKeysQuery = z.strictObject({
  status: z.enum(values(KeyStatusState)).optional(),
  /** Only keys with a Region whose ValidTo (as Tether imported it) is before this time. */
  expiringBefore: isoTimestamp.optional(),
  limit: pageSize,
  nextToken: nextToken.optional(),
});

/** GET /keys/{id}/history query. */
export const HistoryQuery = z.strictObject({
  limit: pageSize,
  nextToken: nextToken.optional(),
});

// ---------------------------------------------------------------- bodies

/** The import policy as callers write it (lib/domain/import-policy.ts ImportPolicyInput). */
export const ImportPolicyInput = z.strictObject({
  expirationModel: z.enum(values(ExpirationModel)).optional(),
  validityPeriod: isoDuration.optional(),
  validTo: isoTimestamp.optional(),
  renewBefore: isoDuration.optional(),
  wrappingAlgorithm: z.enum(values(WrappingAlgorithm)).optional(),
  wrappingKeySpec: z.enum(values(WrappingKeySpec)).optional(),
  restoreAfterLoss: z.boolean().optional(),
  restoreAfterOutOfBandDelete: z.boolean().optional(),
  reconcileInterval: isoDuration.optional(),
  rotateEvery: isoDuration
    .optional()
    .describe("Rotate this often (P1D to P3650D), the way rotationMethod says"),
  rotationMethod: z
    .enum(values(RotationMethod))
    .optional()
    .describe(
      "in-key: new material inside the key, RotateKeyOnDemand (SYMMETRIC_DEFAULT only). key-swap: a new key takes the alias, the old one stays managed for decryption. Default: in-key where KMS allows it",
    ),
});

const registerCommon = {
  materialRef: z.string().min(1).max(256).describe("Where the vault keeps the material (never the material)"),
  checkValue: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .describe("The check value the vault's material must have"),
  policy: ImportPolicyInput.optional(),
};

/** POST /keys, mode "create": a new EXTERNAL key (and replicas), material imported from the vault. */
export const CreateKeyBody = z.strictObject({
  mode: z.literal("create"),
  region: z.string().min(1).max(64),
  keySpec: z.enum(values(KeySpec)),
  keyUsage: z.enum(values(KeyUsage)).optional(),
  multiRegion: z.boolean().optional(),
  replicaRegions: z.array(z.string().min(1).max(64)).max(20).optional(),
  alias: z.string().min(1).max(256).optional(),
  description: z.string().max(8192).optional(),
  tags: z.record(z.string().min(1).max(128), z.string().max(256)).optional(),
  generateMaterial: z.boolean().optional(),
  ...registerCommon,
});

/** POST /keys, mode "adopt": manage an existing EXTERNAL key. */
export const AdoptKeyBody = z.strictObject({
  mode: z.literal("adopt"),
  keyArn: z.string().min(1).max(2048),
  replicaRegions: z.array(z.string().min(1).max(64)).max(20).optional(),
  ...registerCommon,
});

export const RegisterKeyBody = z.discriminatedUnion("mode", [CreateKeyBody, AdoptKeyBody]);

/** POST /keys/{id}/revoke and /restore: why, for the audit trail. */
export const ReasonBody = z.strictObject({ reason });

/** DELETE /keys/{id}: optionally why, for the audit trail; an empty body is the same as `{}`. */
export const UnmanageBody = z.strictObject({ reason: reason.optional() });

/** POST /keys/{id}/reimport: no fields; an empty body is the same as `{}`. */
export const ReimportBody = z.strictObject({});

/**
 * PATCH /keys/{id}/policy: the policy fields to change (merged into the current policy), and/or
 * `paused` to pause or resume automatic actions. `validityPeriod` and `validTo` replace each other;
 * KEY_MATERIAL_DOES_NOT_EXPIRE drops the expiry settings; `null` removes `rotateEvery` or `rotationMethod`.
 * `reason` is required with `paused`.
 */
export const PolicyPatchBody = ImportPolicyInput.extend({
  rotateEvery: isoDuration.nullable().optional().describe("null ends the rotation schedule"),
  rotationMethod: z
    .enum(values(RotationMethod))
    .nullable()
    .optional()
    .describe("null goes back to the default (in-key where KMS allows it)"),
  paused: z.boolean().optional(),
  reason: reason.optional(),
}).refine((body) => Object.keys(body).some((k) => k !== "reason"), {
  message: "give at least one policy field or paused",
});

// ---------------------------------------------------------------- responses

export const KeyStatusView = z.strictObject({
  state: z.enum(values(KeyStatusState)),
  reason: z.string().optional(),
  actor: z.string().optional(),
  at: isoTimestamp.optional(),
});

/** Tether's record of one Region. */
export const RegionView = z.strictObject({
  region: z.string(),
  keyArn: z.string(),
  materialExpected: z.boolean(),
  lastImportedAt: isoTimestamp.optional(),
  importedValidTo: isoTimestamp.optional(),
  lossCause: z.enum(values(LossCause)).optional(),
  lossDetectedAt: isoTimestamp.optional(),
  lastObservedKeyState: z.string().optional(),
  lastObservedAt: isoTimestamp.optional(),
  nextCheckAt: isoTimestamp,
  consecutiveFailures: z.number().int().min(0),
  lastFailure: z.string().optional(),
});

/** One material Tether records for a key (oldest first, the current one last). */
export const MaterialRecordView = z.strictObject({
  materialRef: z.string(),
  checkValue: z.string(),
  keyMaterialId: z.string().optional(),
  rotatedAt: isoTimestamp.optional(),
});

/** A rotation started and not finished: `POST /keys/{id}/rotate` again finishes it. */
export const PendingRotationView = z.strictObject({
  materialRef: z.string(),
  checkValue: z.string(),
  keyMaterialId: z.string().optional(),
  startedAt: isoTimestamp,
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
  startedAt: isoTimestamp,
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
  validTo: isoTimestamp.optional(),
  importState: z.string().optional(),
  rotationDate: isoTimestamp.optional(),
});

/** A managed key as the API shows it. */
export const KeyView = z.strictObject({
  id: z.string(),
  kmsKeyId: z.string(),
  keyArn: z.string(),
  primaryRegion: z.string(),
  keySpec: z.string(),
  multiRegion: z.boolean(),
  alias: z.string().optional(),
  description: z.string().optional(),
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
  policy: ImportPolicyInput,
  status: KeyStatusView,
  version: z.number().int(),
  createdAt: isoTimestamp,
  updatedAt: isoTimestamp,
  regions: z.array(RegionView),
});

/** What one Region's action did (lib/lifecycle RegionOutcome). */
export const RegionOutcomeView = z.strictObject({
  kind: z.string(),
  errorName: z.string().optional(),
});

/** POST /keys, /reimport, /revoke, /restore. */
export const KeyActionResponse = z.strictObject({
  key: KeyView,
  regions: z.record(z.string(), RegionOutcomeView),
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
  validTo: isoTimestamp.optional(),
  keySpec: z.string().optional(),
  currentKeyMaterialId: z.string().optional(),
  deletionDate: isoTimestamp.optional(),
  error: z.string().optional(),
});

/** What Tether would do in a Region if it looked now, and when it next looks. Nothing is done. */
export const PlannedActionView = z.strictObject({
  kind: z.enum(["none", "renew", "restore", "revoke", "alert", "standstill", "unknown"]),
  summary: z.string(),
  /** When the sweep next looks at this Region (renew/restore/revoke: the action happens then). */
  at: isoTimestamp,
  /** Whether `at` has come: the next sweep acts. */
  due: z.boolean(),
  /** For "none" on expiring material: when the renew window opens. */
  renewAt: isoTimestamp.optional(),
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
    }),
  ),
});

/** One audit event (lib/domain/audit-types.ts); alert and failure events carry their extra fields. */
export const AuditEventView = z.strictObject({
  id: z.string(),
  detailType: z.string(),
  time: isoTimestamp,
  keyId: z.string(),
  keyArn: z.string().optional(),
  region: z.string().optional(),
  checkValue: z.string().optional(),
  validTo: isoTimestamp.optional(),
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
  step: z.string().optional().describe("Key Rotation Step events: which step"),
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

/** GET /health. */
export const HealthResponse = z.strictObject({ status: z.literal("ok") });

export const ErrorCode = {
  ValidationError: "ValidationError",
  Unauthorized: "Unauthorized",
  Forbidden: "Forbidden",
  NotFound: "NotFound",
  MethodNotAllowed: "MethodNotAllowed",
  Conflict: "Conflict",
  PayloadTooLarge: "PayloadTooLarge",
  UnsupportedMediaType: "UnsupportedMediaType",
  InternalError: "InternalError",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Every 4xx/5xx body. */
export const ErrorResponse = z.strictObject({
  error: z.strictObject({
    code: z.enum(values(ErrorCode)),
    message: z.string(),
    field: z.string().optional(),
    requestId: z.string(),
  }),
});

export type ListKeysQuery = z.infer<typeof ListKeysQuery>;
export type HistoryQuery = z.infer<typeof HistoryQuery>;
export type ImportPolicyInputBody = z.infer<typeof ImportPolicyInput>;
export type RegisterKeyBody = z.infer<typeof RegisterKeyBody>;
export type ReasonBody = z.infer<typeof ReasonBody>;
export type UnmanageBody = z.infer<typeof UnmanageBody>;
export type PolicyPatchBody = z.infer<typeof PolicyPatchBody>;
export type KeyView = z.infer<typeof KeyView>;
export type RegionView = z.infer<typeof RegionView>;
export type KeyActionResponse = z.infer<typeof KeyActionResponse>;
export type KeyMaterialView = z.infer<typeof KeyMaterialView>;
export type RotateResponse = z.infer<typeof RotateResponse>;
export type KeyListResponse = z.infer<typeof KeyListResponse>;
export type KeyDetailResponse = z.infer<typeof KeyDetailResponse>;
export type AuditEventView = z.infer<typeof AuditEventView>;
export type HistoryResponse = z.infer<typeof HistoryResponse>;
export type PolicyResponse = z.infer<typeof PolicyResponse>;
export type UnmanageResponse = z.infer<typeof UnmanageResponse>;
export type HealthResponse = z.infer<typeof HealthResponse>;
export type ErrorResponse = z.infer<typeof ErrorResponse>;
