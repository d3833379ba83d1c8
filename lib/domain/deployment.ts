import { StateConflictError, ValidationError } from "./errors.js";

/**
 * Which deployment of Tether manages a KMS key: the value of the `tether:managed-by` tag, `tether/<stage>/<home
 * Region>`. The IAM policies of a deployment's roles (infra/iam-statements.yml) allow KMS writes only on keys
 * whose tag carries exactly this value, so a dev stage in the same account cannot revoke, import into or
 * re-point a prod key, and a stage deployed in two Regions keeps two scopes. Tether writes the tag when it
 * creates a key (register, key swap, each replica), checks it when a key is adopted, and removes it when a key
 * is no longer managed.
 */
export const MANAGED_BY_TAG_KEY = "tether:managed-by";

/** The tag naming the Tether key id a KMS key belongs to, written on every key Tether creates (register, swap). */
export const KEY_ID_TAG_KEY = "tether:key-id";

/** serverless.yml's stage names (letters, digits, hyphens) and an AWS Region name. */
const DEPLOYMENT = /^tether\/[A-Za-z0-9-]{1,64}\/[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** `tether/<stage>/<region>`, checked. @throws Error naming what is wrong */
export function deploymentTagValue(stage: string, region: string): string {
  return parseDeployment(`tether/${stage}/${region}`);
}

/**
 * A deployment identity as the tag carries it.
 * @throws Error when it is not `tether/<stage>/<region>`
 */
export function parseDeployment(value: string): string {
  if (!DEPLOYMENT.test(value)) {
    throw new Error(
      `a deployment is tether/<stage>/<region> (stage: letters, digits, hyphens), not "${value}"`,
    );
  }
  return value;
}

/** The tag that marks a key as this deployment's, for CreateKey and ReplicateKey. */
export function managedByTag(deployment: string): Record<string, string> {
  return { [MANAGED_BY_TAG_KEY]: deployment };
}

/** Whose a key is, from its tags. */
export type KeyOwnership =
  | { readonly kind: "ours" }
  | { readonly kind: "unmarked" }
  | { readonly kind: "other"; readonly deployment: string };

export function ownershipOf(tags: Readonly<Record<string, string>>, deployment: string): KeyOwnership {
  const value = tags[MANAGED_BY_TAG_KEY];
  if (value === undefined) return { kind: "unmarked" };
  return value === deployment ? { kind: "ours" } : { kind: "other", deployment: value };
}

/**
 * A key that another deployment (another stage, another Region's stack, or a Tether older than deployment
 * scopes, whose tag says only `tether`) marks as its own is not adopted: two deployments would renew, restore
 * and revoke the same key, and this one's IAM policy would refuse every write anyway.
 * An unmarked key may be adopted; the operator tags it first (docs/deploy.md), since Tether's roles cannot.
 * @throws StateConflictError naming the other deployment
 */
export function assertAdoptable(
  keyArn: string,
  tags: Readonly<Record<string, string>>,
  deployment: string,
): void {
  const ownership = ownershipOf(tags, deployment);
  if (ownership.kind === "other") {
    throw new StateConflictError(
      `Key ${keyArn} belongs to another Tether deployment (${MANAGED_BY_TAG_KEY}=${ownership.deployment}); this one is ${deployment}. Unmanage it there first.`,
      { keyId: keyArn, state: "other-deployment" },
    );
  }
}

/** A deployment's alias prefix: what follows `alias/`, letters, digits, `/ _ -`; empty allows any alias. */
const ALIAS_PREFIX = /^[A-Za-z0-9/_-]{0,200}$/;

/** @throws Error when it is not an alias prefix */
export function parseAliasPrefix(value: string): string {
  if (!ALIAS_PREFIX.test(value) || value.startsWith("aws/")) {
    throw new Error(
      `an alias prefix is what follows alias/ (letters, digits, '/', '_', '-'), not "${value}"`,
    );
  }
  return value;
}

/**
 * Whether Tether's roles may create or move this alias: its IAM policies allow alias writes only on
 * `alias/<prefix>*` (infra/iam-statements.yml), so an alias outside is refused before any key is created.
 */
export function aliasInScope(alias: string, prefix: string | undefined): boolean {
  return prefix === undefined || prefix === "" || alias.startsWith(`alias/${prefix}`);
}

/** @throws ValidationError naming `field` when the alias is outside the deployment's prefix */
export function assertAliasInScope(
  alias: string | undefined,
  prefix: string | undefined,
  field = "alias",
): void {
  if (alias === undefined || aliasInScope(alias, prefix)) return;
  throw new ValidationError(field, `must start with alias/${prefix} (this deployment's alias prefix)`);
}
