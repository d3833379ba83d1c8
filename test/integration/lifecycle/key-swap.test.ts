/**
 * Rotation by key swap, against the local AWS over HTTP: an HMAC key (which KMS cannot rotate on demand)
 * and an ECC signing key are swapped for new keys that take the alias; the old keys keep verifying what
 * they made; a symmetric Multi-Region key whose policy prefers key swaps converges after a crash injected
 * at every step; a key without an alias is refused before anything is made; the schedule swaps HMAC keys.
 */
import {
  DescribeKeyCommand,
  GenerateMacCommand,
  GetKeyPolicyCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
} from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditDetailType, RotationStep } from "../../../lib/domain/audit-types.js";
import { DAY_MS, HOUR_MS } from "../../../lib/domain/duration.js";
import { StateConflictError } from "../../../lib/domain/errors.js";
import type { ManagedKey } from "../../../lib/domain/managed-key.js";
import type { LifecycleDeps } from "../../../lib/lifecycle/ports.js";
import { SWEEP_ACTOR, sweep } from "../../../lib/lifecycle/scheduled/sweep.js";
import { registerKey } from "../../../lib/lifecycle/use-cases/register.js";
import { rotateKey, type SwapRotateResult } from "../../../lib/lifecycle/use-cases/rotate.js";
import { type CrashPlan, depsCrashing, SimulatedCrashError } from "../../support/fault-deps.js";
import {
  decrypt,
  encrypt,
  type LifecycleTestbed,
  startLifecycleTestbed,
} from "../../support/lifecycle-testbed.js";
import { ACTOR, arnIn, registerNew } from "./helpers.js";

let bed: LifecycleTestbed;
beforeAll(async () => {
  bed = await startLifecycleTestbed();
});
afterAll(async () => {
  await bed?.close();
});

const PRIMARY = "eu-west-1";
const REPLICA = "us-east-2";
const MESSAGE = new TextEncoder().encode("signed before the swap");

async function swap(key: ManagedKey, deps: LifecycleDeps = bed.deps): Promise<SwapRotateResult> {
  const result = await rotateKey(deps, {
    key: key.id,
    reason: "yearly key swap",
    actor: ACTOR,
    correlationId: `swap-${key.id}`,
  });
  if (result.method !== "key-swap") throw new Error(`expected a key swap, got ${result.method}`);
  return result;
}

async function registerGenerated(
  keySpec: string,
  options: { alias?: string; keyUsage?: string; policy?: Record<string, unknown> } = {},
): Promise<ManagedKey> {
  const ref = `swap/${keySpec}/${Math.random().toString(36).slice(2)}`;
  const { key } = await registerKey(bed.deps, {
    mode: "create",
    region: PRIMARY,
    keySpec,
    keyUsage: options.keyUsage,
    materialRef: ref,
    generateMaterial: true,
    alias: options.alias,
    description: `swap test ${keySpec}`,
    tags: { team: "payments" },
    policy: options.policy ?? { validityPeriod: "P30D" },
    actor: ACTOR,
    correlationId: `register-${ref}`,
  });
  return key;
}

