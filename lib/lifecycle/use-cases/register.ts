import { randomBytes } from "node:crypto";
import { AuditDetailType, buildFactEvent } from "../../domain/audit-types.js";
import {
  assertAdoptable,
  assertAliasInScope,
  KEY_ID_TAG_KEY,
  managedByTag,
} from "../../domain/deployment.js";
import { CheckValueMismatchError, StateConflictError, ValidationError } from "../../domain/errors.js";
import {
  type AwsRegion,
  type CheckValue,
  type MaterialRef,
  newTetherKeyId,
  parseAwsRegion,
  parseCheckValue,
  parseMaterialRef,
  type TetherKeyId,
} from "../../domain/ids.js";
import { type ImportPolicy, parseImportPolicy } from "../../domain/import-policy.js";
import { parseKmsKeyArn } from "../../domain/key-arn.js";
import { ExpirationModel, KeySpec, KeyUsage } from "../../domain/kms-constants.js";
import { holdForRegistration, type ManagedKey, newManagedKey } from "../../domain/managed-key.js";
import { KeyOrigin } from "../../domain/observed.js";
import { auditContext, keySubject } from "../helpers/audit-context.js";
import type { LifecycleDeps, PolicyDefaults } from "../ports.js";
import { type RegionOutcome, reconcileWhenFree } from "../region/reconcile-region.js";

/** The tag Tether puts on every KMS key it creates, valued with the deployment (lib/domain/deployment.ts). */
export { MANAGED_BY_TAG_KEY } from "../../domain/deployment.js";

interface RegisterCommon {
  readonly materialRef: string;
  /** The check value the customer expects; when given, the vault's must equal it. */
  readonly checkValue?: string | undefined;
  readonly policy?: unknown;
  readonly actor: string;
  readonly correlationId: string;
}

/** Create a new EXTERNAL key (and replicas) and import the vault's material into it. */
export interface CreateKeyRequest extends RegisterCommon {
  readonly mode: "create";
  readonly region: string;
  readonly keySpec: string;
  readonly keyUsage?: string | undefined;
  readonly multiRegion?: boolean | undefined;
  readonly replicaRegions?: readonly string[] | undefined;
  readonly alias?: string | undefined;
  readonly description?: string | undefined;
  readonly tags?: Readonly<Record<string, string>> | undefined;
  /** Let the vault make new material under materialRef (at the customer's source of randomness). */
  readonly generateMaterial?: boolean | undefined;
}

/** Manage an existing EXTERNAL key (and named replicas). */
export interface AdoptKeyRequest extends RegisterCommon {
  readonly mode: "adopt";
  readonly keyArn: string;
  readonly replicaRegions?: readonly string[] | undefined;
}

export type RegisterRequest = CreateKeyRequest | AdoptKeyRequest;

export interface RegisterResult {
  readonly key: ManagedKey;
  readonly regions: Readonly<Record<string, RegionOutcome>>;
}

/**
 * Registers a key: validates everything first (nothing is created for a request that would be refused),
 * checks that the vault holds the material and that its check value is the expected one, creates or adopts
 * the KMS key (and replicas), records it, then imports into every Region.
 *
 * If the process stops after the KMS key is created but before it is recorded, the key is left tagged
 * `tether:managed-by` (this deployment's) and unmanaged; registering it again with mode "adopt" picks it up.
 * Existing material needs its check value, and the vault must say it can serve the key spec; then the
 * material reference is claimed (race-free, see KeyRepository.claimMaterial): one managed key per reference.
 * @throws ValidationError naming the field (checkValue missing for existing material, keySpec the
 *   material cannot serve, ...); CheckValueMismatchError; StateConflictError when the key is not EXTERNAL,
 *   already managed or another deployment's, or (field materialRef) the reference is another key's; Kms*Error
 *   and vault errors from the calls
 */
export async function registerKey(deps: LifecycleDeps, request: RegisterRequest): Promise<RegisterResult> {
  const claim: MaterialClaim = { held: undefined, recorded: false };
  try {
    return await register(deps, request, claim);
  } catch (error) {
    // A refused registration gives its material reference back; one whose key was recorded keeps it.
    if (claim.held !== undefined && !claim.recorded) {
      const { materialRef, id } = claim.held;
      await deps.keys.releaseMaterial(materialRef, id).catch(() => undefined);
    }
    throw error;
  }
}

