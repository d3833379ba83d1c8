/**
 * Rotation by key swap: a new EXTERNAL key (same spec, usage, description, tags, key policy and replicas)
 * gets new material from the vault, then the alias callers use is pointed at it. The old key stays
 * managed — renewed and restored like any other — so data it protected still decrypts (and signatures
 * still verify), until an operator retires it (DELETE /keys/{id}, or revoke).
 * The only rotation asymmetric and HMAC keys have, and a choice for symmetric keys:
 * https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys-import-key-material.html
 * https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys-manually.html
 *
 * Crash safety, step by step (each step checks what an earlier, interrupted run already did):
 *  1. the new material is made in the vault under a deterministic reference and the intent is recorded on
 *     the old key (`pendingSwap`, with the successor's Tether id and the alias) before KMS is touched;
 *  2. CreateKey, and its ARN recorded at once; a crash between the two leaves an empty key (PendingImport,
 *     tagged `tether:swap-of`) that the rerun does not find: it creates another one (the orphan holds no
 *     material, so it protects nothing; docs/deploy.md says how to find and delete it);
 *  3. replicas, each made only if DescribeKey does not find it;
 *  4. the successor recorded as a managed key (its claims make a second record impossible), then its
 *     material imported in every Region through reconcileRegion, with its own crash safety;
 *  5. the alias pointed at the successor in every Region (UpdateAlias is idempotent);
 *  6. the alias's claim moved in Tether's records, the "Key Swapped" events written, `pendingSwap` cleared.
 * Until step 5 callers still use the old key, which is untouched; after it they use the new one, which holds
 * its material everywhere. No step leaves callers without a working key.
 */
import { randomBytes } from "node:crypto";
import { AuditDetailType, buildFactEvent, RotationStep } from "../../domain/audit-types.js";
import { aliasInScope, KEY_ID_TAG_KEY, managedByTag } from "../../domain/deployment.js";
import { StateConflictError } from "../../domain/errors.js";
import { type AwsRegion, type MaterialRef, newTetherKeyId, parseMaterialRef } from "../../domain/ids.js";
import type { PendingSwap } from "../../domain/key-material.js";
import { KeyState, KeyUsage } from "../../domain/kms-constants.js";
import { keyMaterials, type ManagedKey, newManagedKey } from "../../domain/managed-key.js";
import { fixedContext, keySubject, primaryArn } from "../helpers/audit-context.js";
import { saveKeyChange } from "../helpers/save-key.js";
import type { LifecycleDeps } from "../ports.js";
import { reconcileWhenFree } from "../region/reconcile-region.js";
import { loadKey } from "./operator-actions.js";
import { arnIn, markStep, recordSteps, startIntent, stepName } from "./rotation-steps.js";

/** The tag naming the key a swap replaced, on the new KMS key (so an orphan of step 2 can be found). */
export const SWAP_OF_TAG = "tether:swap-of";

export interface SwapRequest {
  readonly reason: string;
  readonly actor: string;
  readonly correlationId: string;
}

export interface SwapResult {
  /** The old key, now superseded (still managed). */
  readonly key: ManagedKey;
  /** The new key, which holds the alias. */
  readonly successor: ManagedKey;
  /** True when this call finished a swap an earlier, interrupted call had started. */
  readonly resumed: boolean;
}

/**
 * Swaps the key for a new one. The caller holds the lease on the old key's primary Region.
 * @throws StateConflictError (no alias to move; already superseded; revoked); Kms*Error and vault errors
 *   from the calls; StateConflictError (swap-incomplete) when the new key did not get its material in every Region (the alias still
 *   names the old key; the next call goes on from there)
 */
export async function swapKey(
  deps: LifecycleDeps,
  start: ManagedKey,
  request: SwapRequest,
): Promise<SwapResult> {
  if (start.supersededBy !== undefined) {
    throw new StateConflictError(
      `Key ${start.id} was already swapped for ${start.supersededBy}; rotate that key instead.`,
      { keyId: start.id, state: "superseded" },
    );
  }
  const resumed = start.pendingSwap !== undefined;
  let key = start.pendingSwap === undefined ? await begin(deps, start, request) : start;
  // Steps an interrupted run recorded but may not have audited yet (same ids and times: no duplicates).
  await recordSteps(deps, key, "swap");
  key = await createPrimary(deps, key);
  key = await createReplicas(deps, key);
  const successor = await manageSuccessor(deps, key);
  key = await importIntoSuccessor(deps, key, successor);
  key = await repointAlias(deps, key);
  return finish(deps, key, resumed);
}

