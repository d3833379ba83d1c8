/**
 * Issue 16 item 3 against the local AWS over HTTP: a regional loss of keys of every priority, with a sweep
 * that takes fewer key-Regions than are lost. The first run restores the critical keys, the next the high
 * ones, and so on; a key made critical by a policy change (PATCH policy) is served as critical.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MINUTE_MS } from "../../../lib/domain/duration.js";
import type { ManagedKey } from "../../../lib/domain/managed-key.js";
import type { LifecycleDeps } from "../../../lib/lifecycle/ports.js";
import { probeSentinels } from "../../../lib/lifecycle/scheduled/sentinels.js";
import { sweep } from "../../../lib/lifecycle/scheduled/sweep.js";
import { changeKeyPolicy } from "../../../lib/lifecycle/use-cases/key-admin.js";
import { type LifecycleTestbed, startLifecycleTestbed } from "../../support/lifecycle-testbed.js";
import { arnIn, describeKey, registerNew } from "./helpers.js";

const HOME = "eu-west-1";

let bed: LifecycleTestbed;
let deps: LifecycleDeps;
beforeAll(async () => {
  bed = await startLifecycleTestbed();
  deps = bed.depsWith({ TETHER_SENTINELS: "on", TETHER_REGIONS: HOME });
});
afterAll(async () => {
  await bed?.close();
});

async function states(keys: readonly ManagedKey[]): Promise<string[]> {
  return Promise.all(keys.map(async (k) => String((await describeKey(bed, HOME, arnIn(k, HOME))).KeyState)));
}

describe("a regional loss of keys of every priority, a sweep limit smaller than the loss", () => {
  it("restores the critical keys in the first run, then high, then normal and low", {
    timeout: 120_000,
  }, async () => {
    await sweep(deps, { correlationId: "sentinels" });
    // Registered lowest priority first, so neither registration order nor key id puts critical first.
    const low = [(await registerNew(bed, { priority: "low" }, [], deps)).key];
    low.push((await registerNew(bed, { priority: "low" }, [], deps)).key);
    const normal = [(await registerNew(bed, {}, [], deps)).key];
    normal.push((await registerNew(bed, {}, [], deps)).key);
    const high = [(await registerNew(bed, { priority: "high" }, [], deps)).key];
    high.push((await registerNew(bed, { priority: "high" }, [], deps)).key);
    const critical = [(await registerNew(bed, { priority: "critical" }, [], deps)).key];
    // The second critical key was registered low and made critical by its policy (as PATCH policy does).
    const promoted = (await registerNew(bed, { priority: "low" }, [], deps)).key;
    const changed = await changeKeyPolicy(deps, {
      key: promoted.id,
      policy: { priority: "critical" },
      actor: "ops@example.com",
      correlationId: "promote",
    });
    expect(changed.policyChanged).toBe(true);
    expect(changed.key.policy.priority).toBe("critical");
    critical.push(promoted);

    await bed.aws.kms.admin.loseRegion(HOME);
    await bed.advance(MINUTE_MS);
    expect((await probeSentinels(deps, "probe")).opened).toEqual([HOME]);
    const all = [...critical, ...high, ...normal, ...low];
    expect(await states(all)).toEqual(all.map(() => "PendingImport"));

    // Two key-Regions a run: the critical ones first.
    const first = await sweep(deps, { correlationId: "run-1", limit: 2 });
    expect(first.outcomes.restored).toBe(2);
    expect(await states(critical)).toEqual(["Enabled", "Enabled"]);
    expect(await states([...high, ...normal, ...low])).toEqual(Array(6).fill("PendingImport"));
    expect(first.incidentsClosed).toEqual([]);

    const second = await sweep(deps, { correlationId: "run-2", limit: 2 });
    expect(second.outcomes.restored).toBe(2);
    expect(await states(high)).toEqual(["Enabled", "Enabled"]);
    expect(await states([...normal, ...low])).toEqual(Array(4).fill("PendingImport"));

    const third = await sweep(deps, { correlationId: "run-3", limit: 2 });
    expect(third.outcomes.restored).toBe(2);
    expect(await states(normal)).toEqual(["Enabled", "Enabled"]);
    expect(await states(low)).toEqual(["PendingImport", "PendingImport"]);

    const last = await sweep(deps, { correlationId: "run-4" });
    expect(last.outcomes.restored).toBe(2);
    expect(await states(all)).toEqual(all.map(() => "Enabled"));
    expect(last.incidentsClosed).toEqual([HOME]);
  });
});