/** The material reference this registration claimed, and whether its key record exists. */
interface MaterialClaim {
  held: { readonly materialRef: string; readonly id: TetherKeyId } | undefined;
  recorded: boolean;
}

/** An existing key as adoption finds it: its ARN, its replicas' ARNs and its key spec. */
interface AdoptableKey {
  readonly primaryArn: string;
  readonly replicaArns: string[];
  readonly keySpec: KeySpec;
}

/**
 * Checks an existing key can be adopted (KMS has it and each named replica, it is EXTERNAL, no other
 * deployment marks it) and reads its key spec. Reads only.
 * @throws ValidationError (keyArn, replicaRegions); StateConflictError (not EXTERNAL, another deployment's)
 */
async function adoptableKey(
  deps: LifecycleDeps,
  request: Omit<AdoptKeyRequest, "actor" | "correlationId">,
): Promise<AdoptableKey> {
  const arn = parseKmsKeyArn(request.keyArn, "keyArn");
  const observed = await deps.kms.describeKey(arn.region, arn.arn);
  if (!observed.found) throw new ValidationError("keyArn", `KMS has no key ${arn.arn}`);
  if (observed.origin !== KeyOrigin.EXTERNAL) {
    throw new StateConflictError(
      `Key ${arn.arn} has origin ${observed.origin}: only keys with imported material (EXTERNAL) can be managed.`,
      { keyId: arn.arn, state: observed.origin, field: "keyArn" },
    );
  }
  assertAdoptable(arn.arn, await deps.kms.listTags(arn.region, arn.arn), deps.deployment);
  const keySpec = parseKeySpec(observed.keySpec ?? "");
  const replicaRegions = parseReplicaRegions(request.replicaRegions, arn.region);
  assertRegionsAllowed(deps, arn.region, replicaRegions);
  if (replicaRegions.length > 0 && !arn.multiRegion) {
    throw new ValidationError("replicaRegions", "only a Multi-Region key (mrk-…) has replicas");
  }
  const replicaArns = replicaRegions.map((r) => arn.arn.replace(`:${arn.region}:`, `:${r}:`));
  for (const replicaArn of replicaArns) {
    const replica = await deps.kms.describeKey(parseKmsKeyArn(replicaArn).region, replicaArn);
    if (!replica.found) throw new ValidationError("replicaRegions", `KMS has no replica ${replicaArn}`);
  }
  return { primaryArn: arn.arn, replicaArns, keySpec };
}

/** What an adoption dry run found: the request would be accepted as it stands. */
export interface AdoptionCheck {
  readonly keyArn: string;
  readonly keySpec: KeySpec;
  /** The primary's Region first, then the replicas'. */
  readonly regions: readonly string[];
  readonly materialRef: string;
  /** The vault's check value, equal to the one the request gave. */
  readonly checkValue: CheckValue;
}

/**
 * An adoption's dry run: every check `registerKey` makes before it changes anything (the policy, the key
 * exists in KMS and is EXTERNAL, its replicas exist, the key is not managed yet, the vault holds material
 * under the reference that can serve the key, and its check value is the one given), reading only: no claim,
 * no record, no KMS or vault write, no audit event. A material reference another key holds is found only by
 * the real registration (the claim is its race-free check).
 * @throws as registerKey does for the same request; StateConflictError (field keyArn) when already managed
 */
export async function checkAdoption(
  deps: LifecycleDeps,
  request: Omit<AdoptKeyRequest, "actor" | "correlationId">,
): Promise<AdoptionCheck> {
  const materialRef = parseMaterialRef(request.materialRef);
  const expected = request.checkValue === undefined ? undefined : parseCheckValue(request.checkValue);
  parseImportPolicy(withStageDefaults(request.policy, deps.policyDefaults));
  const key = await adoptableKey(deps, request);
  const managed = await deps.keys.resolve(key.primaryArn);
  if (managed !== undefined) {
    throw new StateConflictError(`Key ${key.primaryArn} is already managed (${managed}).`, {
      keyId: managed,
      state: "managed",
      field: "keyArn",
    });
  }
  const checkValue = await materialCheckValue(
    deps,
    request,
    materialRef,
    key.keySpec,
    expected,
    key.primaryArn,
  );
  const regions = [key.primaryArn, ...key.replicaArns].map((arn) => parseKmsKeyArn(arn).region);
  return { keyArn: key.primaryArn, keySpec: key.keySpec, regions, materialRef, checkValue };
}