async function aliasTarget(region: string, alias: string): Promise<string | undefined> {
  return (await bed.kms(region).send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata?.Arn;
}

async function tagsOf(region: string, keyArn: string): Promise<Record<string, string>> {
  const out = await bed.kms(region).send(new ListResourceTagsCommand({ KeyId: keyArn }));
  return Object.fromEntries((out.Tags ?? []).map((t) => [t.TagKey, t.TagValue]));
}

async function keyCount(region: string): Promise<number> {
  return (await bed.kms(region).send(new ListKeysCommand({ Limit: 1000 }))).Keys?.length ?? 0;
}

describe("key swap of an HMAC key", () => {
  it("makes a new key with the same spec, tags and key policy, moves the alias, keeps the old key verifying", async () => {
    const alias = `alias/swap-hmac-${Date.now()}`;
    const old = await registerGenerated("HMAC_256", { alias });
    const oldArn = arnIn(old, PRIMARY);
    const customPolicy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "Root",
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::111122223333:root" },
          Action: "kms:*",
          Resource: "*",
        },
        {
          Sid: "Payments",
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::111122223333:role/payments" },
          Action: ["kms:GenerateMac", "kms:VerifyMac"],
          Resource: "*",
        },
      ],
    });
    await bed.kms(PRIMARY).send(new PutKeyPolicyCommand({ KeyId: oldArn, Policy: customPolicy }));
    const mac = await bed
      .kms(PRIMARY)
      .send(new GenerateMacCommand({ KeyId: alias, Message: MESSAGE, MacAlgorithm: "HMAC_SHA_256" }));

    const result = await swap(old);
    const { key, successor } = result;
    const newArn = arnIn(successor, PRIMARY);
    expect(result.resumed).toBe(false);
    expect(newArn).not.toBe(oldArn);
    expect(await aliasTarget(PRIMARY, alias)).toBe(newArn);

    // Tether's records: the alias moved, the keys name each other, the old one is still managed.
    expect(key).toMatchObject({ supersededBy: successor.id, alias: undefined, pendingSwap: undefined });
    expect(successor).toMatchObject({ alias, supersedes: old.id, keySpec: "HMAC_256" });
    expect(successor.materialRef).toBe(`${old.materialRef}/s2`);
    expect(successor.checkValue).not.toBe(old.checkValue);
    expect((await bed.deps.keys.get(old.id))?.status.state).toBe("active");
    expect(await bed.deps.keys.resolve(alias)).toBe(successor.id);

    // The new KMS key copies what callers depend on.
    const described = await bed.kms(PRIMARY).send(new DescribeKeyCommand({ KeyId: newArn }));
    expect(described.KeyMetadata).toMatchObject({
      KeySpec: "HMAC_256",
      KeyUsage: "GENERATE_VERIFY_MAC",
      Origin: "EXTERNAL",
      KeyState: "Enabled",
      Description: "swap test HMAC_256",
    });
    expect((await bed.kms(PRIMARY).send(new GetKeyPolicyCommand({ KeyId: newArn }))).Policy).toBe(
      customPolicy,
    );
    expect(await tagsOf(PRIMARY, newArn)).toEqual({
      team: "payments",
      "tether:managed-by": bed.deps.deployment,
      "tether:key-id": successor.id,
      "tether:swap-of": old.id,
    });

    // What the old key made still verifies under it; the alias now makes MACs with the new key.
    const verifiedByOld = await bed
      .kms(PRIMARY)
      .send(
        new VerifyMacCommand({ KeyId: oldArn, Message: MESSAGE, MacAlgorithm: "HMAC_SHA_256", Mac: mac.Mac }),
      );
    expect(verifiedByOld.MacValid).toBe(true);
    await expect(
      bed.kms(PRIMARY).send(
        new VerifyMacCommand({
          KeyId: alias,
          Message: MESSAGE,
          MacAlgorithm: "HMAC_SHA_256",
          Mac: mac.Mac,
        }),
      ),
    ).rejects.toMatchObject({ name: "KMSInvalidMacException" });

    // The history tells the story on both keys, each fact once.
    const oldHistory = await bed.history(old.id);
    expect(
      oldHistory.filter((e) => e.detailType === AuditDetailType.KeyRotationStep).map((e) => e.step),
    ).toEqual([
      RotationStep.MaterialGenerated,
      RotationStep.KeyCreated,
      RotationStep.SuccessorReady,
      RotationStep.AliasRepointed,
    ]);
    const swapped = oldHistory.filter((e) => e.detailType === AuditDetailType.KeySwapped);
    expect(swapped).toHaveLength(1);
    expect(swapped[0]).toMatchObject({ relatedKeyId: successor.id, actor: ACTOR, reason: "yearly key swap" });
    const newHistory = (await bed.history(successor.id)).map((e) => e.detailType);
    expect(newHistory).toEqual([
      AuditDetailType.KeyRegistered,
      AuditDetailType.KeyMaterialImported,
      AuditDetailType.KeySwapped,
    ]);

    // The old key is not rotated again; the new one is, into the next generation.
    await expect(swap(old)).rejects.toMatchObject({ name: "StateConflictError", state: "superseded" });
    const next = await swap(successor);
    expect(next.successor.materialRef).toBe(`${old.materialRef}/s3`);
    expect(await aliasTarget(PRIMARY, alias)).toBe(arnIn(next.successor, PRIMARY));
  });
});

describe("key swap of an ECC signing key", () => {
  it("keeps signatures of the old key verifiable, and the alias signs with the new key", async () => {
    const alias = `alias/swap-ecc-${Date.now()}`;
    const old = await registerGenerated("ECC_NIST_P256", { alias, keyUsage: "SIGN_VERIFY" });
    const signature = (
      await bed
        .kms(PRIMARY)
        .send(new SignCommand({ KeyId: alias, Message: MESSAGE, SigningAlgorithm: "ECDSA_SHA_256" }))
    ).Signature;
    const { successor } = await swap(old);
    const verify = (keyId: string) =>
      bed.kms(PRIMARY).send(
        new VerifyCommand({
          KeyId: keyId,
          Message: MESSAGE,
          Signature: signature,
          SigningAlgorithm: "ECDSA_SHA_256",
        }),
      );
    expect((await verify(arnIn(old, PRIMARY))).SignatureValid).toBe(true);
    await expect(verify(alias)).rejects.toMatchObject({ name: "KMSInvalidSignatureException" });
    const fresh = await bed
      .kms(PRIMARY)
      .send(new SignCommand({ KeyId: alias, Message: MESSAGE, SigningAlgorithm: "ECDSA_SHA_256" }));
    expect(fresh.KeyId).toBe(arnIn(successor, PRIMARY));
  });
});

