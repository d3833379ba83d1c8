/**
 * The admin API's wire contract: one zod schema per route's input (path, query, body) and output. The
 * handler validates with these, the OpenAPI document is generated from them, and the CLI parses answers
 * with them — so the three cannot drift apart. Everything here is JSON: times are ISO 8601 strings.
 *
 * Objects are strict (`z.strictObject`): an unknown field is a 400 naming it, never silently dropped.
 *
 * Two modules behind this one, so the API function builds no schema at cold start: it builds a route's
 * request schemas on the first request to that route (request-schemas.ts) and the response schemas only to
 * write the OpenAPI document (response-schemas.ts). Error codes live without zod in error-code.ts.
 */
import type * as z from "zod";
import { requestSchemas } from "./request-schemas.js";

export { ErrorCode } from "./error-code.js";
export {
  DEFAULT_PAGE_SIZE,
  MAX_KEY_REFERENCE_LENGTH,
  MAX_PAGE_SIZE,
  MAX_REASON_LENGTH,
} from "./request-schemas.js";
export * from "./response-schemas.js";

// The request schemas, all built here (the API function builds each on first use instead, app.ts).
export const {
  KeyReference,
  KeyPathParams,
  NoQuery,
  ListKeysQuery,
  HistoryQuery,
  ImportPolicyInput,
  CreateKeyBody,
  AdoptKeyBody,
  RegisterKeyBody,
  ReasonBody,
  RevokeBody,
  OperationsQuery,
  UnmanageBody,
  ReimportBody,
  PolicyPatchBody,
  AddAccountBody,
  AgentPollQuery,
  AgentAnswerBody,
} = requestSchemas;

export type ListKeysQuery = z.infer<typeof ListKeysQuery>;
export type HistoryQuery = z.infer<typeof HistoryQuery>;
export type ImportPolicyInputBody = z.infer<typeof ImportPolicyInput>;
export type RegisterKeyBody = z.infer<typeof RegisterKeyBody>;
export type ReasonBody = z.infer<typeof ReasonBody>;
export type RevokeBody = z.infer<typeof RevokeBody>;
export type OperationsQuery = z.infer<typeof OperationsQuery>;
export type UnmanageBody = z.infer<typeof UnmanageBody>;
export type PolicyPatchBody = z.infer<typeof PolicyPatchBody>;
