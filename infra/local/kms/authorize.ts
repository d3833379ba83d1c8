/**
 * A KMS call made with a session of a local role that has permission policies (a member role put with the
 * member template's policy) is evaluated against them before the operation runs, as IAM does. The request
 * context carries what the member role's conditions read (infra/member-account.yml), from the request and
 * from the key it names:
 * - `aws:RequestedRegion`: the Region the request is signed for;
 * - `aws:PrincipalArn` (the role), `aws:PrincipalAccount` and `kms:CallerAccount` (the role's account);
 * - for a key: `aws:ResourceTag/<key>` for each of its tags, `kms:KeyOrigin`, `kms:KeySpec`, `kms:KeyUsage`,
 *   `kms:MultiRegion` (and `kms:MultiRegionKeyType`); a key that does not resolve has none of them, so a
 *   condition on them does not hold (AccessDeniedException rather than NotFoundException: never kinder);
 * - from the request: `kms:KeyOrigin`, `kms:KeySpec`, `kms:KeyUsage`, `kms:MultiRegion` of a CreateKey,
 *   `aws:RequestTag/<key>` and `aws:TagKeys` of CreateKey, ReplicateKey, TagResource and UntagResource,
 *   `kms:BypassPolicyLockoutSafetyCheck`, `kms:ReplicaRegion`, `kms:WrappingAlgorithm`, `kms:WrappingKeySpec`,
 *   `kms:ExpirationModel`.
 * Condition keys: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html and
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-aws.html
 * The resource is the key's ARN, or "*" for an action without resource-level permissions (CreateKey,
 * ListKeys, ...); the alias operations are checked on the alias and on the key, and ReplicateKey also needs
 * kms:CreateKey in the replica's Region (https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-auth.html).
 *
 * A refusal is KMS's `AccessDeniedException` with IAM's wording, "User: <session> is not authorized to perform:
 * kms:<Action> on resource: <arn> because no identity-based policy allows the kms:<Action> action", or "...
 * with an explicit deny in an identity-based policy" for a Deny
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
 */
import { isWildcardOnlyAction } from "@cloud-copilot/iam-simulate";
import type { KeyRecord } from "./domain/model.js";
import { KmsApiError } from "./errors.js";
import type { KmsStore } from "./store.js";
import type { PermissionDecision, PermissionPolicies } from "./sts/permissions.js";

type Context = Record<string, string | string[]>;

/** The caller: a session of a role with permission policies. */
export interface PolicyCaller {
  readonly sessionArn: string;
  readonly roleArn: string;
  readonly accountId: string;
  readonly policies: PermissionPolicies;
}

