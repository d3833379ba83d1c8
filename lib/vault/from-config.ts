import { HashiCorpVaultEnv, loadVaultSettings } from "../config.js";
import { allowedWrappings } from "../domain/wrapping.js";
import { VaultError } from "./errors.js";
import { fileVaultFromEnv } from "./file-vault.js";
import { hashiCorpVault } from "./hashicorp/hashicorp-vault.js";
import type { Vault } from "./port.js";
import { secretsManagerVault } from "./secrets-manager/secrets-manager-vault.js";

/**
 * The vault TETHER_VAULT names, built from its settings. Makes no calls: a vault is reached on first use,
 * but every setting is checked here, at cold start.
 * @throws ConfigError naming a missing or malformed setting; VaultError / VaultLockedError from the
 *   adapter (e.g. a missing passphrase, token or PIN source)
 */
export function vaultFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): Vault {
  const settings = loadVaultSettings(env);
  switch (settings.provider) {
    case "file":
      return fileVaultFromEnv(env);
    case "pkcs11":
      return deferredPkcs11Vault(env);
    case "secrets-manager":
      return secretsManagerVault(settings);
    case "hashicorp": {
      const token = env[HashiCorpVaultEnv.Token];
      return hashiCorpVault(settings, token === undefined ? {} : { token });
    }
  }
}

/**
 * The PKCS#11 vault, loaded on first use: lib/vault/pkcs11 loads the pkcs11js native addon at import,
 * which the other providers must not need. Its settings are therefore checked by pkcs11VaultFromEnv at
 * the first vault call, not at cold start.
 */
const PKCS11_MODULE: string = ["./pkcs11", "index.js"].join("/");

function deferredPkcs11Vault(env: Readonly<Record<string, string | undefined>>): Vault {
  let loading: Promise<Vault> | undefined;
  const vault = (): Promise<Vault> => {
    // A specifier the bundler cannot follow: the native addon (pkcs11js) stays out of every Lambda bundle,
    // and only a process that chose the PKCS#11 vault loads it.
    loading ??= (import(PKCS11_MODULE) as Promise<typeof import("./pkcs11/index.js")>).then(
      (m) => m.pkcs11VaultFromEnv(env),
      (error: unknown) => {
        throw new VaultError(
          "The PKCS#11 vault is not available in this build (lib/vault/pkcs11 and the pkcs11js addon are not bundled).",
          { cause: error },
        );
      },
    );
    return loading;
  };
  return {
    kind: "pkcs11",
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