/**
 * A member account's key is never swapped: the swap creates a key (and replicas), copies its policy and moves
 * an alias in the key's account, and the member role may do none of it (infra/member-account.yml: reads, the
 * import path and taking the mark off). Refused before anything is written.
 */
async function assertNotMemberKey(deps: LifecycleDeps, key: ManagedKey): Promise<void> {
  if (deps.deploymentAccount === undefined || key.account === (await deps.deploymentAccount())) return;
  throw new StateConflictError(
    `Key ${key.id} is in member account ${key.account}: a key swap creates a key and moves an alias there, which the member role may not do. Rotate it in-key, or create the new key in the member and adopt it.`,
    { keyId: key.id, state: "member-key" },
  );
}

/** Step 1: the new material in the vault, the intent on the old key. */
async function begin(deps: LifecycleDeps, key: ManagedKey, request: SwapRequest): Promise<ManagedKey> {
  await assertNotMemberKey(deps, key);
  if (key.alias === undefined) {
    throw new StateConflictError(
      `Key ${key.id} has no alias: a key swap moves the alias callers use to the new key. Give the key an alias, or rotate in-key.`,
      { keyId: key.id, state: "no-alias" },
    );
  }
  if (!aliasInScope(key.alias, deps.aliasPrefix)) {
    throw new StateConflictError(
      `Key ${key.id}'s alias ${key.alias} is outside this deployment's alias prefix (alias/${deps.aliasPrefix}): Tether's roles may not move it. Give the key an alias under the prefix, or rotate in-key.`,
      { keyId: key.id, state: "alias-outside-prefix" },
    );
  }
  const now = deps.clock();
  const materialRef = swapMaterialRef(key);
  const pendingSwap: PendingSwap = {
    ...(await startIntent(deps, request, materialRef, key.keySpec)),
    successorId: newTetherKeyId(now, randomBytes(10)),
    alias: key.alias,
  };
  return deps.keys.saveKey({ ...key, pendingSwap, updatedAt: now });
}

/** Step 2: the new key in the primary Region, with the old one's usage, description, tags and policy. */
async function createPrimary(deps: LifecycleDeps, key: ManagedKey): Promise<ManagedKey> {
  const swap = pending(key);
  if (swap.newKeyArn !== undefined) return key;
  const old = primaryArn(key);
  const observed = await deps.kms.describeKey(key.primaryRegion, old);
  if (!observed.found) {
    throw new StateConflictError(`KMS no longer has key ${old}; a swap copies it.`, {
      keyId: key.id,
      state: "kms-key-gone",
    });
  }
  const created = await deps.kms.createKey({
    region: key.primaryRegion,
    keySpec: key.keySpec,
    keyUsage: (observed.keyUsage ?? KeyUsage.ENCRYPT_DECRYPT) as KeyUsage,
    multiRegion: key.multiRegion,
    description: key.description,
    tags: await successorTags(deps, key.primaryRegion, old, key),
    policy: await deps.kms.getKeyPolicy(key.primaryRegion, old),
    // In the old key's account, the deployment's: a member's key is refused before (assertNotMemberKey).
    account: key.account,
  });
  const now = deps.clock();
  const saved = await saveKeyChange(deps, key, (current) =>
    current.pendingSwap === undefined
      ? current
      : {
          ...current,
          pendingSwap: {
            ...current.pendingSwap,
            newKeyArn: created.keyArn,
            steps: { ...current.pendingSwap.steps, [RotationStep.KeyCreated]: now },
          },
        },
  );
  await recordSteps(deps, saved, "swap", [RotationStep.KeyCreated]);
  return saved;
}

