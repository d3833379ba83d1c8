import { ConfigError, HashiCorpVaultEnv, loadVaultSettings, VAULT_SECRET_REF } from "../config.js";
import { allowedWrappings } from "../domain/wrapping.js";
import { VaultError, VaultLockedError } from "./errors.js";
import type { Vault } from "./port.js";

/**
 * The vault TETHER_VAULT names, built from its settings. Makes no calls: a vault is reached on first use,
 * but every setting is checked here, at cold start.
 *
 * Every adapter is loaded on first use, so a function does not pay at cold start for the modules and SDK
 * clients of a vault: most invocations (a sweep with nothing due, a KMS event about another key, an API
 * read) never reach the vault, and esbuild evaluates a module reached only through a dynamic import
 * lazily. The PKCS#11 module is not even bundled (see PKCS11_MODULE). The file vault's two variables are
 * still checked here, at cold start.
 *
 * A deployed bundle holds only the adapter of the vault it was built for: esbuild replaces
 * `process.env.TETHER_VAULT_BUILD` with serverless.yml's `vault` parameter (custom.esbuild.define), each
 * branch below then folds to a constant, and esbuild leaves out the dynamic imports of the dead ones (their
 * modules, zod and SDK clients are neither shipped nor parsed at cold start). The expression is spelled out
 * in each branch because esbuild folds it there even without minification. Unbundled the constant is
 * undefined and every adapter is available; loadVaultSettings refuses a TETHER_VAULT the bundle lacks.
 * @throws ConfigError naming a missing or malformed setting, or a vault this bundle was not built for;
 *   VaultError / VaultLockedError when the file vault's directory or passphrase is not set; the other
 *   adapters' own refusals come at first use
 */
export function vaultFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): Vault {
  const settings = loadVaultSettings(env);
  switch (settings.provider) {
    case "file":
      if (process.env.TETHER_VAULT_BUILD === undefined || process.env.TETHER_VAULT_BUILD === "file") {
        requireFileVaultEnv(env);
        return deferredVault("file", async () => (await import("./file-vault.js")).fileVaultFromEnv(env));
      }
      break;
    case "pkcs11":
      if (process.env.TETHER_VAULT_BUILD === undefined || process.env.TETHER_VAULT_BUILD === "pkcs11") {
        return deferredVault("pkcs11", () =>
          (import(PKCS11_MODULE) as Promise<typeof import("./pkcs11/index.js")>).then(
            (m) => m.pkcs11VaultFromEnv(env),
            (error: unknown) => {
              throw new VaultError(
                "The PKCS#11 vault is not available in this build (lib/vault/pkcs11 and the pkcs11js addon are not bundled).",
                { cause: error },
              );
            },
          ),
        );
      }
      break;
    case "secrets-manager":
      if (
        process.env.TETHER_VAULT_BUILD === undefined ||
        process.env.TETHER_VAULT_BUILD === "secrets-manager"
      ) {
        return deferredVault("secrets-manager", async () =>
          (await import("./secrets-manager/secrets-manager-vault.js")).secretsManagerVault(settings),
        );
      }
      break;
    case "hashicorp":
      if (process.env.TETHER_VAULT_BUILD === undefined || process.env.TETHER_VAULT_BUILD === "hashicorp") {
        const token = env[HashiCorpVaultEnv.Token];
        return deferredVault("hashicorp", async () =>
          (await import("./hashicorp/hashicorp-vault.js")).hashiCorpVault(
            settings,
            token === undefined ? {} : { token },
          ),
        );
      }
      break;
  }
  // Unreachable: loadVaultSettings refuses a vault this bundle was not built for.
  throw new ConfigError(
    `Tether is misconfigured: TETHER_VAULT is "${settings.provider}" but this bundle was built for the "${process.env.TETHER_VAULT_BUILD}" vault.`,
  );
}