async function register(
  deps: LifecycleDeps,
  request: RegisterRequest,
  claim: MaterialClaim,
): Promise<RegisterResult> {
  const now = deps.clock();
  const materialRef = parseMaterialRef(request.materialRef);
  const expected = request.checkValue === undefined ? undefined : parseCheckValue(request.checkValue);
  const policy = parseImportPolicy(withStageDefaults(request.policy, deps.policyDefaults));
  const id = newTetherKeyId(now, randomBytes(10));

  const { primaryArn, replicaArns, keySpec, checkValue } =
    request.mode === "create"
      ? await createInKms(deps, request, { id, now, materialRef, expected, policy }, claim)
      : await adoptFromKms(deps, request, { id, now, materialRef, expected, policy }, claim);

  const fresh = newManagedKey(
    {
      id,
      keyArn: primaryArn,
      keySpec,
      replicaArns,
      materialRef,
      checkValue,
      vaultKind: deps.vault.kind,
      policy,
      alias: request.mode === "create" ? request.alias : undefined,
      description: request.mode === "create" ? request.description : undefined,
    },
    now,
  );
  // The registration owns its Regions until it has imported into each (primary first); only if it stops
  // does the sweep take them, a lease's lifetime later.
  const key = holdForRegistration(fresh, new Date(now.getTime() + deps.leaseTtlMs));
  await deps.keys.create(key);
  claim.recorded = true;
  await deps.audit.record(
    buildFactEvent(AuditDetailType.KeyRegistered, auditContext(deps, request, now), keySubject(key)),
  );

  const regions: Record<string, RegionOutcome> = {};
  for (const record of key.regions) {
    regions[record.region] = await reconcileWhenFree(deps, key.id, record.region, {
      actor: request.actor,
      correlationId: request.correlationId,
    });
  }
  const stored = await deps.keys.get(key.id);
  return { key: stored ?? key, regions };
}

/** What a registration is about to record, fixed before anything reaches KMS. */
interface RegistrationPlan {
  readonly id: TetherKeyId;
  readonly now: Date;
  readonly materialRef: MaterialRef;
  readonly expected: CheckValue | undefined;
  readonly policy: ImportPolicy;
}

/** The key's place in KMS and its material, as a registration found or made them. */
interface RegisteredKms {
  readonly primaryArn: string;
  readonly replicaArns: string[];
  readonly keySpec: KeySpec;
  readonly checkValue: CheckValue;
}

/** Mode create: the record tried first, the material claimed, then the key, its replicas and alias made. */
async function createInKms(
  deps: LifecycleDeps,
  request: RegisterRequest & { readonly mode: "create" },
  plan: RegistrationPlan,
  claim: MaterialClaim,
): Promise<RegisteredKms> {
  const { id, now, materialRef, expected, policy } = plan;
  const keySpec = parseKeySpec(request.keySpec);
  const region = parseAwsRegion(request.region, "region");
  const replicaRegions = parseReplicaRegions(request.replicaRegions, region);
  assertRegionsAllowed(deps, region, replicaRegions);
  const multiRegion = request.multiRegion ?? replicaRegions.length > 0;
  if (replicaRegions.length > 0 && !multiRegion) {
    throw new ValidationError("replicaRegions", "only a Multi-Region key has replicas (set multiRegion)");
  }
  const keyUsage = parseKeyUsage(request.keyUsage, keySpec);
  // Dry run of the record with a stand-in ARN, so a bad alias, description or policy is refused before
  // anything exists in KMS.
  const standIn = `arn:aws:kms:${region}:000000000000:key/${multiRegion ? `mrk-${"0".repeat(32)}` : "00000000-0000-0000-0000-000000000000"}`;
  newManagedKey(
    {
      id,
      keyArn: standIn,
      keySpec,
      replicaArns: replicaRegions.map((r) => standIn.replace(`:${region}:`, `:${r}:`)),
      materialRef,
      checkValue: parseCheckValue("kcv:0"),
      policy,
      alias: request.alias,
      description: request.description,
    },
    now,
  );
  assertAliasInScope(request.alias, deps.aliasPrefix);
  const checkValue = await claimedMaterial(deps, request, materialRef, keySpec, expected, id, claim);
  const tags = { ...request.tags, ...managedByTag(deps.deployment), [KEY_ID_TAG_KEY]: id };
  const created = await deps.kms.createKey({
    region,
    keySpec,
    keyUsage,
    multiRegion,
    description: request.description,
    tags,
  });
  const primaryArn = created.keyArn;
  const replicaArns: string[] = [];
  for (const replicaRegion of replicaRegions) {
    const replica = await deps.kms.replicateKey({
      primaryRegion: region,
      // By ARN, like every call for a managed key: the adapter picks the client by the account it names.
      keyId: primaryArn,
      replicaRegion,
      description: request.description,
      tags,
    });
    replicaArns.push(replica.keyArn);
  }
  if (request.alias !== undefined) {
    for (const arn of [primaryArn, ...replicaArns]) {
      await deps.kms.createAlias(parseKmsKeyArn(arn).region, request.alias, arn);
    }
  }
  return { primaryArn, replicaArns, keySpec, checkValue };
}

