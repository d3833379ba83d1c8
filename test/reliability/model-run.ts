/**
 * One batch of random sequences against its own local AWS: what a lane of the model test runs, in the
 * test's process (one lane) or in a child process (lane-main.ts). Returns the figures and, on failure,
 * fast-check's report: the shrunk sequence (JSON steps, ready for regressions.test.ts), seed and path.
 */
import fc from "fast-check";
import { SHARED_PRIME_ENV } from "../../infra/local/kms/wrapping-key-pool.js";
import { startLifecycleTestbed } from "../support/lifecycle-testbed.js";
import { figures, runSequence, StepCommand, stepArbitrary } from "./lifecycle-model.js";
import { closeModelPorts } from "./model-ports.js";

export interface BatchOptions {
  readonly runs: number;
  readonly maxSteps: number;
  readonly seed: number;
  /** Stop at the first failure instead of shrinking it. */
  readonly noShrink: boolean;
}

export interface BatchResult {
  readonly figures: typeof figures;
  /** Wall time of each sequence (setup, steps, final settle), ms. */
  readonly sequenceMs: number[];
  /** CPU time (user + system) of this process over the batch, ms; the local AWS runs in it too. */
  readonly cpuMs: number;
  readonly wallMs: number;
  /** This process's resident memory at the end, MB (the local AWS included). */
  readonly rssMb: number;
  readonly failure?: string;
}

/** Runs `runs` sequences from `seed`; never throws for an invariant violation (see `failure`). */
export async function runBatch(options: BatchOptions): Promise<BatchResult> {
  // The emulator's RSA wrapping keys from shared primes: a sequence asks for about seven, and a fresh
  // RSA_2048 pair is ~150 ms of CPU (half of a sequence's cost). Distinct pairs all the same (see
  // infra/local/kms/wrapping-key-pool.ts).
  const previous = process.env[SHARED_PRIME_ENV];
  process.env[SHARED_PRIME_ENV] = "1";
  const started = Date.now();
  const cpu = process.cpuUsage();
  const bed = await startLifecycleTestbed();
  const sequenceMs: number[] = [];
  let failure: string | undefined;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.commands([stepArbitrary.map((step) => new StepCommand(step))], {
          maxCommands: options.maxSteps,
          size: "medium",
        }),
        async (commands) => {
          const t0 = Date.now();
          await runSequence(bed, commands);
          sequenceMs.push(Date.now() - t0);
        },
      ),
      { numRuns: options.runs, seed: options.seed, endOnFailure: options.noShrink },
    );
  } catch (error) {
    // fast-check's report (shrunk sequence, seed, path), then what the last failing run threw.
    failure = error instanceof Error ? error.message : String(error);
    const cause = error instanceof Error ? error.cause : undefined;
    if (cause !== undefined)
      failure += `\nThe shrunk sequence failed with: ${cause instanceof Error ? cause.message : String(cause)}`;
  } finally {
    closeModelPorts(bed);
    await bed.close();
    if (previous === undefined) delete process.env[SHARED_PRIME_ENV];
    else process.env[SHARED_PRIME_ENV] = previous;
  }
  const used = process.cpuUsage(cpu);
  return {
    figures,
    sequenceMs,
    cpuMs: Math.round((used.user + used.system) / 1000),
    wallMs: Date.now() - started,
    rssMb: Math.round(process.memoryUsage().rss / 1024 / 1024),
    ...(failure === undefined ? {} : { failure }),
  };
}