/** Step 3: a replica of the new key wherever the old key has one, each with that replica's policy and tags. */
async function createReplicas(deps: LifecycleDeps, start: ManagedKey): Promise<ManagedKey> {
  let key = start;
  const newArn = newKeyArn(key);
  for (const record of key.regions) {
    if (record.region === key.primaryRegion) continue;
    const name = stepName(RotationStep.ReplicaCreated, record.region);
    if (pending(key).steps[name] !== undefined) continue;
    if (!(await deps.kms.describeKey(record.region, arnIn(newArn, record.region))).found) {
      await deps.kms.replicateKey({
        primaryRegion: key.primaryRegion,
        keyId: newArn,
        replicaRegion: record.region,
        description: key.description,
        tags: await successorTags(deps, record.region, record.keyArn, key),
        policy: await deps.kms.getKeyPolicy(record.region, record.keyArn),
      });
    }
    key = await markStep(deps, key, "swap", name);
  }
  return key;
}

/** Step 4a: the successor as a managed key (same policy, vault and description; no alias yet). */
async function manageSuccessor(deps: LifecycleDeps, key: ManagedKey): Promise<ManagedKey> {
  const swap = pending(key);
  const existing = await deps.keys.get(swap.successorId);
  if (existing !== undefined) {
    // A crash after the record and before its event: the same event again (same id and time).
    await deps.audit.record(successorRegistered(key, existing));
    return existing;
  }
  const newArn = newKeyArn(key);
  const now = deps.clock();
  const successor = newManagedKey(
    {
      id: swap.successorId,
      keyArn: newArn,
      keySpec: key.keySpec,
      replicaArns: key.regions
        .filter((r) => r.region !== key.primaryRegion)
        .map((r) => arnIn(newArn, r.region)),
      materialRef: swap.materialRef,
      checkValue: swap.checkValue,
      vaultKind: deps.vault.kind,
      policy: key.policy,
      description: key.description,
      supersedes: key.id,
    },
    now,
  );
  await deps.keys.create(successor);
  await deps.audit.record(successorRegistered(key, successor));
  return successor;
}

/** The new key's "Key Registered" event, timed by its record so writing it twice is one fact. */
function successorRegistered(key: ManagedKey, successor: ManagedKey) {
  const swap = pending(key);
  return buildFactEvent(
    AuditDetailType.KeyRegistered,
    fixedContext(`${swap.eventId}:registered`, successor.createdAt, swap),
    {
      ...keySubject(successor),
      checkValue: swap.checkValue,
      reason: `key swap of ${key.id}: ${swap.reason}`,
      relatedKeyId: key.id,
    },
  );
}

/**
 * Step 4b: the successor's material in every Region, through the same path as any import; then KMS is
 * asked whether each Region holds it, since the alias must not move to a key that cannot be used.
 * @throws StateConflictError (swap-incomplete) naming the Regions that are not ready
 */
async function importIntoSuccessor(
  deps: LifecycleDeps,
  key: ManagedKey,
  successor: ManagedKey,
): Promise<ManagedKey> {
  const swap = pending(key);
  if (swap.steps[RotationStep.SuccessorReady] !== undefined) return key;
  const notReady: string[] = [];
  for (const record of successor.regions) {
    const outcome = await reconcileWhenFree(deps, successor.id, record.region, {
      actor: swap.actor,
      correlationId: swap.correlationId,
    });
    const observed = await deps.kms.describeKey(record.region, record.keyArn);
    if (!observed.found || observed.keyState !== KeyState.Enabled) {
      notReady.push(
        `${record.region} (${outcome.kind}${"errorName" in outcome ? `: ${outcome.errorName}` : ""})`,
      );
    }
  }
  if (notReady.length > 0) {
    throw new StateConflictError(
      `The new key ${successor.id} of the swap of ${key.id} has no usable material in ${notReady.join(", ")}; the alias still names the old key. Rotate again to go on.`,
      { keyId: key.id, state: "swap-incomplete" },
    );
  }
  return markStep(deps, key, "swap", RotationStep.SuccessorReady);
}