interface Check {
  readonly action: string;
  readonly resource: string;
  readonly context: Context;
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function keyContext(key: KeyRecord | undefined): Context {
  if (key === undefined) return {};
  const context: Context = {
    "kms:KeyOrigin": key.origin,
    "kms:KeySpec": key.keySpec,
    "kms:KeyUsage": key.keyUsage,
    "kms:MultiRegion": String(key.multiRegion),
  };
  if (key.multiRegionKeyType !== undefined) context["kms:MultiRegionKeyType"] = key.multiRegionKeyType;
  for (const tag of key.tags) context[`aws:ResourceTag/${tag.TagKey}`] = tag.TagValue;
  return context;
}

/** The request's own condition keys (tags it sets or removes, the parameters KMS exposes as keys). */
function requestContext(operation: string, request: Record<string, unknown>): Context {
  const context: Context = {};
  const tags = Array.isArray(request.Tags)
    ? (request.Tags as Array<{ TagKey?: unknown; TagValue?: unknown }>)
    : [];
  for (const tag of tags) {
    if (typeof tag.TagKey === "string") context[`aws:RequestTag/${tag.TagKey}`] = String(tag.TagValue ?? "");
  }
  const tagKeys =
    operation === "UntagResource" && Array.isArray(request.TagKeys)
      ? (request.TagKeys as unknown[]).filter((k): k is string => typeof k === "string")
      : tags.map((t) => t.TagKey).filter((k): k is string => typeof k === "string");
  if (tagKeys.length > 0) context["aws:TagKeys"] = tagKeys;
  if (operation === "CreateKey") {
    context["kms:KeyOrigin"] = str(request.Origin) ?? "AWS_KMS";
    context["kms:KeySpec"] =
      str(request.KeySpec) ?? str(request.CustomerMasterKeySpec) ?? "SYMMETRIC_DEFAULT";
    context["kms:KeyUsage"] = str(request.KeyUsage) ?? "ENCRYPT_DECRYPT";
    context["kms:MultiRegion"] = String(request.MultiRegion === true);
  }
  if (operation === "CreateKey" || operation === "PutKeyPolicy" || operation === "ReplicateKey")
    context["kms:BypassPolicyLockoutSafetyCheck"] = String(request.BypassPolicyLockoutSafetyCheck === true);
  const named: Array<[string, string]> = [
    ["ReplicaRegion", "kms:ReplicaRegion"],
    ["WrappingAlgorithm", "kms:WrappingAlgorithm"],
    ["WrappingKeySpec", "kms:WrappingKeySpec"],
  ];
  for (const [parameter, key] of named) {
    const value = str(request[parameter]);
    if (value !== undefined) context[key] = value;
  }
  if (operation === "ImportKeyMaterial")
    context["kms:ExpirationModel"] = str(request.ExpirationModel) ?? "KEY_MATERIAL_EXPIRES";
  return context;
}

function findKey(store: KmsStore, region: string, ref: unknown): KeyRecord | undefined {
  if (typeof ref !== "string") return undefined;
  try {
    return store.resolveKey(region, ref, { allowAlias: true });
  } catch {
    return undefined;
  }
}

/** The ARN a key reference names, whether or not the key exists. */
function keyArnOf(store: KmsStore, region: string, ref: unknown): string {
  const key = findKey(store, region, ref);
  if (key !== undefined) return key.arn;
  const text = String(ref ?? "");
  if (text.startsWith("arn:")) return text;
  return `arn:aws:kms:${region}:${store.accountId}:${text.startsWith("alias/") ? text : `key/${text}`}`;
}

/** What IAM checks for one KMS call: each (action, resource) with its context. */
async function checksFor(
  operation: string,
  request: Record<string, unknown>,
  store: KmsStore,
  region: string,
): Promise<Check[]> {
  const action = `kms:${operation}`;
  const own = requestContext(operation, request);
  if (await isWildcardOnlyAction("kms", operation)) return [{ action, resource: "*", context: own }];
  const keyCheck = (ref: unknown): Check => ({
    action,
    resource: keyArnOf(store, region, ref),
    context: { ...keyContext(findKey(store, region, ref)), ...own },
  });
  if (operation === "CreateAlias" || operation === "UpdateAlias" || operation === "DeleteAlias") {
    const aliasName = String(request.AliasName ?? "");
    const checks: Check[] = [
      { action, resource: `arn:aws:kms:${region}:${store.accountId}:${aliasName}`, context: own },
    ];
    const current = store.findAlias(region, aliasName)?.targetKeyId;
    if (operation !== "CreateAlias" && current !== undefined) checks.push(keyCheck(current));
    if (operation !== "DeleteAlias") checks.push(keyCheck(request.TargetKeyId));
    return checks;
  }
  const checks = [keyCheck(request.KeyId)];
  if (operation === "ReplicateKey" && typeof request.ReplicaRegion === "string") {
    const primary = findKey(store, region, request.KeyId);
    checks.push({
      action: "kms:CreateKey",
      resource: "*",
      context: { ...requestContext("CreateKey", request), ...keyContext(primary), ...own },
    });
  }
  return checks;
}

function refusal(caller: PolicyCaller, check: Check, decision: PermissionDecision): KmsApiError {
  const why =
    decision === "ExplicitlyDenied"
      ? "with an explicit deny in an identity-based policy"
      : `because no identity-based policy allows the ${check.action} action`;
  return new KmsApiError(
    "AccessDeniedException",
    `User: ${caller.sessionArn} is not authorized to perform: ${check.action} on resource: ${check.resource} ${why}`,
  );
}

/**
 * @throws KmsApiError AccessDeniedException when the caller's policies do not allow the call (an explicit
 *   deny is named before an implicit one)
 */
export async function authorizeKmsCall(
  caller: PolicyCaller,
  operation: string,
  request: Record<string, unknown>,
  store: KmsStore,
  region: string,
): Promise<void> {
  const principal = {
    "aws:PrincipalArn": caller.roleArn,
    "aws:PrincipalAccount": caller.accountId,
    "kms:CallerAccount": caller.accountId,
  };
  let refused: KmsApiError | undefined;
  for (const check of await checksFor(operation, request, store, region)) {
    const requestedRegion = check.action === "kms:CreateKey" && operation === "ReplicateKey";
    const context: Context = {
      "aws:RequestedRegion": requestedRegion ? String(request.ReplicaRegion) : region,
      ...principal,
      ...check.context,
    };
    const decision = await caller.policies.decide({
      principal: caller.sessionArn,
      action: check.action,
      resource: check.resource,
      accountId: caller.accountId,
      context,
    });
    if (decision === "ExplicitlyDenied") throw refusal(caller, check, decision);
    if (decision !== "Allowed") refused ??= refusal(caller, check, decision);
  }
  if (refused !== undefined) throw refused;
}

/** For a service other than KMS (CloudTrail's LookupEvents), one action on "*". */
export async function authorizeCall(caller: PolicyCaller, action: string, region: string): Promise<void> {
  const decision = await caller.policies.decide({
    principal: caller.sessionArn,
    action,
    resource: "*",
    accountId: caller.accountId,
    context: {
      "aws:RequestedRegion": region,
      "aws:PrincipalArn": caller.roleArn,
      "aws:PrincipalAccount": caller.accountId,
    },
  });
  if (decision !== "Allowed") {
    throw refusal(caller, { action, resource: "*", context: {} }, decision);
  }
}
