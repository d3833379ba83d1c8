/**
 * Canary for the HashiCorp Vault adapter (KV v2, token auth) against the contract server of
 * test/support/hashicorp-vault-server.ts: known material through every lifecycle path, then zero hits for
 * it, the import tokens, the wrapped material and the Vault token.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, it } from "vitest";
import { hashiCorpVault } from "../../lib/vault/hashicorp/index.js";
import { expectNoLeak, runCanary } from "../support/canary.js";
import { type HashiCorpVaultServer, startHashiCorpVaultServer } from "../support/hashicorp-vault-server.js";
import { type LifecycleTestbed, startLifecycleTestbed } from "../support/lifecycle-testbed.js";

describe("canary: HashiCorp Vault (contract server)", () => {
  const token = `hvs.canary-${randomUUID()}`;
  let bed: LifecycleTestbed;
  let server: HashiCorpVaultServer;
  beforeAll(async () => {
    [bed, server] = await Promise.all([
      startLifecycleTestbed(),
      startHashiCorpVaultServer({ mounts: ["kv"] }),
    ]);
    server.tokens.add(token);
  });
  afterAll(async () => {
    await Promise.all([bed?.close(), server?.close()]);
  });

  it("never lets the material, an import token, wrapped material or the Vault token out", async () => {
    const vault = hashiCorpVault(
      {
        provider: "hashicorp",
        address: server.url,
        kvMount: "kv",
        pathPrefix: "tether-canary",
        kvVersion: 1,
        auth: { method: "token" },
      },
      { token },
    );
    const known = { ref: `canary/${randomUUID()}`, material: randomBytes(32) };
    await vault.put(known.ref, known.material, "SYMMETRIC_DEFAULT");

    const report = await runCanary({
      name: "hashicorp",
      bed,
      vault,
      known,
      otherSecrets: [{ label: "Vault token", value: token }],
    });
    console.info(report.summary());
    expectNoLeak(report);
  }, 60_000);
});