/** Step 5: the alias names the new key in every Region of the old one (created where it was missing). */
async function repointAlias(deps: LifecycleDeps, start: ManagedKey): Promise<ManagedKey> {
  let key = start;
  const { alias } = pending(key);
  const newArn = newKeyArn(key);
  for (const record of key.regions) {
    const name = stepName(RotationStep.AliasRepointed, record.region);
    if (pending(key).steps[name] !== undefined) continue;
    const target = arnIn(newArn, record.region);
    const current = await deps.kms.aliasTarget(record.region, alias, key.account);
    if (current === undefined) await deps.kms.createAlias(record.region, alias, target);
    else if (current !== target) await deps.kms.updateAlias(record.region, alias, target);
    key = await markStep(deps, key, "swap", name);
  }
  return key;
}

/**
 * Step 6: the alias claim moves (the old record gives it up first: a claim names one key), the events, and
 * the old key marked superseded.
 */
async function finish(deps: LifecycleDeps, start: ManagedKey, resumed: boolean): Promise<SwapResult> {
  let key = start;
  if (key.alias !== undefined) {
    key = await saveKeyChange(deps, key, (current) => ({ ...current, alias: undefined }));
  }
  const alias = pending(key).alias;
  let successor = await loadKey(deps, pending(key).successorId);
  if (successor.alias !== alias) {
    successor = await saveKeyChange(deps, successor, (current) => ({ ...current, alias }));
  }
  // The events' time is recorded first, so events written again after a crash are the same facts.
  if (pending(key).steps[FINISHED] === undefined) key = await markStep(deps, key, "swap", FINISHED);
  const swap = pending(key);
  const now = swap.steps[FINISHED] ?? deps.clock();
  await deps.audit.record(
    buildFactEvent(AuditDetailType.KeySwapped, fixedContext(swap.eventId, now, swap), {
      ...keySubject(key),
      reason: swap.reason,
      relatedKeyId: successor.id,
    }),
    buildFactEvent(AuditDetailType.KeySwapped, fixedContext(`${swap.eventId}:successor`, now, swap), {
      ...keySubject(successor),
      reason: swap.reason,
      relatedKeyId: key.id,
    }),
  );
  key = await saveKeyChange(deps, key, (current) => ({
    ...current,
    pendingSwap: undefined,
    supersededBy: swap.successorId,
    updatedAt: deps.clock(),
  }));
  return { key, successor, resumed };
}

/** The step that fixes the time of the "Key Swapped" events (it has no event of its own). */
const FINISHED = stepName("finished");

/** The old key's tags for the new key in a Region: Tether's own tags name the new key and the swap. */
async function successorTags(
  deps: LifecycleDeps,
  region: AwsRegion,
  oldArn: string,
  key: ManagedKey,
): Promise<Record<string, string>> {
  const swap = pending(key);
  return {
    ...(await deps.kms.listTags(region, oldArn)),
    ...managedByTag(deps.deployment),
    [KEY_ID_TAG_KEY]: swap.successorId,
    [SWAP_OF_TAG]: key.id,
  };
}

/**
 * `<first material's ref without a swap suffix>/s<n>`: the n-th key of the lineage (the first is 1).
 * Deterministic, so an interrupted swap finds its material again; it does not grow with every swap.
 * @throws ValidationError when the reference would be too long
 */
export function swapMaterialRef(key: ManagedKey): MaterialRef {
  const first = keyMaterials(key)[0]?.materialRef ?? key.materialRef;
  const match = /^(.*)\/s(\d+)$/.exec(first);
  const root = match?.[1] ?? first;
  const generation = match === null ? 1 : Number(match[2]);
  return parseMaterialRef(`${root}/s${generation + 1}`);
}

function pending(key: ManagedKey): PendingSwap {
  if (key.pendingSwap === undefined) {
    throw new StateConflictError(`Key ${key.id} has no key swap under way.`, {
      keyId: key.id,
      state: "no-swap",
    });
  }
  return key.pendingSwap;
}

/** The new key's ARN, recorded once step 2 created it. */
function newKeyArn(key: ManagedKey): string {
  const arn = pending(key).newKeyArn;
  if (arn === undefined) {
    throw new StateConflictError(`Key ${key.id}'s key swap has not created the new key yet.`, {
      keyId: key.id,
      state: "no-successor-key",
    });
  }
  return arn;
}
