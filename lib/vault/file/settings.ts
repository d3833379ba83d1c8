import type { SettingsEnv } from "../../domain/settings.js";
import type { VaultAdapter } from "../adapter.js";
import { VaultError, VaultLockedError } from "../errors.js";

/** The file vault's directory. */
export const FILE_VAULT_DIR_ENV = "TETHER_FILE_VAULT_DIR";
/** The passphrase that unlocks it (a secret: by reference in a bundle built for AWS). */
export const FILE_VAULT_PASSPHRASE_ENV = "TETHER_FILE_VAULT_PASSPHRASE";

/** The file vault reads its directory and passphrase when it is built (fileVaultFromEnv). */
export interface FileVaultSettings {
  readonly provider: "file";
}

/**
 * The file vault's directory and passphrase from its variables: one check for the cold start (the adapter's
 * `prepare`) and for building the vault (fileVaultFromEnv), so both refuse alike.
 * @throws VaultError when the directory is not set; VaultLockedError when the passphrase is not
 */
export function fileVaultEnv(env: SettingsEnv): { directory: string; passphrase: string } {
  const directory = env[FILE_VAULT_DIR_ENV];
  if (directory === undefined || directory.trim() === "") {
    throw new VaultError(`${FILE_VAULT_DIR_ENV} is not set; it must name the file vault's directory.`);
  }
  const passphrase = env[FILE_VAULT_PASSPHRASE_ENV];
  if (passphrase === undefined || passphrase === "") {
    throw new VaultLockedError(
      `${FILE_VAULT_PASSPHRASE_ENV} is not set or is empty, and TETHER_VAULT_SECRET_REF names no passphrase; the file vault cannot be unlocked without it.`,
    );
  }
  return { directory, passphrase };
}

export const fileVaultAdapter: VaultAdapter<FileVaultSettings> = {
  provider: "file",
  secretVariable: FILE_VAULT_PASSPHRASE_ENV,
  plainSecrets: [FILE_VAULT_PASSPHRASE_ENV],
  endpointOverrides: [],
  settings: () => ({ provider: "file" }),
  prepare: (env) => {
    fileVaultEnv(env);
  },
};
