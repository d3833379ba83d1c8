import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sweep } from "../../../lib/lifecycle/scheduled/sweep.js";
import { registerKey } from "../../../lib/lifecycle/use-cases/register.js";
import { type LifecycleTestbed, startLifecycleTestbed } from "../../support/lifecycle-testbed.js";
import { ACTOR, arnIn, describeKey } from "./helpers.js";

/**
 * A new Multi-Region key cannot race itself: the registration owns its Regions until it has imported into
 * each (primary first), and a replica refused because its primary holds no material yet is retried.
 */
const PRIMARY = "eu-west-1";
const REPLICA = "eu-central-1";
let bed: LifecycleTestbed;

beforeAll(async () => {
  bed = await startLifecycleTestbed();
}, 60_000);
afterEach(async () => {
  await bed.aws.kms.admin.clearFaults();
});
afterAll(async () => {
  await bed?.close();
});

async function registerMultiRegion(name: string) {
  const { ref, checkValue } = await bed.putMaterial();
  return registerKey(bed.deps, {
    mode: "create",
    region: PRIMARY,
    keySpec: "SYMMETRIC_DEFAULT",
    materialRef: ref,
    checkValue,
    multiRegion: true,
    replicaRegions: [REPLICA],
    policy: { validityPeriod: "P30D" },
    actor: ACTOR,
    correlationId: `register-${name}`,
  });
}

describe("registering a Multi-Region key while the sweep runs", () => {
  it("with 3 s of import latency on the primary, the replica ends Enabled", async () => {
    await bed.aws.kms.admin.injectFault({ operation: "ImportKeyMaterial", region: PRIMARY, latencyMs: 3000 });
    const registering = registerMultiRegion("latency");
    let done = false;
    void registering.finally(() => {
      done = true;
    });
    const sweeps: Promise<unknown>[] = [];
    while (!done) {
      sweeps.push(sweep(bed.deps, { correlationId: `sweep-${sweeps.length}` }));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await Promise.all(sweeps);
    const { key, regions } = await registering;

    expect(regions[PRIMARY]?.kind).toBe("imported");
    expect(regions[REPLICA]?.kind).toBe("imported");
    expect((await describeKey(bed, REPLICA, arnIn(key, REPLICA))).KeyState).toBe("Enabled");
    expect((await describeKey(bed, PRIMARY, arnIn(key, PRIMARY))).KeyState).toBe("Enabled");
  }, 60_000);

  it("a replica refused because the primary has no material yet is retried, not left for an operator", async () => {
    // The primary's import fails (a passing KMS error); the replica's is then refused by KMS as
    // IncorrectKeyMaterialException, since the material is not in the primary yet.
    await bed.aws.kms.admin.injectFault({
      operation: "ImportKeyMaterial",
      region: PRIMARY,
      error: "KMSInternalException",
      probability: 1,
    });
    const { key, regions } = await registerMultiRegion("primary-failed");
    expect(regions[PRIMARY]).toMatchObject({ kind: "failed" });
    expect(regions[REPLICA]).toMatchObject({ kind: "failed", errorName: "PrimaryNotImportedError" });

    await bed.aws.kms.admin.clearFaults();
    for (let run = 0; run < 3; run++) {
      await bed.advance(10 * 60 * 1000);
      await sweep(bed.deps, { correlationId: `sweep-retry-${run}` });
    }

    expect((await describeKey(bed, PRIMARY, arnIn(key, PRIMARY))).KeyState).toBe("Enabled");
    expect((await describeKey(bed, REPLICA, arnIn(key, REPLICA))).KeyState).toBe("Enabled");
    const alerts = (await bed.history(key.id)).filter(
      (e) => (e as { reasonCode?: string }).reasonCode === "INCORRECT_KEY_MATERIAL",
    );
    expect(alerts).toEqual([]);
  }, 60_000);
});
