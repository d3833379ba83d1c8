/**
 * `npm run load`: starts a local stack in memory on loopback (ephemeral ports) and runs the bounded load
 * (bench/load/load.ts). Environment:
 * - TETHER_LOAD_SECONDS (default 10), TETHER_LOAD_KEYS (default 20), TETHER_LOAD_CONCURRENCY (default 16),
 *   TETHER_LOAD_MAX_REQUESTS (default unbounded by count);
 * - TETHER_LOAD_REGISTER: "api" or "direct" (default: api up to 50 keys, direct above; see LoadOptions);
 * - TETHER_LOAD_EVENT_EVERY_MS: pause between out-of-band deletions with their KMS events (default 300);
 * - TETHER_LOAD_MIX: relative weights of the admin operations, e.g. "list=3,show=1" (default: 30 % list,
 *   20 % show, 10 % history, 12 % reimport, 10 % policy, 9 % revoke, 9 % restore);
 * - TETHER_LOAD_SWEEPS=0 / TETHER_LOAD_EVENTS=0: no sweeps / no KMS events alongside;
 * - TETHER_LOAD_SAMPLE_SECONDS: memory sample period (default 5); run with `node --expose-gc` (see
 *   bench/load/README.md) so heap samples follow a full GC;
 * - TETHER_LOAD_SHARED_PRIMES=1: the emulator builds its RSA wrapping keys from shared primes, so the KMS
 *   stand-in's key generation (seconds of CPU per minute, work AWS does on its own machines) does not
 *   compete with Tether for this machine's CPU;
 * - TETHER_LOAD_IN_PROCESS=1: dynalite and the KMS emulator in this process, as `npm start` runs them
 *   (default: each in a child process of its own, so the memory samples of this process are Tether's —
 *   its functions, the API stand-in, the event bus and the load's own clients — and each child is
 *   sampled apart);
 * - TETHER_LOAD_EVENT_HISTORY: events each local bus keeps for inspection (default 10,000; they live in
 *   this process, so a long run's heap holds up to that many audit and KMS events);
 * - TETHER_LOAD_OUT: a directory to write `soak.json` and `soak.md` to; TETHER_LOAD_NOTE: a line for them.
 * Exits 1 when an answer other than 2xx/409/429 came back, a sweep failed, or a lease stayed held.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SHARED_PRIME_ENV } from "../../infra/local/kms/wrapping-key-pool.js";
import { startLocalStack } from "../../infra/local/runner/index.js";
import { OPERATIONS, type Operation, runLoad } from "./load.js";
import { machine, soakMarkdown } from "./report.js";

const num = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};

process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
if (process.env.TETHER_LOAD_SHARED_PRIMES === "1") process.env[SHARED_PRIME_ENV] = "1";
const keys = num("TETHER_LOAD_KEYS", 20);
const register = process.env.TETHER_LOAD_REGISTER ?? (keys > 50 ? "direct" : "api");
if (register !== "api" && register !== "direct")
  throw new Error("TETHER_LOAD_REGISTER must be api or direct");
/** "list=3,show=1": relative weights of the admin operations. */
function parseMix(text: string | undefined): Partial<Record<Operation, number>> | undefined {
  if (text === undefined || text === "") return undefined;
  const mix: Partial<Record<Operation, number>> = {};
  for (const part of text.split(",")) {
    const [name, weight] = part.split("=");
    if (!OPERATIONS.includes(name as Operation) || !(Number(weight) >= 0)) {
      throw new Error(`TETHER_LOAD_MIX: "${part}" is not operation=weight (${OPERATIONS.join(", ")})`);
    }
    mix[name as Operation] = Number(weight);
  }
  return mix;
}
const mix = parseMix(process.env.TETHER_LOAD_MIX);
const before = machine();
const childProcesses = process.env.TETHER_LOAD_IN_PROCESS !== "1";
const stack = await startLocalStack({
  memory: true,
  childProcesses,
  ...(process.env.TETHER_LOAD_EVENT_HISTORY
    ? { eventHistoryLimit: num("TETHER_LOAD_EVENT_HISTORY", 10_000) }
    : {}),
  host: "127.0.0.1",
  ports: { api: 0, kms: 0, dynamodb: 0, events: 0 },
  sweepIntervalMs: 0,
  log: () => undefined,
});
try {
  const report = await runLoad(stack, {
    seconds: num("TETHER_LOAD_SECONDS", 10),
    keys,
    concurrency: num("TETHER_LOAD_CONCURRENCY", 16),
    register,
    sampleEveryMs: num("TETHER_LOAD_SAMPLE_SECONDS", 5) * 1000,
    eventEveryMs: num("TETHER_LOAD_EVENT_EVERY_MS", 300),
    ...(mix === undefined ? {} : { mix }),
    sweeps: process.env.TETHER_LOAD_SWEEPS !== "0",
    kmsEvents: process.env.TETHER_LOAD_EVENTS !== "0",
    // The table goes last: nothing uses the stack after this run.
    measureTableMemory: true,
    ...(process.env.TETHER_LOAD_MAX_REQUESTS ? { maxRequests: num("TETHER_LOAD_MAX_REQUESTS", 1) } : {}),
    log: (line) => console.log(`[load] ${line}`),
  });
  const after = machine();
  const out = process.env.TETHER_LOAD_OUT;
  if (out !== undefined && out !== "") {
    const context = {
      command: process.argv.slice(1).join(" "),
      environment: Object.fromEntries(
        Object.entries(process.env).filter(([k]) => k.startsWith("TETHER_LOAD_") && k !== "TETHER_LOAD_OUT"),
      ),
      sharedPrimes: process.env[SHARED_PRIME_ENV] === "1",
      childProcesses,
      register,
      before,
      after,
      note: process.env.TETHER_LOAD_NOTE ?? "",
      finishedAt: new Date().toISOString(),
    };
    await mkdir(out, { recursive: true });
    await writeFile(join(out, "soak.json"), `${JSON.stringify({ context, report }, null, 2)}\n`);
    await writeFile(join(out, "soak.md"), soakMarkdown(context, report));
    console.log(`[load] wrote ${join(out, "soak.md")} and soak.json`);
  } else {
    const { memorySamples: _s, ...brief } = report;
    console.log(JSON.stringify(brief, null, 2));
  }
  process.exitCode = report.unexpected === 0 && report.stuckLeases === 0 && report.sweepErrors === 0 ? 0 : 1;
} finally {
  await stack.close();
}