describe("key swap refused", () => {
  it("alerts a failed swap (a KMS error mid-way), not a refusal the operator reads in the answer", async () => {
    const alias = `alias/swap-fails-${Date.now()}`;
    const old = await registerGenerated("HMAC_256", { alias });
    const failing = depsCrashing(bed.deps, { port: "kms", method: "getKeyPolicy", nth: 1, when: "before" });
    await expect(swap(old, failing.target)).rejects.toBeInstanceOf(SimulatedCrashError);
    const alerts = (await bed.history(old.id)).filter(
      (e) => "reasonCode" in e && e.reasonCode === "ROTATION_FAILED",
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ severity: "warning", actor: ACTOR });
    expect((alerts[0] as { summary: string }).summary).toContain("failed with SimulatedCrashError");
    // The next call finishes it.
    expect((await swap(old)).key.supersededBy).toBeDefined();

    const noAlias = await registerGenerated("HMAC_256");
    await expect(swap(noAlias)).rejects.toMatchObject({ state: "no-alias" });
    const refusedAlerts = (await bed.history(noAlias.id)).filter((e) => "reasonCode" in e);
    expect(refusedAlerts).toEqual([]);
    // The same refusal of a scheduled rotation is alerted: nobody reads the answer.
    await expect(
      rotateKey(bed.deps, {
        key: noAlias.id,
        reason: "schedule",
        actor: SWEEP_ACTOR,
        correlationId: "s",
        scheduled: true,
      }),
    ).rejects.toMatchObject({ state: "no-alias" });
    const scheduledAlerts = (await bed.history(noAlias.id)).filter(
      (e) => "reasonCode" in e && e.reasonCode === "ROTATION_FAILED",
    );
    expect(scheduledAlerts).toHaveLength(1);
  });

  it("for a key without an alias, before anything is made", async () => {
    const old = await registerGenerated("HMAC_256");
    const before = await keyCount(PRIMARY);
    const attempt = swap(old);
    await expect(attempt).rejects.toBeInstanceOf(StateConflictError);
    await expect(attempt).rejects.toMatchObject({ state: "no-alias" });
    expect(await keyCount(PRIMARY)).toBe(before);
    expect((await bed.deps.keys.get(old.id))?.pendingSwap).toBeUndefined();
    expect(await bed.vault.has(`${old.materialRef}/s2`)).toBe(false);
  });
});

