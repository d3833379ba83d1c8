/**
 * The admin API's inputs: path parameters, query strings and bodies. Each schema is built the first time
 * it is read from {@link requestSchemas}, so the API function builds a route's schemas on the first request
 * to that route (lib/api/app.ts loads this module then, not at cold start). lib/api/schemas.ts reads them
 * all and exports them as constants for everyone else (the CLI, the OpenAPI document, tests).
 * Objects are strict (`z.strictObject`): an unknown field is a 400 naming it, never silently dropped.
 */
import * as z from "zod";
import { OperationState } from "../domain/approvals.js";
import { Priority, RotationMethod } from "../domain/import-policy.js";
import {
  ExpirationModel,
  KeySpec,
  KeyUsage,
  WrappingAlgorithm,
  WrappingKeySpec,
} from "../domain/kms-constants.js";
import { KeyStatusState } from "../domain/managed-key.js";
import { isoDuration, isoTimestamp, NO_CONTROL_CHARACTERS, once, values } from "./schema-primitives.js";

/** Longest `{id}` accepted: a key ARN is under 150 characters, an alias at most 256. */
export const MAX_KEY_REFERENCE_LENGTH = 512;
export const MAX_REASON_LENGTH = 1024;
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 25;

const reason = once(() => z.string().trim().min(1).max(MAX_REASON_LENGTH).regex(NO_CONTROL_CHARACTERS));

// ---------------------------------------------------------------- path and query

/** `{id}` after URL-decoding: a Tether id (tk_…), a key ARN (any Region) or an alias (alias/name). */
const keyReference = once(() =>
  z
    .string()
    .min(1)
    .max(MAX_KEY_REFERENCE_LENGTH)
    .regex(NO_CONTROL_CHARACTERS, "must not contain control characters")
    .describe("A Tether key id (tk_…), a KMS key ARN, or an alias (alias/name); URL-encoded in the path"),
);

const keyPathParams = once(() => z.strictObject({ id: keyReference() }));

const pageSize = once(() => z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE));
const nextToken = once(() => z.string().min(1).max(4096).regex(NO_CONTROL_CHARACTERS));

/** The query of a route that takes none: any parameter is refused. */
const noQuery = once(() => z.strictObject({}));

/** GET /keys query. */
const listKeysQuery = once(() =>
  z.strictObject({
    status: z.enum(values(KeyStatusState)).optional(),
    /** Only keys with a Region whose ValidTo (as Tether imported it) is before this time. */
    expiringBefore: isoTimestamp().optional(),
    account: z
      .string()
      .regex(/^\d{12}$/, "must be a 12-digit AWS account id")
      .optional()
      .describe("Only keys in this AWS account (the deployment's own or a registered member's)"),
    limit: pageSize(),
    nextToken: nextToken().optional(),
  }),
);

/** GET /keys/{id}/history query. */
const historyQuery = once(() =>
  z.strictObject({
    limit: pageSize(),
    nextToken: nextToken().optional(),
  }),
);

/** GET /agent/requests: the agent's name, how many requests it takes, and its counters for its heartbeat. */
const agentPollQuery = once(() =>
  z.strictObject({
    agent: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/)
      .describe("The agent's name (several agents may share one IAM identity)"),
    max: z.coerce.number().int().min(1).max(25).default(10),
    version: z
      .string()
      .regex(/^[\w.+-]{1,32}$/)
      .optional(),
    answered: z.coerce.number().int().min(0).optional(),
    refused: z.coerce.number().int().min(0).optional(),
    wrappings: z
      .string()
      .max(4000)
      .optional()
      .describe(
        "What the agent's backend can wrap, when limited: KEYSPEC=ALGORITHM:WRAPPINGKEYSPEC+...,...;... (absent: whatever KMS accepts)",
      ),
  }),
);

// ---------------------------------------------------------------- bodies

/** POST /agent/requests/{id}/answer: the agent's name and its answer (lib/domain/agent-protocol.ts checks it). */
const agentAnswerBody = once(() =>
  z.strictObject({
    agent: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
    answer: z
      .looseObject({ op: z.enum(["wrap", "checkValue", "generate", "has", "describe", "error"]) })
      .describe(
        "wrap: {sealed, checkValue}; checkValue/generate: {checkValue}; has: {has}; describe: {keySpecs?}; error: {code, message, refusal?}",
      ),
  }),
);

/** The import policy as callers write it (lib/domain/import-policy.ts ImportPolicyInput). */
const importPolicyInput = once(() =>
  z.strictObject({
    expirationModel: z.enum(values(ExpirationModel)).optional(),
    validityPeriod: isoDuration().optional(),
    validTo: isoTimestamp().optional(),
    renewBefore: isoDuration().optional(),
    wrappingAlgorithm: z.enum(values(WrappingAlgorithm)).optional(),
    wrappingKeySpec: z.enum(values(WrappingKeySpec)).optional(),
    restoreAfterLoss: z.boolean().optional(),
    restoreAfterOutOfBandDelete: z.boolean().optional(),
    reconcileInterval: isoDuration().optional(),
    attributionGrace: isoDuration()
      .optional()
      .describe(
        "How long to look in CloudTrail for who deleted material that vanished unexplained (PT0S to PT24H, default PT15M) before treating it as a local loss",
      ),
    rotateEvery: isoDuration()
      .optional()
      .describe("Rotate this often (P1D to P3650D), the way rotationMethod says"),
    rotationMethod: z
      .enum(values(RotationMethod))
      .optional()
      .describe(
        "in-key: new material inside the key, RotateKeyOnDemand (SYMMETRIC_DEFAULT only). key-swap: a new key takes the alias, the old one stays managed for decryption. Default: in-key where KMS allows it",
      ),
    priority: z
      .enum(values(Priority))
      .optional()
      .describe(
        "Which due work goes first when there is more than one sweep takes or the KMS quota allows (renewals and restores alike; an incident restores critical keys first): critical, high, normal (default), low; within a priority the earliest due first",
      ),
  }),
);

