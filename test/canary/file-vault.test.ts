/**
 * Canary for the file vault: known material through every lifecycle path, then a search of everything
 * Tether wrote or returned for the material, the import tokens and the wrapped material. Zero hits.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, it } from "vitest";
import { expectNoLeak, runCanary } from "../support/canary.js";
import { type LifecycleTestbed, startLifecycleTestbed } from "../support/lifecycle-testbed.js";

let bed: LifecycleTestbed;
beforeAll(async () => {
  bed = await startLifecycleTestbed();
});
afterAll(async () => {
  await bed?.close();
});

describe("canary: file vault", () => {
  it("never lets the material, an import token or wrapped material out", async () => {
    const known = { ref: `canary/${randomUUID()}`, material: randomBytes(32) };
    await bed.vault.put(known.ref, known.material, "SYMMETRIC_DEFAULT");

    const report = await runCanary({ name: "file", bed, vault: bed.vault, known });
    console.info(report.summary());

    expectNoLeak(report);
  }, 60_000);
});