/** Mode adopt: an existing EXTERNAL key (and named replicas) this deployment may manage, and its material. */
async function adoptFromKms(
  deps: LifecycleDeps,
  request: RegisterRequest & { readonly mode: "adopt" },
  plan: RegistrationPlan,
  claim: MaterialClaim,
): Promise<RegisteredKms> {
  const { id, materialRef, expected } = plan;
  const { primaryArn, replicaArns, keySpec } = await adoptableKey(deps, request);
  const checkValue = await claimedMaterial(deps, request, materialRef, keySpec, expected, id, claim);
  return { primaryArn, replicaArns, keySpec, checkValue };
}

/**
 * Checks the material (the check value of what the vault holds, or makes), then claims the reference for
 * this registration, still before anything exists in KMS: no two managed keys share one (a key swap's
 * successor claims its own new reference). The claim is the race-free part (one conditional write); the
 * checks come first so a refusal names what is wrong with the request itself.
 */
async function claimedMaterial(
  deps: LifecycleDeps,
  request: RegisterRequest,
  materialRef: string,
  keySpec: KeySpec,
  expected: CheckValue | undefined,
  id: TetherKeyId,
  claim: MaterialClaim,
): Promise<CheckValue> {
  const checkValue = await materialCheckValue(deps, request, materialRef, keySpec, expected, id);
  await deps.keys.claimMaterial(materialRef, id);
  claim.held = { materialRef, id };
  return checkValue;
}

async function materialCheckValue(
  deps: LifecycleDeps,
  request: Pick<RegisterRequest, "mode"> & { readonly generateMaterial?: boolean | undefined },
  materialRef: string,
  keySpec: KeySpec,
  expected: CheckValue | undefined,
  id: string,
): Promise<CheckValue> {
  if (request.mode === "create" && request.generateMaterial === true) {
    if (expected !== undefined) {
      throw new ValidationError("checkValue", "cannot be given with generateMaterial (the material is new)");
    }
    const { checkValue } = await deps.vault.generate(materialRef, keySpec);
    return parseCheckValue(checkValue);
  }
  if (!(await deps.vault.has(materialRef))) {
    throw new ValidationError(
      "materialRef",
      `the ${deps.vault.kind} vault holds no material under this reference`,
    );
  }
  if (expected === undefined) {
    // Existing material is registered only by someone who can say which bytes they mean: a reference
    // typed wrong, or one a colleague filled, would otherwise be imported for ever (a key takes one
    // material).
    throw new ValidationError(
      "checkValue",
      "required: the vault already holds material under materialRef; give its check value (or set generateMaterial for new material under a new reference)",
    );
  }
  await assertMaterialServes(deps, request, materialRef, keySpec);
  const actual = parseCheckValue(await deps.vault.checkValue(materialRef));
  if (expected !== actual) {
    throw new CheckValueMismatchError({ keyId: id, materialRef });
  }
  return actual;
}

