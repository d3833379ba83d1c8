/**
 * The customer's HSM through PKCS#11 (tested against SoftHSM2). See settings.ts for the environment and
 * pkcs11-vault.ts for how material is found, wrapped, generated and fingerprinted inside the HSM.
 */
import type { Vault } from "../port.js";
import { Pkcs11Vault } from "./pkcs11-vault.js";
import { pkcs11SettingsFromEnv } from "./settings.js";

export { CKM_RSA_AES_KEY_WRAP, intersectWrappings, type TokenCapabilities } from "./mechanisms.js";
export { Pkcs11Vault, SPKI_SHA256_SCHEME } from "./pkcs11-vault.js";
export {
  DEFAULT_SESSION_POOL,
  PKCS11_ENV,
  type Pkcs11Settings,
  pkcs11SettingsFromEnv,
  type TokenSelector,
} from "./settings.js";

/**
 * The PKCS#11 vault configured from the environment (see {@link PKCS11_ENV}). Reads the PIN now; loads
 * the library and logs in on first use (call `open()` to do it at cold start).
 * @throws VaultLockedError when no PIN is configured or it cannot be read, naming the variable
 * @throws VaultError naming the missing or wrong setting
 */
export function pkcs11VaultFromEnv(env: Readonly<Record<string, string | undefined>>): Vault & Pkcs11Vault {
  return new Pkcs11Vault(pkcs11SettingsFromEnv(env));
}
