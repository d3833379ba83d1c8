import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLifecycleDeps } from "../../../lib/composition-root.js";
import { AuditDetailType } from "../../../lib/domain/audit-types.js";
import { KeySpec } from "../../../lib/domain/kms-constants.js";
import { loadKey, reimport } from "../../../lib/lifecycle/use-cases/operator-actions.js";
import { registerKey } from "../../../lib/lifecycle/use-cases/register.js";
import { hashiCorpVault } from "../../../lib/vault/hashicorp/index.js";
import {
  type HashiCorpVaultServer,
  startHashiCorpVaultServer,
} from "../../support/hashicorp-vault-server.js";
import {
  CREDENTIALS,
  type LifecycleTestbed,
  startLifecycleTestbed,
} from "../../support/lifecycle-testbed.js";

/** Each managed key records its vault's kind; it moves to another vault only with the same check value. */
describe("a key's vault", () => {
  let bed: LifecycleTestbed;
  let server: HashiCorpVaultServer;

  beforeAll(async () => {
    bed = await startLifecycleTestbed();
    server = await startHashiCorpVaultServer({ mounts: ["kv"] });
    server.tokens.add("hvs.kind");
  }, 30_000);
  afterAll(async () => {
    await server?.close();
    await bed?.close();
  });

  const hashicorp = (prefix: string) =>
    hashiCorpVault(
      {
        provider: "hashicorp",
        address: server.url,
        kvMount: "kv",
        pathPrefix: prefix,
        kvVersion: 1,
        auth: { method: "token" },
      },
      { token: "hvs.kind" },
    );
  const depsWith = (vault: ReturnType<typeof hashicorp>) =>
    createLifecycleDeps(bed.config, { vault, credentials: CREDENTIALS, clock: bed.now });

  async function registered() {
    const { ref, material, checkValue } = await bed.putMaterial();
    const { key } = await registerKey(bed.deps, {
      mode: "create",
      region: "eu-west-1",
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: ref,
      checkValue,
      policy: { validityPeriod: "P30D" },
      actor: "operator:alice",
      correlationId: `kind-${ref}`,
    });
    return { key, ref, material };
  }

  it("is recorded at registration and read back from the table", async () => {
    const { key } = await registered();
    expect(key.vaultKind).toBe("file");
    expect((await loadKey(bed.deps, key.id)).vaultKind).toBe("file");
  });

  it("moves to another vault kind when that vault holds the same material (same check value)", async () => {
    const { key, ref, material } = await registered();
    const vault = hashicorp("same");
    await vault.put(ref, material, KeySpec.SYMMETRIC_DEFAULT);
    const result = await reimport(depsWith(vault), {
      key: key.id,
      actor: "operator:alice",
      correlationId: "move",
    });
    expect(result.regions["eu-west-1"]?.kind).not.toBe("failed");
    expect((await loadKey(bed.deps, key.id)).vaultKind).toBe("hashicorp");
  });

  it("refuses another vault kind whose material differs: nothing imported, critical alert, kind kept", async () => {
    const { key, ref } = await registered();
    const vault = hashicorp("other");
    await vault.put(ref, randomBytes(32), KeySpec.SYMMETRIC_DEFAULT);
    const before = (await bed.history(key.id)).filter(
      (e) => e.detailType === AuditDetailType.KeyMaterialRenewed,
    ).length;
    const result = await reimport(depsWith(vault), {
      key: key.id,
      actor: "operator:alice",
      correlationId: "refuse",
    });
    expect(result.regions["eu-west-1"]).toMatchObject({
      kind: "failed",
      errorName: "CheckValueMismatchError",
    });
    expect((await loadKey(bed.deps, key.id)).vaultKind).toBe("file");
    const history = await bed.history(key.id);
    expect(history.filter((e) => e.detailType === AuditDetailType.KeyMaterialRenewed).length).toBe(before);
    expect(JSON.stringify(history)).toMatch(/CHECK_VALUE_MISMATCH|CheckValueMismatch/i);
  });
});