const registerCommon = once(() => ({
  materialRef: z
    .string()
    .min(1)
    .max(256)
    .describe(
      "Where the vault keeps the material (never the material). One managed key per reference: another key on a claimed reference is a 409 (a key swap's successor gets a reference of its own)",
    ),
  checkValue: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .describe(
      "The check value the vault's material must have. Required when the vault already holds the material (adopt, and create without generateMaterial)",
    ),
  policy: importPolicyInput().optional(),
}));

/** POST /keys, mode "create": a new EXTERNAL key (and replicas), material imported from the vault. */
const createKeyBody = once(() =>
  z.strictObject({
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
    ...registerCommon(),
  }),
);

/** POST /keys, mode "adopt": manage an existing EXTERNAL key. */
const adoptKeyBody = once(() =>
  z.strictObject({
    mode: z.literal("adopt"),
    keyArn: z.string().min(1).max(2048),
    replicaRegions: z.array(z.string().min(1).max(64)).max(20).optional(),
    ...registerCommon(),
  }),
);

const registerKeyBody = once(() => z.discriminatedUnion("mode", [createKeyBody(), adoptKeyBody()]));

/** POST /keys/{id}/revoke and /restore: why, for the audit trail. */
const reasonBody = once(() => z.strictObject({ reason: reason() }));

/**
 * POST /keys/{id}/revoke: why, and `emergency` for a break-glass revoke (runs at once where the deployment
 * allows it, `approvals.revoke.breakGlass`; another admin confirms it afterwards).
 */
const revokeBody = once(() =>
  z.strictObject({
    reason: reason(),
    emergency: z
      .boolean()
      .optional()
      .describe("Break glass: revoke now, confirm afterwards (only where the deployment allows it)"),
  }),
);

/** GET /operations query. */
const operationsQuery = once(() =>
  z.strictObject({
    limit: pageSize(),
    nextToken: nextToken().optional(),
    state: z.enum(values(OperationState)).optional().describe("Only requests in this state"),
  }),
);

/** DELETE /keys/{id}: optionally why, for the audit trail; an empty body is the same as `{}`. */
const unmanageBody = once(() => z.strictObject({ reason: reason().optional() }));

/** POST /keys/{id}/reimport: no fields; an empty body is the same as `{}`. */
const reimportBody = once(() => z.strictObject({}));

/**
 * PATCH /keys/{id}/policy: the policy fields to change (merged into the current policy), and/or
 * `paused` to pause or resume automatic actions. `validityPeriod` and `validTo` replace each other;
 * KEY_MATERIAL_DOES_NOT_EXPIRE drops the expiry settings; `null` removes `rotateEvery` or `rotationMethod`.
 * `reason` is required with `paused`.
 */
const policyPatchBody = once(() =>
  importPolicyInput()
    .extend({
      rotateEvery: isoDuration().nullable().optional().describe("null ends the rotation schedule"),
      rotationMethod: z
        .enum(values(RotationMethod))
        .nullable()
        .optional()
        .describe("null goes back to the default (in-key where KMS allows it)"),
      paused: z.boolean().optional(),
      reason: reason().optional(),
    })
    .refine((body) => Object.keys(body).some((k) => k !== "reason"), {
      message: "give at least one policy field or paused",
    }),
);

/** POST /accounts: a member account's role, the external id its trust requires, and what to check on add. */
const addAccountBody = once(() =>
  z.strictObject({
    roleArn: z
      .string()
      .min(20)
      .max(2048)
      .regex(NO_CONTROL_CHARACTERS)
      .describe("arn:aws:iam::<member>:role/<name>"),
    externalId: z.string().min(2).max(1224).regex(NO_CONTROL_CHARACTERS),
    name: z.string().min(1).max(64).regex(NO_CONTROL_CHARACTERS).optional(),
    probeKeyArn: z
      .string()
      .min(20)
      .max(2048)
      .regex(NO_CONTROL_CHARACTERS)
      .optional()
      .describe("A key of the member to DescribeKey on add; without it the check lists keys"),
    requireCheck: z.boolean().optional().describe("Refuse (400) instead of registering when the check fails"),
  }),
);

/** Every request schema, each built on first read (and the same instance on every later read). */
export const requestSchemas = lazily({
  KeyReference: keyReference,
  KeyPathParams: keyPathParams,
  NoQuery: noQuery,
  ListKeysQuery: listKeysQuery,
  HistoryQuery: historyQuery,
  ImportPolicyInput: importPolicyInput,
  CreateKeyBody: createKeyBody,
  AdoptKeyBody: adoptKeyBody,
  RegisterKeyBody: registerKeyBody,
  ReasonBody: reasonBody,
  RevokeBody: revokeBody,
  OperationsQuery: operationsQuery,
  UnmanageBody: unmanageBody,
  ReimportBody: reimportBody,
  PolicyPatchBody: policyPatchBody,
  AddAccountBody: addAccountBody,
  AgentPollQuery: agentPollQuery,
  AgentAnswerBody: agentAnswerBody,
});

/** An object whose properties are getters calling the builders (built once each, by `once`). */
function lazily<B extends Record<string, () => unknown>>(
  builders: B,
): { readonly [K in keyof B]: ReturnType<B[K]> } {
  const target = {};
  for (const [name, build] of Object.entries(builders)) {
    Object.defineProperty(target, name, { get: build, enumerable: true });
  }
  return target as { readonly [K in keyof B]: ReturnType<B[K]> };
}
