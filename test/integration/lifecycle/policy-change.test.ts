/**
 * A policy change takes effect at the next run, as `tether keys policy` and changeKeyPolicy promise: every
 * Region of the key becomes due at once, over the local AWS (dynalite). Before this, only the key record
 * was saved and each Region kept the next check the old policy gave it (up to a reconcile interval away).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweep } from "../../../lib/lifecycle/scheduled/sweep.js";
import { changeKeyPolicy } from "../../../lib/lifecycle/use-cases/key-admin.js";
import { type LifecycleTestbed, startLifecycleTestbed } from "../../support/lifecycle-testbed.js";
import { registerNew } from "./helpers.js";

let bed: LifecycleTestbed;
beforeAll(async () => {
  bed = await startLifecycleTestbed();
});
afterAll(async () => {
  await bed?.close();
});

describe("changing a key's policy", () => {
  it("makes every Region of the key due now, so the next run applies it", async () => {
    const { key } = await registerNew(bed, { reconcileInterval: "PT6H" }, ["eu-central-1"]);
    await sweep(bed.deps, { correlationId: "settle" });
    const settled = await bed.deps.keys.get(key.id);
    const now = bed.deps.clock();
    for (const region of settled?.regions ?? []) {
      expect(region.nextCheckAt.getTime()).toBeGreaterThan(now.getTime());
    }
    expect((await bed.deps.keys.due(now, 50)).filter((d) => d.keyId === key.id)).toEqual([]);

    const changed = await changeKeyPolicy(bed.deps, {
      key: key.id,
      policy: { reconcileInterval: "PT1H" },
      actor: "ops@example.com",
      correlationId: "tighten",
    });
    expect(changed.policyChanged).toBe(true);

    const due = (await bed.deps.keys.due(bed.deps.clock(), 50)).filter((d) => d.keyId === key.id);
    expect(due.map((d) => d.region).sort()).toEqual(["eu-central-1", "eu-west-1"]);
    const report = await sweep(bed.deps, { correlationId: "apply" });
    expect(report.processed).toBeGreaterThanOrEqual(2);
    // The run planned the next check under the new, shorter interval.
    const after = await bed.deps.keys.get(key.id);
    for (const region of after?.regions ?? []) {
      expect(region.nextCheckAt.getTime() - bed.deps.clock().getTime()).toBeLessThanOrEqual(60 * 60 * 1000);
    }
  });

  it("leaves the Regions alone when nothing changed", async () => {
    const { key } = await registerNew(bed, { reconcileInterval: "PT6H" });
    await sweep(bed.deps, { correlationId: "settle-2" });
    const unchanged = await changeKeyPolicy(bed.deps, {
      key: key.id,
      policy: { reconcileInterval: "PT6H" },
      actor: "ops@example.com",
      correlationId: "same",
    });
    expect(unchanged.policyChanged).toBe(false);
    expect((await bed.deps.keys.due(bed.deps.clock(), 50)).filter((d) => d.keyId === key.id)).toEqual([]);
  });
});
