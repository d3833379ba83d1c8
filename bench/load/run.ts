/**
 * `npm run load`: starts a local stack in memory on loopback (ephemeral ports) and runs the bounded load
 * (bench/load/load.ts). TETHER_LOAD_SECONDS (default 10), TETHER_LOAD_KEYS (default 20),
 * TETHER_LOAD_CONCURRENCY (default 16), TETHER_LOAD_MAX_REQUESTS (default unbounded by count).
 * Exits 1 when an answer other than 2xx/409/429 came back or a lease stayed held.
 */
import { startLocalStack } from "../../infra/local/runner/index.js";
import { runLoad } from "./load.js";

const num = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};

process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const stack = await startLocalStack({
  memory: true,
  host: "127.0.0.1",
  ports: { api: 0, kms: 0, dynamodb: 0, events: 0 },
  sweepIntervalMs: 0,
  log: () => undefined,
});
try {
  const report = await runLoad(stack, {
    seconds: num("TETHER_LOAD_SECONDS", 10),
    keys: num("TETHER_LOAD_KEYS", 20),
    concurrency: num("TETHER_LOAD_CONCURRENCY", 16),
    ...(process.env.TETHER_LOAD_MAX_REQUESTS ? { maxRequests: num("TETHER_LOAD_MAX_REQUESTS", 1) } : {}),
    log: (line) => console.log(`[load] ${line}`),
  });
  console.log(JSON.stringify(report, null, 2));
  process.exitCode = report.unexpected === 0 && report.stuckLeases === 0 ? 0 : 1;
} finally {
  await stack.close();
}