/**
 * The environment the vault is built from: `env` itself, or, when TETHER_VAULT_SECRET_REF is set, a copy
 * holding the secret it names, read from SSM or Secrets Manager (lib/vault/secret-reference.ts). Await it at
 * cold start.
 *
 * The reference is fixed at build time, like the vault: esbuild replaces `process.env.TETHER_VAULT_SECRET_REF_BUILD`
 * with serverless.yml's `vaultSecretRef` parameter. A bundle built without one holds neither the resolver nor
 * the SSM and Secrets Manager clients, and refuses a reference; a bundle built with one refuses any other, so
 * a configuration change cannot make a function read a secret of someone else's choosing. Unbundled the
 * constant is undefined and any reference is read.
 * @throws ConfigError naming the reference when it cannot be read or is not the one the bundle was built for
 */
export async function withVaultSecret(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Readonly<Record<string, string | undefined>>> {
  const ref = env[VAULT_SECRET_REF];
  if (ref === undefined || ref === "") return env;
  if (
    process.env.TETHER_VAULT_SECRET_REF_BUILD === undefined ||
    process.env.TETHER_VAULT_SECRET_REF_BUILD !== ""
  ) {
    const builtFor = process.env.TETHER_VAULT_SECRET_REF_BUILD;
    if (builtFor !== undefined && builtFor !== ref) {
      throw new ConfigError(
        `Tether is misconfigured: ${VAULT_SECRET_REF} is not the reference this bundle was built for (${builtFor}); deploy again with the vaultSecretRef parameter to change it (docs/deploy.md).`,
      );
    }
    return (await import("./secret-reference.js")).resolveVaultSecret(env);
  }
  throw new ConfigError(
    `Tether is misconfigured: ${VAULT_SECRET_REF} is set, but this bundle was built without a vault secret reference; deploy with the vaultSecretRef parameter (docs/deploy.md).`,
  );
}

/**
 * The file vault's variables (FILE_VAULT_DIR_ENV and FILE_VAULT_PASSPHRASE_ENV of file-vault.ts, spelled
 * out so this module does not import the adapter), checked as fileVaultFromEnv checks them.
 * @throws VaultError when the directory is not set; VaultLockedError when the passphrase is not
 */
function requireFileVaultEnv(env: Readonly<Record<string, string | undefined>>): void {
  const directory = env.TETHER_FILE_VAULT_DIR;
  if (directory === undefined || directory.trim() === "") {
    throw new VaultError("TETHER_FILE_VAULT_DIR is not set; it must name the file vault's directory.");
  }
  const passphrase = env.TETHER_FILE_VAULT_PASSPHRASE;
  if (passphrase === undefined || passphrase === "") {
    throw new VaultLockedError(
      "TETHER_FILE_VAULT_PASSPHRASE is not set or is empty, and TETHER_VAULT_SECRET_REF names no passphrase; the file vault cannot be unlocked without it.",
    );
  }
}

/**
 * A specifier the bundler cannot follow: the PKCS#11 module loads the pkcs11js native addon at import, so
 * it stays out of every Lambda bundle and only a process that chose the PKCS#11 vault loads it.
 */
const PKCS11_MODULE: string = ["./pkcs11", "index.js"].join("/");

/** A vault whose adapter is loaded and built on first use (once; a failed load is retried next call). */
function deferredVault(kind: string, load: () => Promise<Vault>): Vault {
  let loading: Promise<Vault> | undefined;
  const vault = (): Promise<Vault> => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
  return {
    kind,
    wrap: async (ref, publicKeyDer, algorithm) => (await vault()).wrap(ref, publicKeyDer, algorithm),
    checkValue: async (ref) => (await vault()).checkValue(ref),
    generate: async (ref, keySpec) => (await vault()).generate(ref, keySpec),
    has: async (ref) => (await vault()).has(ref),
    describe: async (ref) => (await vault()).describe(ref),
    supportedWrappings: async (keySpec) => {
      const loaded = await vault();
      return loaded.supportedWrappings === undefined
        ? allowedWrappings(keySpec)
        : loaded.supportedWrappings(keySpec);
    },
  };
}
