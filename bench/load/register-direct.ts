/**
 * Registers many keys for a soak through Tether's own registerKey use case, against the running stack's
 * table, vault and KMS, with deps built like lib/composition-root.ts builds them but without the client-side rate
 * limiter (setup only, with the emulator's quotas still off): through the API each registration waits
 * for GetParametersForImport's 1 request per second, so 1,000 keys would take over 20 minutes to set up.
 * The records, claims, history and KMS keys are the ones POST /keys writes.
 */

import type { LocalStack } from "../../infra/local/runner/index.js";
import { createLifecycleDeps } from "../../lib/composition-root.js";
import { loadConfig } from "../../lib/config.js";
import { kmsClients } from "../../lib/kms/clients.js";
import { KmsAdapter } from "../../lib/kms/kms-adapter.js";
import { registerKey } from "../../lib/lifecycle/use-cases/register.js";
import { vaultFromEnv } from "../../lib/vault/from-config.js";

const CONCURRENCY = 8;

/**
 * Registers `count` single-Region keys with generated material; returns their ids and ARNs.
 * @throws the first registration error (nothing to load without the keys)
 */
export async function registerDirect(
  stack: LocalStack,
  count: number,
  policy: Record<string, unknown>,
  progress: (done: number) => void,
): Promise<Array<{ id: string; arn: string }>> {
  // startLocalStack put the functions' environment (table, bus, vault, endpoints) in process.env.
  const config = loadConfig(process.env);
  const vault = vaultFromEnv(process.env);
  const base = createLifecycleDeps(config, { vault });
  const deps = {
    ...base,
    kms: new KmsAdapter({ clients: kmsClients({ endpoint: stack.endpoints.kms }), vault }),
  };
  const keys: Array<{ id: string; arn: string }> = [];
  let next = 0;
  const stamp = Date.now();
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const { key } = await registerKey(deps, {
        mode: "create",
        region: stack.region,
        keySpec: "SYMMETRIC_DEFAULT",
        materialRef: `load/${stamp}-${i}`,
        generateMaterial: true,
        policy,
        actor: "operator:load-setup",
        correlationId: `load-setup-${i}`,
      });
      keys.push({ id: key.id, arn: key.regions[0]?.keyArn ?? "" });
      if (keys.length % 100 === 0) progress(keys.length);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return keys;
}
