/**
 * A lane of the model test in its own process (spawned by lanes.ts with `node --import tsx`): runs its
 * batch and sends the result to the parent over IPC. Options come as JSON in argv[2].
 */
import { type BatchOptions, runBatch } from "./model-run.js";

const options = JSON.parse(process.argv[2] ?? "{}") as BatchOptions;
const result = await runBatch(options);
await new Promise<void>(
  (resolve, reject) =>
    process.send?.(result, undefined, {}, (error) => (error ? reject(error) : resolve())) ?? resolve(),
);
process.disconnect?.();
