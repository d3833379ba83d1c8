/**
 * The smallest load that shows the admin API's deadline problem: N keys, the emulator's quotas on, then
 * N concurrent POST /keys/{id}/reimport from one admin, each key needing fresh import parameters (the
 * API function's parameter cache is cold for keys it did not register). GetParametersForImport is limited
 * to 1/s per account and Region (Tether's limiter: 0.8/s), so the queue grows 1.25 s per request and those
 * behind ~23 s of it outlive the API function's 29 s timeout.
 * `node --import tsx bench/load/burst.ts [keys=40]`; prints each answer's status and latency.
 */

import { SHARED_PRIME_ENV } from "../../infra/local/kms/wrapping-key-pool.js";
import { LOCAL_ADMIN, startLocalStack } from "../../infra/local/runner/index.js";
import { signedFetch } from "../../test/e2e/support.js";
import { registerDirect } from "./register-direct.js";

const keys = Number(process.argv[2] ?? 40);
process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
process.env[SHARED_PRIME_ENV] = "1";
const stack = await startLocalStack({
  memory: true,
  host: "127.0.0.1",
  ports: { api: 0, kms: 0, dynamodb: 0, events: 0 },
  sweepIntervalMs: 0,
  log: () => undefined,
});
try {
  const registered = await registerDirect(
    stack,
    keys,
    { validityPeriod: "P30D", wrappingKeySpec: "RSA_2048" },
    () => undefined,
  );
  await stack.localAws.kms.admin.setQuotas({});
  const credentials = { accessKeyId: LOCAL_ADMIN.accessKeyId, secretAccessKey: LOCAL_ADMIN.secretAccessKey };
  const started = performance.now();
  const answers = await Promise.all(
    registered.map(async (key) => {
      const t0 = performance.now();
      const out = await signedFetch(stack.apiUrl, {
        method: "POST",
        path: `/keys/${encodeURIComponent(key.id)}/reimport`,
        credentials,
        body: {},
      });
      return { status: out.status, ms: Math.round(performance.now() - t0), body: out.body };
    }),
  );
  const histogram: Record<string, number> = {};
  for (const a of answers) histogram[a.status] = (histogram[a.status] ?? 0) + 1;
  const sorted = [...answers].sort((a, b) => a.ms - b.ms);
  console.log(
    JSON.stringify({
      keys,
      wallMs: Math.round(performance.now() - started),
      statuses: histogram,
      latencyMs: sorted.map((a) => `${a.status}@${a.ms}`),
      firstNon2xx: answers.find((a) => a.status >= 300),
      kms: await stack.localAws.kms.admin.stats(),
    }),
  );
} finally {
  await stack.localAws.kms.admin.setQuotas(false);
  await stack.close();
}
