/**
 * A bundle holds only the adapter of the vault its stage uses: serverless.yml's custom.esbuild.define turns
 * `process.env.TETHER_VAULT_BUILD` into the stage's `vault` parameter, and lib/vault/from-config.ts's other
 * branches become dead code esbuild leaves out. template.test.ts checks the packaged ci stage (the file
 * vault) through osls; this builds one function with esbuild for every vault, faster than four packagings.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VaultProvider, type VaultProviderName } from "../../lib/config.js";
import { bundleFunction, type EsbuildCustom, serverlessBuildSettings } from "./support/function-bundle.js";

const run = promisify(execFile);
const BUILD_CONSTANT = "process.env.TETHER_VAULT_BUILD";
// biome-ignore lint/suspicious/noTemplateCurlyInString: an osls variable of serverless.yml, not a template
const VAULT_VARIABLE = "${param:vault}";

/**
 * Each adapter's own modules (and the SDK clients only it uses), as esbuild's metafile names them. Its
 * settings.ts is not one of them: every bundle holds every adapter's settings.ts (the configuration checks
 * TETHER_VAULT and its variables at cold start, as lib/config.ts did when it held them), never the adapter it loads.
 */
const ADAPTER_INPUTS: Readonly<Record<VaultProviderName, readonly string[]>> = {
  file: ["lib/vault/file/"],
  hashicorp: ["lib/vault/hashicorp/"],
  // Not @aws-sdk/client-sts: every function bundles it for member accounts' credentials (lib/accounts/).
  "secrets-manager": ["lib/vault/secrets-manager/", "node_modules/@aws-sdk/client-secrets-manager/"],
  // Never bundled (a specifier esbuild cannot follow, and pkcs11js is excluded): nothing to find.
  pkcs11: ["lib/vault/pkcs11/"],
  // The queue (agent-queue.ts) is the agent routes' too, in every bundle; the adapter is the rest.
  agent: ["lib/vault/agent/agent-vault.ts", "lib/vault/agent/seal.ts", "lib/vault/agent/index.ts"],
};

let esbuild: EsbuildCustom;
let vaultParam: unknown;
let dir: string;

beforeAll(async () => {
  const settings = await serverlessBuildSettings();
  esbuild = settings.esbuild;
  vaultParam = settings.params.vault;
  dir = await mkdtemp(join(tmpdir(), "tether-vault-build-"));
});

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** functions/sweep.ts built as serverless-esbuild builds it, for the stage whose `vault` is `vault`. */
function buildFor(vault: VaultProviderName): Promise<{ inputs: string[]; outfile: string }> {
  return bundleFunction("sweep", join(dir, vault, "sweep.mjs"), { vault });
}

describe("custom.esbuild.define", () => {
  it("gives esbuild the stage's vault parameter as the constant from-config.ts branches on", () => {
    expect(esbuild.define?.[BUILD_CONSTANT]).toBe(`"${VAULT_VARIABLE}"`);
    expect(vaultParam).toBe(VaultProvider.File);
  });

  it.each(Object.values(VaultProvider))(
    "a bundle built for the %s vault holds no other adapter",
    async (vault) => {
      const { inputs } = await buildFor(vault);
      for (const [other, prefixes] of Object.entries(ADAPTER_INPUTS)) {
        const found = inputs.filter(
          (input) => prefixes.some((prefix) => input.startsWith(prefix)) && !input.endsWith("/settings.ts"),
        );
        if (other === vault && vault !== VaultProvider.Pkcs11) expect(found, other).not.toEqual([]);
        else expect(found, other).toEqual([]);
      }
    },
  );

  it("a bundle built for the HashiCorp vault refuses the file vault at cold start, naming both", async () => {
    const { outfile } = await buildFor(VaultProvider.HashiCorp);
    const probe = `import(${JSON.stringify(outfile)}).then(
      (m) => console.log(JSON.stringify({ handler: typeof m.handler })),
      (e) => console.log(JSON.stringify({ error: e.name, message: String(e.message) })))`;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", probe], {
      env: {
        PATH: process.env.PATH,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        AWS_REGION: "eu-west-1",
        TETHER_TABLE_NAME: "tether-test",
        TETHER_AUDIT_BUS_NAME: "tether-test-audit",
        TETHER_VAULT: "file",
        TETHER_FILE_VAULT_DIR: join(dir, "vault"),
        TETHER_FILE_VAULT_PASSPHRASE: "passphrase",
      },
    });
    const result = JSON.parse(stdout.trim().split("\n").pop() as string) as Record<string, string>;
    expect(result).toMatchObject({ error: "ConfigError" });
    expect(result.message).toContain(
      'TETHER_VAULT is "file" but this bundle was built for the "hashicorp" vault',
    );
  }, 60_000);
});
