import type { Vault } from "../lifecycle/ports.js";
import {
  InvalidMaterialError,
  InvalidMaterialRefError,
  MaterialAlreadyExistsError,
  MaterialNotFoundError,
  UnsupportedWrappingError,
  VaultError,
  VaultLockedError,
} from "./errors.js";

/**
 * The Vault port itself and MaterialDescription live with the other ports in lib/lifecycle/ports.ts (the use
 * cases own them; adapters implement them). Re-exported here for the adapters and tests that import them
 * with the errors below.
 */
export type { MaterialDescription, Vault } from "../lifecycle/ports.js";

/** An error class a vault method documents. */
export type VaultErrorClass = abstract new (...args: never[]) => VaultError;

/**
 * The errors each method of {@link Vault} documents, as classes: the admin API's error boundary maps every
 * one of them to a 4xx, and a test walks this list so an error added here without a mapping fails it.
 */
export const DOCUMENTED_VAULT_ERRORS = {
  wrap: [
    MaterialNotFoundError,
    InvalidMaterialRefError,
    UnsupportedWrappingError,
    InvalidMaterialError,
    VaultLockedError,
    VaultError,
  ],
  checkValue: [
    MaterialNotFoundError,
    InvalidMaterialRefError,
    InvalidMaterialError,
    VaultLockedError,
    VaultError,
  ],
  generate: [
    MaterialAlreadyExistsError,
    InvalidMaterialRefError,
    InvalidMaterialError,
    UnsupportedWrappingError,
    VaultLockedError,
    VaultError,
  ],
  has: [InvalidMaterialRefError, VaultLockedError, VaultError],
  describe: [
    MaterialNotFoundError,
    InvalidMaterialRefError,
    InvalidMaterialError,
    VaultLockedError,
    VaultError,
  ],
} as const satisfies Record<
  "wrap" | "checkValue" | "generate" | "has" | "describe",
  readonly VaultErrorClass[]
>;
