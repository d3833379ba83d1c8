import { ConfigError, type SettingsEnv } from "../domain/settings.js";
import { allowedWrappings } from "../domain/wrapping.js";
import type { Vault, WrapForRequest } from "../lifecycle/ports.js";
import type { VaultLoader, VaultOptions } from "./adapter.js";
import { VaultError } from "./errors.js";
import { HashiCorpVaultEnv } from "./hashicorp/settings.js";
import {
  loadVaultSettings,
  VAULT_SECRET_REF,
  type VaultProviderName,
  type VaultSettings,
  vaultAdapter,
} from "./settings.js";

/**
 * How each adapter of lib/vault/adapters.ts is loaded: one entry per adapter (the type asks for every
 * provider). Each condition is spelled out so esbuild folds it: serverless.yml's custom.esbuild.define
 * replaces `process.env.TETHER_VAULT_BUILD` with the stage's `vault`, every other entry becomes undefined,
 * and its dynamic import, modules and SDK clients are left out of the bundle. These live here, not in the
 * adapters' settings.ts, because lib/config.ts reads every settings.ts: a function that never uses the
 * vault (the probe) would otherwise hold the adapter of its stage.
 */
const LOADERS: {
  readonly [P in VaultProviderName]: VaultLoader<Extract<VaultSettings, { provider: P }>> | undefined;
} = {
  file:
    process.env.TETHER_VAULT_BUILD === undefined || process.env.TETHER_VAULT_BUILD === "file"
      ? async (_settings, env) => (await import("./file/file-vault.js")).fileVaultFromEnv(env)
      : undefined,
  pkcs11:
    process.env.TETHER_VAULT_BUILD === undefined || process.env.TETHER_VAULT_BUILD === "pkcs11"
      ? (_settings, env) =>
          (import(PKCS11_MODULE) as Promise<typeof import("./pkcs11/index.js")>).then(
            (m) => m.pkcs11VaultFromEnv(env),
            (error: unknown) => {
              throw new VaultError(
                "The PKCS#11 vault is not available in this build (lib/vault/pkcs11 and the pkcs11js addon are not bundled).",
                { cause: error },
              );
            },
          )
      : undefined,
  "secrets-manager":
    process.env.TETHER_VAULT_BUILD === undefined || process.env.TETHER_VAULT_BUILD === "secrets-manager"
      ? async (settings) =>
          (await import("./secrets-manager/secrets-manager-vault.js")).secretsManagerVault(settings)
      : undefined,
  hashicorp:
    process.env.TETHER_VAULT_BUILD === undefined || process.env.TETHER_VAULT_BUILD === "hashicorp"
      ? async (settings, env) => {
          const token = env[HashiCorpVaultEnv.Token];
          return (await import("./hashicorp/hashicorp-vault.js")).hashiCorpVault(
            settings,
            token === undefined ? {} : { token },
          );
        }
      : undefined,
  agent:
    process.env.TETHER_VAULT_BUILD === undefined || process.env.TETHER_VAULT_BUILD === "agent"
      ? async (settings, env, options) =>
          (await import("./agent/index.js")).agentVaultFromSettings(settings, env, options)
      : undefined,
};

/**
 * A specifier the bundler cannot follow: the PKCS#11 module loads the pkcs11js native addon at import, so
 * it stays out of every Lambda bundle and only a process that chose the PKCS#11 vault loads it.
 */
const PKCS11_MODULE: string = ["./pkcs11", "index.js"].join("/");

/**
 * The vault TETHER_VAULT names, built from its settings. Makes no calls: a vault is reached on first use,
 * but every setting is checked here, at cold start.
 *
 * Every adapter is loaded on first use (its entry in LOADERS above), so a function does not pay at
 * cold start for the modules and SDK clients of a vault: most invocations (a sweep with nothing due, a KMS
 * event about another key, an API read) never reach the vault, and esbuild evaluates a module reached only
 * through a dynamic import lazily. The PKCS#11 module is not even bundled (PKCS11_MODULE).
 * The file vault's two variables are still checked here, at cold start (its `prepare`).
 *
 * A deployed bundle holds only the adapter of the vault it was built for: esbuild replaces
 * `process.env.TETHER_VAULT_BUILD` with serverless.yml's `vault` parameter (custom.esbuild.define), and each
 * other adapter's entry in LOADERS folds to undefined, so esbuild leaves out its dynamic import
 * (its modules, zod and SDK clients are neither shipped nor parsed at cold start). Unbundled the constant is
 * undefined and every adapter is available; loadVaultSettings refuses a TETHER_VAULT the bundle lacks.
 * @throws ConfigError naming a missing or malformed setting, or a vault this bundle was not built for;
 *   VaultError / VaultLockedError when the file vault's directory or passphrase is not set; the other
 *   adapters' own refusals come at first use
 */
export function vaultFromEnv(env: SettingsEnv = process.env, options: VaultOptions = {}): Vault {
  const settings = loadVaultSettings(env);
  const adapter = vaultAdapter(settings.provider);
  const load = LOADERS[settings.provider] as VaultLoader<VaultSettings> | undefined;
  if (adapter !== undefined && load !== undefined) {
    adapter.prepare?.(env);
    return deferredVault(adapter.provider, () => load(settings, env, options));
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
export async function withVaultSecret(env: SettingsEnv = process.env): Promise<SettingsEnv> {
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
    // The vault agent wraps with the import's context (Vault.wrapFor); known from the provider, before loading.
    ...(kind === "agent"
      ? {
          wrapFor: async (request: WrapForRequest) => {
            const loaded = await vault();
            if (loaded.wrapFor === undefined) throw new VaultError(`the ${kind} vault cannot wrapFor`);
            return loaded.wrapFor(request);
          },
        }
      : {}),
    supportedWrappings: async (keySpec) => {
      const loaded = await vault();
      return loaded.supportedWrappings === undefined
        ? allowedWrappings(keySpec)
        : loaded.supportedWrappings(keySpec);
    },
  };
}
