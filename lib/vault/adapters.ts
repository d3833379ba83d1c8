import { agentVaultAdapter } from "./agent/settings.js";
import { fileVaultAdapter } from "./file/settings.js";
import { hashiCorpVaultAdapter } from "./hashicorp/settings.js";
import { pkcs11VaultAdapter } from "./pkcs11/settings.js";
import { secretsManagerVaultAdapter } from "./secrets-manager/settings.js";

/**
 * The vault adapters Tether can use, chosen by TETHER_VAULT: one line each, under the name code uses for
 * it (VaultProvider.File, ...). Adding an adapter is a folder under lib/vault whose settings.ts exports a
 * VaultAdapter (lib/vault/adapter.ts), and its line here (CONTRIBUTING.md). The settings
 * (lib/vault/settings.ts), the secret reference and the factory (lib/vault/from-config.ts) read everything
 * else from the entry.
 */
export const VAULT_ADAPTERS = {
  File: fileVaultAdapter,
  Pkcs11: pkcs11VaultAdapter,
  SecretsManager: secretsManagerVaultAdapter,
  HashiCorp: hashiCorpVaultAdapter,
  Agent: agentVaultAdapter,
} as const;
