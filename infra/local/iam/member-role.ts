/**
 * The member role of infra/member-account.yml, rendered for one member account as CloudFormation would make
 * it: its trust policy and its permission policy (the template's own `tether-member` policy, intrinsics
 * resolved with the given parameters and the member's account). The local STS takes both
 * (`KmsAdmin.putRole({ arn, trustPolicy, permissionPolicy })`), so a KMS call made in a member with the role's
 * session is allowed exactly when the template allows it. test/deploy/member-account.test.ts checks the
 * same rendering against the hub's statements.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { type CfnTemplate, resolvePolicy } from "./cfn-policy.js";

export const MEMBER_TEMPLATE_PATH = join(import.meta.dirname, "..", "..", "member-account.yml");

export interface MemberTemplateParameters {
  /** The member account the stack runs in (AWS::AccountId). */
  readonly memberAccountId: string;
  readonly hubAccountId: string;
  /** tether-<stage>-<hub Region>: the hub's roles are <prefix>-api, -sweep, -sweep-partition, -kms-events. */
  readonly hubRolePrefix: string;
  readonly externalId: string;
  /** The hub deployment's tether:managed-by value, tether/<stage>/<hub Region>. */
  readonly deployment: string;
  /** The hub's Regions; the first is the RoleRegion unless given. */
  readonly regions: readonly string[];
  readonly roleRegion?: string;
  /** Default tether-member, as the template's. */
  readonly memberRoleName?: string;
}

export interface RenderedMemberRole {
  readonly arn: string;
  readonly trustPolicy: unknown;
  readonly permissionPolicy: unknown;
}

let template: CfnTemplate | undefined;

/** The template, read once per process. */
export function memberTemplate(): CfnTemplate {
  template ??= parse(readFileSync(MEMBER_TEMPLATE_PATH, "utf8")) as CfnTemplate;
  return template;
}

/** The template with `values` as its parameters' defaults (what the resolver computes with). */
export function withParameterValues(t: CfnTemplate, values: Readonly<Record<string, unknown>>): CfnTemplate {
  const parameters = Object.fromEntries(
    Object.entries(t.Parameters ?? {}).map(([name, p]) => [
      name,
      { ...p, Default: values[name] ?? p.Default },
    ]),
  );
  return { ...t, Parameters: parameters };
}

/** @throws Error when the template has no MemberRole with exactly one inline policy */
export function renderMemberRole(p: MemberTemplateParameters): RenderedMemberRole {
  const region = p.roleRegion ?? p.regions[0] ?? "us-east-1";
  const values: Record<string, unknown> = {
    HubAccountId: p.hubAccountId,
    HubRolePrefix: p.hubRolePrefix,
    ExternalId: p.externalId,
    Deployment: p.deployment,
    Regions: [...p.regions],
    HubBusArn: `arn:aws:events:${region}:${p.hubAccountId}:event-bus/default`,
    RoleRegion: region,
    ...(p.memberRoleName === undefined ? {} : { MemberRoleName: p.memberRoleName }),
  };
  const t = withParameterValues(memberTemplate(), values);
  const role = t.Resources.MemberRole?.Properties as
    | { RoleName: unknown; AssumeRolePolicyDocument: unknown; Policies?: Array<{ PolicyDocument: unknown }> }
    | undefined;
  if (role === undefined || role.Policies?.length !== 1)
    throw new Error(`${MEMBER_TEMPLATE_PATH}: MemberRole with one inline policy expected`);
  const place = { accountId: p.memberAccountId, region };
  return {
    arn: `arn:aws:iam::${p.memberAccountId}:role/${String(resolvePolicy(t, role.RoleName, place))}`,
    trustPolicy: resolvePolicy(t, role.AssumeRolePolicyDocument, place),
    permissionPolicy: resolvePolicy(t, role.Policies[0]?.PolicyDocument, place),
  };
}
