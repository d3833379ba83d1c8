/**
 * The deployment's mark on KMS keys, against the local AWS: keys Tether creates carry this deployment's
 * tether:managed-by value (the value its IAM policies scope writes to), adopting another deployment's key is
 * refused, and unmanaging a key takes the mark off in every Region.
 */
import { CreateKeyCommand, ListResourceTagsCommand, ScheduleKeyDeletionCommand } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MANAGED_BY_TAG_KEY } from "../../../lib/domain/deployment.js";
import { StateConflictError, ValidationError } from "../../../lib/domain/errors.js";
import { unmanageKey } from "../../../lib/lifecycle/use-cases/key-admin.js";
import { registerKey } from "../../../lib/lifecycle/use-cases/register.js";
import { rotateKey } from "../../../lib/lifecycle/use-cases/rotate.js";
import { type LifecycleTestbed, startLifecycleTestbed } from "../../support/lifecycle-testbed.js";
import { ACTOR, arnIn, registerNew } from "./helpers.js";

let bed: LifecycleTestbed;
beforeAll(async () => {
  bed = await startLifecycleTestbed();
});
afterAll(async () => {
  await bed?.close();
});

async function tagsOf(region: string, arn: string): Promise<Record<string, string>> {
  const out = await bed.kms(region).send(new ListResourceTagsCommand({ KeyId: arn }));
  return Object.fromEntries((out.Tags ?? []).map((t) => [t.TagKey, t.TagValue]));
}

describe("the deployment's mark", () => {
  it("is the test stage's value: tether/local/<region> unless TETHER_DEPLOYMENT says otherwise", () => {
    expect(bed.deps.deployment).toBe("tether/local/eu-west-1");
  });

  it("is on every Region of a key Tether creates, and comes off when it stops managing it", async () => {
    const { key } = await registerNew(bed, { validityPeriod: "P30D" }, ["eu-central-1"]);
    for (const region of ["eu-west-1", "eu-central-1"]) {
      expect((await tagsOf(region, arnIn(key, region)))[MANAGED_BY_TAG_KEY], region).toBe(
        bed.deps.deployment,
      );
    }
    await unmanageKey(bed.deps, { key: key.id, actor: ACTOR, correlationId: "unmanage-mark" });
    for (const region of ["eu-west-1", "eu-central-1"]) {
      const tags = await tagsOf(region, arnIn(key, region));
      expect(tags[MANAGED_BY_TAG_KEY], region).toBeUndefined();
      // Only the mark: Tether's other tags (which grant nothing) stay as a trace of where the key came from.
      expect(tags["tether:key-id"], region).toBe(key.id);
    }
  });

  it("unmanages a key pending deletion, whose tags KMS will not change, and leaves its tag", async () => {
    const { key } = await registerNew(bed, { validityPeriod: "P30D" });
    const arn = arnIn(key, "eu-west-1");
    await bed.kms("eu-west-1").send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 7 }));
    await unmanageKey(bed.deps, { key: key.id, actor: ACTOR, correlationId: "unmanage-pending" });
    expect(await bed.deps.keys.get(key.id)).toBeUndefined();
    expect((await tagsOf("eu-west-1", arn))[MANAGED_BY_TAG_KEY]).toBe(bed.deps.deployment);
  });

  it("is written by the stage the deps name (another deployment's value is another scope)", async () => {
    const dev = { ...bed.deps, deployment: "tether/dev/eu-west-1" };
    const { key } = await registerNew(bed, { validityPeriod: "P30D" }, [], dev);
    expect((await tagsOf("eu-west-1", arnIn(key, "eu-west-1")))[MANAGED_BY_TAG_KEY]).toBe(
      "tether/dev/eu-west-1",
    );
  });
});

describe("the alias prefix", () => {
  async function createKeyCalls(): Promise<number> {
    return (await bed.aws.kms.admin.stats()).calls["eu-west-1"]?.CreateKey ?? 0;
  }

  it("refuses a registration whose alias is outside it before KMS is called, naming the field", async () => {
    const scoped = { ...bed.deps, aliasPrefix: "tether/local/" };
    const { ref, checkValue } = await bed.putMaterial();
    const before = await createKeyCalls();
    const attempt = registerKey(scoped, {
      mode: "create",
      region: "eu-west-1",
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: ref,
      checkValue,
      alias: "alias/payments-outside",
      actor: ACTOR,
      correlationId: "alias-outside",
    });
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toThrow(/^alias: must start with alias\/tether\/local\//);
    expect(await createKeyCalls()).toBe(before);

    const { key } = await registerKey(scoped, {
      mode: "create",
      region: "eu-west-1",
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: ref,
      checkValue,
      alias: "alias/tether/local/payments-inside",
      actor: ACTOR,
      correlationId: "alias-inside",
    });
    expect(key.alias).toBe("alias/tether/local/payments-inside");
  });

  it("refuses a key swap that would move an alias outside it, before anything is created", async () => {
    const { ref, checkValue } = await bed.putMaterial();
    const { key } = await registerKey(bed.deps, {
      mode: "create",
      region: "eu-west-1",
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: ref,
      checkValue,
      alias: "alias/swap-outside-prefix",
      policy: { rotationMethod: "key-swap" },
      actor: ACTOR,
      correlationId: "swap-outside",
    });
    const scoped = { ...bed.deps, aliasPrefix: "tether/local/" };
    const before = await createKeyCalls();
    const attempt = rotateKey(scoped, {
      key: key.id,
      reason: "test",
      actor: ACTOR,
      correlationId: "swap-outside-2",
    });
    await expect(attempt).rejects.toBeInstanceOf(StateConflictError);
    await expect(attempt).rejects.toThrow(/outside this deployment's alias prefix/);
    expect(await createKeyCalls()).toBe(before);
  });
});

describe("adopting", () => {
  async function externalKey(tags: Record<string, string>): Promise<string> {
    const created = await bed.kms("eu-west-1").send(
      new CreateKeyCommand({
        Origin: "EXTERNAL",
        KeySpec: "SYMMETRIC_DEFAULT",
        Tags: Object.entries(tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
      }),
    );
    return created.KeyMetadata?.Arn as string;
  }

  it("refuses a key another deployment manages with a conflict naming it, and records nothing", async () => {
    const arn = await externalKey({ [MANAGED_BY_TAG_KEY]: "tether/prod/eu-west-1" });
    const { ref, checkValue } = await bed.putMaterial();
    const attempt = registerKey(bed.deps, {
      mode: "adopt",
      keyArn: arn,
      materialRef: ref,
      checkValue,
      actor: ACTOR,
      correlationId: "adopt-other",
    });
    await expect(attempt).rejects.toBeInstanceOf(StateConflictError);
    await expect(attempt).rejects.toThrow(
      /tether:managed-by=tether\/prod\/eu-west-1.*tether\/local\/eu-west-1/,
    );
    expect(await bed.deps.keys.resolve(arn)).toBeUndefined();
  });

  it("takes a key marked with this deployment's value", async () => {
    const arn = await externalKey({ [MANAGED_BY_TAG_KEY]: bed.deps.deployment });
    const { ref, checkValue } = await bed.putMaterial();
    const { key } = await registerKey(bed.deps, {
      mode: "adopt",
      keyArn: arn,
      materialRef: ref,
      checkValue,
      actor: ACTOR,
      correlationId: "adopt-ours",
    });
    expect(arnIn(key, "eu-west-1")).toBe(arn);
  });
});
