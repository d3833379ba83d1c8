/**
 * Model-based fault testing of the lifecycle against the local AWS: random sequences of clock moves, KMS
 * expiry, regional loss, out-of-band deletions (with their CloudTrail events on time, twice, late, or
 * never), disable/enable, sweeps (also two at once), operator calls, policy changes, injected KMS errors,
 * a refusing audit bus and crashes at every step of the import protocol; invariants after every step (see
 * lifecycle-model.ts). Default: TETHER_RELIABILITY_RUNS=10 sequences of up to 20 steps (under a minute
 * here); set it higher to run many more. A failure prints the shrunk sequence as JSON steps: paste it
 * into regressions.test.ts.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type LifecycleTestbed, startLifecycleTestbed } from "../support/lifecycle-testbed.js";
import { figures, runSequence, StepCommand, stepArbitrary } from "./lifecycle-model.js";

const RUNS = Number(process.env.TETHER_RELIABILITY_RUNS ?? 10);
const MAX_STEPS = Number(process.env.TETHER_RELIABILITY_STEPS ?? 20);

let bed: LifecycleTestbed;
beforeAll(async () => {
  bed = await startLifecycleTestbed();
});
afterAll(async () => {
  console.log(`[reliability] lifecycle model: ${JSON.stringify(figures)}`);
  await bed?.close();
});

describe("the lifecycle under random faults", () => {
  it(
    `keeps every invariant over ${RUNS} random sequences of up to ${MAX_STEPS} steps`,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.commands([stepArbitrary.map((step) => new StepCommand(step))], {
            maxCommands: MAX_STEPS,
            size: "medium",
          }),
          async (commands) => runSequence(bed, commands),
        ),
        {
          numRuns: RUNS,
          endOnFailure: process.env.TETHER_RELIABILITY_NO_SHRINK === "1",
          ...(process.env.TETHER_RELIABILITY_SEED === undefined
            ? {}
            : { seed: Number(process.env.TETHER_RELIABILITY_SEED) }),
        },
      );
      console.log(
        `[reliability] ${figures.sequences} sequences, ${figures.steps} steps, faults: ${figures.crashesFired} crashes, ` +
          `${figures.kmsErrorsInjected} KMS errors, ${figures.busRefusals} bus outages, ${figures.regionsLost} regional losses, ` +
          `${figures.outOfBandDeletes} out-of-band deletes; ${figures.violations} invariant violations`,
      );
    },
    30 * 60_000,
  );
});
