import { ListKeysCommand } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateConflictError, ValidationError } from "../../../lib/domain/errors.js";
import type { LifecycleDeps } from "../../../lib/lifecycle/ports.js";
import { reconcileRegion } from "../../../lib/lifecycle/region/reconcile-region.js";
import { unmanageKey } from "../../../lib/lifecycle/use-cases/key-admin.js";
import { registerKey } from "../../../lib/lifecycle/use-cases/register.js";
import { rotateKey } from "../../../lib/lifecycle/use-cases/rotate.js";
import type { Vault } from "../../../lib/vault/port.js";
import { type LifecycleTestbed, startLifecycleTestbed } from "../../support/lifecycle-testbed.js";
import { ACTOR } from "./helpers.js";

/**
 * Registration refuses a key spec the vault's material cannot fill before anything exists in KMS, and an
 * import that can never succeed waits for an operator instead of failing on every reconcile.
 */
let bed: LifecycleTestbed;

beforeAll(async () => {
  bed = await startLifecycleTestbed();
}, 60_000);
afterAll(async () => {
  await bed?.close();
});

async function kmsKeyCount(): Promise<number> {
  let count = 0;
  let marker: string | undefined;
  do {
    const page = await bed.kms("eu-west-1").send(new ListKeysCommand({ Marker: marker }));
    count += page.Keys?.length ?? 0;
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker !== undefined);
  return count;
}

async function refusal(promise: Promise<unknown>): Promise<ValidationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

const create = (deps: LifecycleDeps, materialRef: string, checkValue: string | undefined, keySpec: string) =>
  registerKey(deps, {
    mode: "create",
    region: "eu-west-1",
    keySpec,
    materialRef,
    checkValue,
    policy: { validityPeriod: "P30D" },
    actor: ACTOR,
    correlationId: `register-${materialRef}-${keySpec}`,
  });

describe("register checks the material against the key spec first", () => {
  it.each(["RSA_2048", "HMAC_256", "ECC_NIST_P256"])(
    "refuses %s over 32 AES bytes with a 400 naming keySpec, and creates no KMS key",
    async (keySpec) => {
      const { ref, checkValue } = await bed.putMaterial();
      const before = await kmsKeyCount();

      const error = await refusal(create(bed.deps, ref, checkValue, keySpec));

      expect(error.field).toBe("keySpec");
      expect(error.message).toMatch(/SYMMETRIC_DEFAULT/);
      expect(await kmsKeyCount()).toBe(before);
    },
  );

  it("still registers the spec the material was stored for", async () => {
    const { ref, checkValue } = await bed.putMaterial();
    const result = await create(bed.deps, ref, checkValue, "SYMMETRIC_DEFAULT");
    expect(result.regions["eu-west-1"]?.kind).toBe("imported");
  });
});

describe("an import that can never succeed waits for an operator", () => {
  it("parks after the first refusal, alerts once, and does not ask the vault again", async () => {
    // A vault that cannot tell what it holds (the port allows it): registration goes on, and the import
    // finds out.
    let wraps = 0;
    const blind: Vault = {
      kind: bed.deps.vault.kind,
      wrap: (...args) => {
        wraps++;
        return bed.deps.vault.wrap(...args);
      },
      checkValue: (ref) => bed.deps.vault.checkValue(ref),
      generate: (ref, spec) => bed.deps.vault.generate(ref, spec),
      has: (ref) => bed.deps.vault.has(ref),
      describe: async () => undefined,
    };
    const deps: LifecycleDeps = { ...bed.deps, vault: blind };
    const { ref, checkValue } = await bed.putMaterial();

    const registered = await create(deps, ref, checkValue, "RSA_2048");
    const first = registered.regions["eu-west-1"];
    expect(first).toMatchObject({ kind: "failed" });
    const failure = (first as { errorName: string }).errorName;
    expect(["UnsupportedWrappingError", "InvalidMaterialError"]).toContain(failure);
    const wrapsAfterRegister = wraps;

    // The sweep comes back after the retry delay; nothing about the material changed.
    await bed.advance(2 * 60 * 60 * 1000);
    for (let visit = 0; visit < 3; visit++) {
      const outcome = await reconcileRegion(deps, registered.key.id, "eu-west-1" as never, {
        actor: "tether:sweep",
        correlationId: `visit-${visit}`,
      });
      expect(outcome.kind).toBe("standstill");
    }
    expect(wraps).toBe(wrapsAfterRegister);

    const alerts = (await bed.history(registered.key.id)).filter(
      (e) =>
        e.detailType === "Tether Alert" && (e as { reasonCode?: string }).reasonCode === "MATERIAL_UNFIT",
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ severity: "critical" });
  });
});

describe("a material reference is claimed by one managed key", () => {
  it("refuses a second key on a claimed reference with a 409 naming materialRef, before CreateKey; free again once unmanaged", async () => {
    const { ref, checkValue } = await bed.putMaterial();
    const first = await create(bed.deps, ref, checkValue, "SYMMETRIC_DEFAULT");
    const before = await kmsKeyCount();

    const refused = await create(bed.deps, ref, checkValue, "SYMMETRIC_DEFAULT").then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(refused).toBeInstanceOf(StateConflictError);
    expect(refused).toMatchObject({ field: "materialRef", keyId: first.key.id });
    expect(await kmsKeyCount()).toBe(before);

    await unmanageKey(bed.deps, { key: first.key.id, actor: ACTOR, correlationId: "unmanage-claim" });
    const again = await create(bed.deps, ref, checkValue, "SYMMETRIC_DEFAULT");
    expect(again.key.id).not.toBe(first.key.id);
  });

  it("a rotated key keeps its first reference and claims the new one; unmanaging frees both", async () => {
    const { ref, checkValue } = await bed.putMaterial();
    const { key } = await create(bed.deps, ref, checkValue, "SYMMETRIC_DEFAULT");
    const rotated = await rotateKey(bed.deps, {
      key: key.id,
      reason: "yearly rotation",
      actor: ACTOR,
      correlationId: `rotate-${key.id}`,
    });
    const next = rotated.key.materialRef;
    expect(next).toBe(`${ref}/r2`);
    const nextCheckValue = await bed.vault.checkValue(next);

    for (const [materialRef, cv] of [
      [ref, checkValue],
      [next, nextCheckValue],
    ] as const) {
      await expect(create(bed.deps, materialRef, cv, "SYMMETRIC_DEFAULT")).rejects.toMatchObject({
        name: "StateConflictError",
        field: "materialRef",
        keyId: key.id,
      });
    }

    await unmanageKey(bed.deps, { key: key.id, actor: ACTOR, correlationId: "unmanage-rotated" });
    expect((await create(bed.deps, next, nextCheckValue, "SYMMETRIC_DEFAULT")).key.materialRef).toBe(next);
  });

  it("of two registrations racing for one reference, one registers and the other gets the 409", async () => {
    const { ref, checkValue } = await bed.putMaterial();
    const results = await Promise.allSettled([
      create(bed.deps, ref, checkValue, "SYMMETRIC_DEFAULT"),
      create(bed.deps, ref, checkValue, "SYMMETRIC_DEFAULT"),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const loser = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(loser.reason).toMatchObject({ name: "StateConflictError", field: "materialRef" });
  });

  it("requires the check value of material the vault already holds (400 naming checkValue), creating nothing", async () => {
    const { ref } = await bed.putMaterial();
    const before = await kmsKeyCount();
    const error = await refusal(create(bed.deps, ref, undefined, "SYMMETRIC_DEFAULT"));
    expect(error.field).toBe("checkValue");
    expect(await kmsKeyCount()).toBe(before);
  });
});
