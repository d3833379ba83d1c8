import type { SettingsEnv, SettingsReader } from "../domain/settings.js";
import type { Vault } from "../lifecycle/ports.js";

/**
 * The variable that names where the vault's one secret is kept: an SSM Parameter Store SecureString
 * parameter's ARN or a Secrets Manager secret's ARN. Read at cold start (lib/vault/secret-reference.ts) and
 * given to the vault as the plain variable it replaces ({@link VaultAdapter.secretVariable}).
 */
export const VAULT_SECRET_REF = "TETHER_VAULT_SECRET_REF";

/**
 * One vault adapter as lib/vault/adapters.ts lists it: its name, its secrets and endpoint overrides, and
 * its settings. Each adapter's folder exports one from its settings.ts (copy lib/vault/hashicorp/settings.ts
 * for a new one; CONTRIBUTING.md has the steps); lib/vault/from-config.ts says how to load it.
 */
export interface VaultAdapter<S extends { readonly provider: string }> {
  /** The TETHER_VAULT value that picks this adapter. */
  readonly provider: S["provider"];
  /**
   * The plain variable a TETHER_VAULT_SECRET_REF stands for (lib/vault/secret-reference.ts reads the
   * referenced secret into it); absent: the vault has no secret to read by reference.
   */
  readonly secretVariable?: string;
  /** A variable set to the name of {@link secretVariable} when the secret comes by reference; optional. */
  readonly secretPointer?: string;
  /** Other variables that give the same secret: set with a reference, they are refused ("not both"). */
  readonly secretAlternatives?: readonly string[];
  /** Variables that hold a secret in plain text, which a bundle built for AWS refuses. */
  readonly plainSecrets: readonly string[];
  /** Variables that send this vault's clients somewhere else, which a bundle built for AWS refuses. */
  readonly endpointOverrides: readonly string[];
  /**
   * Reads and checks the settings without reading secrets or making calls; every problem goes to the
   * reader, which fails the cold start with all of them.
   */
  settings(read: SettingsReader): S;
  /** Checks made when the vault is built (at cold start) rather than with the configuration; optional. */
  prepare?(env: SettingsEnv): void;
}

/**
 * Loads an adapter's modules (a dynamic import, so a function does not pay for them until the vault is used)
 * and builds it from its settings: one per adapter in lib/vault/from-config.ts, kept apart from the settings
 * so that a function that reads the configuration but never the vault (the probe) holds no adapter code.
 */
export type VaultLoader<S> = (settings: S, env: SettingsEnv, options: VaultOptions) => Promise<Vault>;

/** What the functions hand every vault besides its settings. */
export interface VaultOptions {
  /** The functions' "now" (the local stack's emulator clock); absent: the system clock. */
  readonly clock?: (() => Date) | undefined;
}