describe("a Multi-Region key swap interrupted at every step", () => {
  /** Each crash point of the swap; after each, one more call must converge. */
  const PLANS: CrashPlan[] = [
    { port: "vault", method: "generate", nth: 1, when: "after" },
    { port: "keys", method: "saveKey", nth: 1, when: "before" },
    { port: "kms", method: "createKey", nth: 1, when: "before" },
    { port: "kms", method: "createKey", nth: 1, when: "after" },
    { port: "keys", method: "saveKey", nth: 2, when: "before" },
    { port: "kms", method: "replicateKey", nth: 1, when: "after" },
    { port: "keys", method: "create", nth: 1, when: "after" },
    { port: "kms", method: "importMaterial", nth: 1, when: "after" },
    { port: "kms", method: "importMaterial", nth: 2, when: "before" },
    { port: "kms", method: "updateAlias", nth: 1, when: "after" },
    { port: "kms", method: "updateAlias", nth: 2, when: "before" },
    { port: "keys", method: "saveKey", nth: 3, when: "after" },
    { port: "audit", method: "record", nth: 8, when: "before" },
    { port: "keys", method: "saveKey", nth: 5, when: "before" },
  ];

  const cases = PLANS.map((plan) => [`${plan.when} ${plan.port}.${plan.method} #${plan.nth}`, plan] as const);
  it.each(cases)("converges after a crash %s", async (_name, plan) => {
    const alias = `alias/swap-mrk-${plan.port}-${plan.method}-${plan.nth}-${plan.when}-${Date.now()}`;
    const { key: old } = await registerNew(bed, { validityPeriod: "P30D", rotationMethod: "key-swap" }, [
      REPLICA,
    ]);
    for (const region of [PRIMARY, REPLICA]) {
      await bed.deps.kms.createAlias(region as never, alias, arnIn(old, region));
    }
    const stored = await bed.deps.keys.get(old.id);
    if (stored === undefined) throw new Error(`key ${old.id} is gone`);
    await bed.deps.keys.saveKey({ ...stored, alias });
    const ciphertexts = new Map<string, Uint8Array>();
    for (const region of [PRIMARY, REPLICA])
      ciphertexts.set(region, await encrypt(bed.kms(region), alias, `before ${region}`));

    const crashing = depsCrashing(bed.deps, plan);
    const first = await swap(old, crashing.target).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(crashing.fired()).toBe(true);
    let key: ManagedKey;
    let successor: ManagedKey;
    if (first === undefined) {
      // A crash inside an import is caught by reconcileRegion (a failed attempt, retried at once): the
      // swap may then finish in the same call. It must have finished completely.
      expect(plan.method).toBe("importMaterial");
      key = await load(old.id);
      successor = await load(key.supersededBy ?? "");
    } else {
      // Otherwise the call fails: the crash itself, or, after a failed import, a swap left incomplete.
      expect(first).toBeInstanceOf(
        plan.method === "importMaterial" ? StateConflictError : SimulatedCrashError,
      );
      const result = await swap(old);
      expect(result.resumed).toBe(
        plan.method !== "generate" && !(plan.method === "saveKey" && plan.nth === 1),
      );
      key = result.key;
      successor = result.successor;
    }

    expect(key.supersededBy).toBe(successor.id);
    expect(key.pendingSwap).toBeUndefined();
    expect(successor.alias).toBe(alias);
    expect(await bed.deps.keys.resolve(alias)).toBe(successor.id);
    for (const region of [PRIMARY, REPLICA]) {
      expect(await aliasTarget(region, alias)).toBe(arnIn(successor, region));
      // Data encrypted before the swap decrypts under the old key in every Region; the alias encrypts
      // under the new one.
      const before = ciphertexts.get(region) as Uint8Array;
      expect(await decrypt(bed.kms(region), arnIn(key, region), before)).toBe(`before ${region}`);
      const fresh = await encrypt(bed.kms(region), alias, `after ${region}`);
      expect(await decrypt(bed.kms(region), arnIn(successor, region), fresh)).toBe(`after ${region}`);
    }
    const swapped = (await bed.history(old.id)).filter((e) => e.detailType === AuditDetailType.KeySwapped);
    expect(swapped).toHaveLength(1);
    const registered = (await bed.history(successor.id)).filter(
      (e) => e.detailType === AuditDetailType.KeyRegistered,
    );
    expect(registered).toHaveLength(1);
    // A crash after CreateKey answered and before its ARN was recorded leaves that empty key (no
    // material, PendingImport), findable by its tag; the rerun made another.
    const lostArn =
      (plan.method === "createKey" && plan.when === "after") || (plan.method === "saveKey" && plan.nth === 2);
    if (lostArn) {
      const orphans = await keysTaggedSwapOf(old.id);
      expect(orphans.filter((arn) => arn !== arnIn(successor, PRIMARY))).toHaveLength(1);
    } else {
      expect(await keysTaggedSwapOf(old.id)).toEqual([arnIn(successor, PRIMARY)]);
    }
  });
});

async function load(id: string): Promise<ManagedKey> {
  const key = await bed.deps.keys.get(id as never);
  if (key === undefined) throw new Error(`key ${id} is not managed`);
  return key;
}

async function keysTaggedSwapOf(id: string): Promise<string[]> {
  const keys = (await bed.kms(PRIMARY).send(new ListKeysCommand({ Limit: 1000 }))).Keys ?? [];
  const found: string[] = [];
  for (const entry of keys) {
    if (entry.KeyArn === undefined) continue;
    if ((await tagsOf(PRIMARY, entry.KeyArn))["tether:swap-of"] === id) found.push(entry.KeyArn);
  }
  return found;
}

describe("scheduled key swap", () => {
  it("the sweep swaps an HMAC key with rotateEvery, once; the successor carries the schedule on", async () => {
    const alias = `alias/swap-scheduled-${Date.now()}`;
    const old = await registerGenerated("HMAC_256", {
      alias,
      policy: { validityPeriod: "P30D", reconcileInterval: "P1D", rotateEvery: "P1D" },
    });
    await bed.advance(DAY_MS + HOUR_MS);
    await sweep(bed.deps, { correlationId: "sweep-swap-1" });
    const after = await bed.deps.keys.get(old.id);
    expect(after?.supersededBy).toBeDefined();
    const successor = await bed.deps.keys.get(after?.supersededBy as never);
    expect(successor).toMatchObject({ alias, supersedes: old.id });
    expect(successor?.policy.rotateEveryMs).toBe(DAY_MS);
    const swapped = (await bed.history(old.id)).filter((e) => e.detailType === AuditDetailType.KeySwapped);
    expect(swapped.map((e) => e.actor)).toEqual([SWEEP_ACTOR]);

    await sweep(bed.deps, { correlationId: "sweep-swap-2" });
    expect(
      (await bed.history(old.id)).filter((e) => e.detailType === AuditDetailType.KeySwapped),
    ).toHaveLength(1);
    expect(await aliasTarget(PRIMARY, alias)).toBe(arnIn(successor as ManagedKey, PRIMARY));
  });
});