/**
 * The material must be of the kind the key takes, before anything is created: one secret, one key type
 * (see MaterialDescription in lib/vault/port.ts), so 32 bytes stored as an AES key never become an HMAC
 * key, and symmetric material never goes under an RSA key that could never import it. A vault that cannot
 * tell lets the registration go on; the first import then refuses and waits for an operator.
 * @throws ValidationError naming keySpec (create) or materialRef (adopt: the spec is the KMS key's)
 */
async function assertMaterialServes(
  deps: LifecycleDeps,
  request: Pick<RegisterRequest, "mode">,
  materialRef: string,
  keySpec: KeySpec,
): Promise<void> {
  const described = await deps.vault.describe(materialRef);
  if (described === undefined || described.keySpecs.includes(keySpec)) return;
  const holds = `the ${deps.vault.kind} vault holds ${described.keySpecs.join(" or ")} material under materialRef`;
  if (request.mode === "create") {
    throw new ValidationError(
      "keySpec",
      `${holds}, which cannot serve as ${keySpec} (one secret serves one key type)`,
    );
  }
  throw new ValidationError(
    "materialRef",
    `${holds}; the key is ${keySpec} (one secret serves one key type)`,
  );
}

function parseKeySpec(value: string): KeySpec {
  if (!Object.hasOwn(KeySpec, value)) {
    throw new ValidationError("keySpec", `must be one of ${Object.values(KeySpec).join(", ")}`);
  }
  return value as KeySpec;
}

/** The usage a key spec allows; the default is the only or the usual one. */
function parseKeyUsage(value: string | undefined, keySpec: KeySpec): KeyUsage {
  const allowed: readonly KeyUsage[] = keySpec.startsWith("HMAC_")
    ? [KeyUsage.GENERATE_VERIFY_MAC]
    : keySpec.startsWith("RSA_")
      ? [KeyUsage.ENCRYPT_DECRYPT, KeyUsage.SIGN_VERIFY]
      : keySpec.startsWith("ECC_")
        ? [KeyUsage.SIGN_VERIFY]
        : [KeyUsage.ENCRYPT_DECRYPT];
  const usage = (value ?? allowed[0]) as KeyUsage;
  if (!allowed.includes(usage)) {
    throw new ValidationError("keyUsage", `must be one of ${allowed.join(", ")} for ${keySpec}`);
  }
  return usage;
}

function parseReplicaRegions(values: readonly string[] | undefined, primary: AwsRegion): AwsRegion[] {
  const regions = (values ?? []).map((r, i) => parseAwsRegion(r, `replicaRegions[${i}]`));
  const seen = new Set<string>([primary]);
  regions.forEach((r, i) => {
    if (seen.has(r))
      throw new ValidationError(`replicaRegions[${i}]`, `region ${r} repeats or is the primary's`);
    seen.add(r);
  });
  return regions;
}

/**
 * The stage's default validity and renew window, where the request's policy sets no expiry of its own.
 * A request that names a validity, a fixed ValidTo or no expiry at all keeps it; a default renew window
 * only comes with the default validity (a request's own validity gets the domain's proportional window).
 */
export function withStageDefaults(policy: unknown, defaults: PolicyDefaults | undefined): unknown {
  if (defaults === undefined || (policy !== undefined && (typeof policy !== "object" || policy === null))) {
    return policy;
  }
  const input = (policy ?? {}) as Record<string, unknown>;
  const ownsExpiry =
    input.validityPeriod !== undefined ||
    input.validTo !== undefined ||
    input.expirationModel === ExpirationModel.KEY_MATERIAL_DOES_NOT_EXPIRE;
  if (ownsExpiry || defaults.validityPeriod === undefined) return policy;
  return {
    ...input,
    validityPeriod: defaults.validityPeriod,
    ...(input.renewBefore === undefined && defaults.renewBefore !== undefined
      ? { renewBefore: defaults.renewBefore }
      : {}),
  };
}

function assertRegionsAllowed(deps: LifecycleDeps, primary: string, replicas: readonly string[]): void {
  const allowed = deps.allowedRegions ?? [];
  if (allowed.length === 0) return;
  [primary, ...replicas].forEach((region, i) => {
    if (!allowed.includes(region)) {
      throw new ValidationError(
        i === 0 ? "region" : `replicaRegions[${i - 1}]`,
        `${region} is not one of this deployment's Regions (${allowed.join(", ")})`,
      );
    }
  });
}
