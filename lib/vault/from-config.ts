import { HashiCorpVaultEnv, loadVaultSettings } from "../config.js";
import { allowedWrappings } from "../domain/wrapping.js";
import { VaultError } from "./errors.js";
import { fileVaultFromEnv } from "./file-vault.js";
import type { Vault } from "./port.js";

/**
 * The vault TETHER_VAULT names, built from its settings. Makes no calls: a vault is reached on first use,
 * but every setting is checked here, at cold start.
 *
 * Only the file vault is built at once. The others are loaded on first use, so a function does not pay
 * at cold start for SDK clients and modules of vaults it does not use (esbuild evaluates a module reached
 * only through a dynamic import lazily); the PKCS#11 module is not even bundled (see PKCS11_MODULE).
 * @throws ConfigError naming a missing or malformed setting; VaultError / VaultLockedError from the
 *   file vault (e.g. a missing passphrase); the other adapters' own refusals come at first use
 */
export function vaultFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): Vault {
  const settings = loadVaultSettings(env);
  switch (settings.provider) {
    case "file":
      return fileVaultFromEnv(env);
    case "pkcs11":
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
    case "secrets-manager":
      return deferredVault("secrets-manager", async () =>
        (await import("./secrets-manager/secrets-manager-vault.js")).secretsManagerVault(settings),
      );
    case "hashicorp": {
      const token = env[HashiCorpVaultEnv.Token];
      return deferredVault("hashicorp", async () =>
        (await import("./hashicorp/hashicorp-vault.js")).hashiCorpVault(
          settings,
          token === undefined ? {} : { token },
        ),
      );
    }
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
    supportedWrappings: async (keySpec) => {
      const loaded = await vault();
      return loaded.supportedWrappings === undefined
        ? allowedWrappings(keySpec)
        : loaded.supportedWrappings(keySpec);
    },
  };
}
