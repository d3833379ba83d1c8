/**
 * One of Tether's functions in a process of its own, as Lambda runs it: its deployed handler module, loaded
 * cold with configuration from the environment (so its own SDK clients and its own KMS rate limiter), given
 * the events in TEST_EVENTS. Started by runFunctionProcess (deployed-function.ts), e.g. three at once
 * against one local AWS (test/integration/functions/shared-quota-budget.test.ts).
 * Prints `RESULT <json>` (each invocation's outcome) as its last line.
 */
import type { Context } from "aws-lambda";
import { setFunctionsClock } from "../../functions/clock.js";

// The local stack's one clock: the emulator's (real time plus the offset the test moved it by).
const offsetMs = Number(process.env.TEST_CLOCK_OFFSET_MS ?? "0");
setFunctionsClock(() => new Date(Date.now() + offsetMs));

const role = process.argv[2];
const events = JSON.parse(process.env.TEST_EVENTS ?? "[]") as unknown[];
const context = (name: string, n: number) =>
  ({
    functionName: `tether-${name}`,
    awsRequestId: `${name}-${n}`,
    getRemainingTimeInMillis: () => 60_000,
  }) as unknown as Context;

type AnyHandler = (event: unknown, context: Context) => Promise<unknown>;
const modules: Record<string, string> = {
  api: "../../functions/api.js",
  sweep: "../../functions/sweep.js",
  "kms-events": "../../functions/kms-events.js",
};
const path = role === undefined ? undefined : modules[role];
if (path === undefined) throw new Error(`unknown function ${role}`);
const { handler } = (await import(path)) as { handler: AnyHandler };
const results = await Promise.all(events.map((event, n) => handler(event, context(role ?? "", n))));
process.stdout.write(`\nRESULT ${JSON.stringify(results)}\n`);
process.exit(0);
