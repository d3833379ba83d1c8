import { existsSync, readFileSync } from "node:fs";
import type { VaultAdapter } from "../adapter.js";
import { VaultError, VaultLockedError } from "../errors.js";

/**
 * The PKCS#11 vault's settings, read once at cold start from the environment.
 *
 * - TETHER_PKCS11_LIBRARY: path of the vendor's PKCS#11 module (.so).
 * - TETHER_PKCS11_TOKEN_LABEL, or TETHER_PKCS11_SLOT (a slot ID, decimal): which token; exactly one.
 * - TETHER_PKCS11_PIN_FILE (a file holding the user PIN) or TETHER_PKCS11_PIN_SECRET_ENV (the NAME of
 *   another environment variable that holds the PIN, e.g. one filled from a secret store at start-up).
 *   The PIN itself is never a plain configuration value, so it is not in serverless.yml, CloudFormation
 *   outputs or the config dump of a cold start.
 * - TETHER_PKCS11_SESSION_POOL: how many sessions to keep open (default 2, 1..32).
 * - TETHER_PKCS11_LABEL_PREFIX (required): the label prefix this deployment owns, e.g. `tether-prod/`. A
 *   material reference must start with it (a `cka-id/` reference must name an object whose label does), so
 *   Tether never registers, wraps or exports another key of a shared token.
 */
export const PKCS11_ENV = {
  LIBRARY: "TETHER_PKCS11_LIBRARY",
  TOKEN_LABEL: "TETHER_PKCS11_TOKEN_LABEL",
  SLOT: "TETHER_PKCS11_SLOT",
  PIN_FILE: "TETHER_PKCS11_PIN_FILE",
  PIN_SECRET_ENV: "TETHER_PKCS11_PIN_SECRET_ENV",
  SESSION_POOL: "TETHER_PKCS11_SESSION_POOL",
  LABEL_PREFIX: "TETHER_PKCS11_LABEL_PREFIX",
} as const;

export const DEFAULT_SESSION_POOL = 2;
const MAX_SESSION_POOL = 32;

/** Which token to use: by its label (trailing blanks ignored) or by slot ID. */
export type TokenSelector = { readonly label: string } | { readonly slotId: bigint };

export interface Pkcs11Settings {
  readonly library: string;
  readonly token: TokenSelector;
  readonly pin: string;
  readonly sessionPoolSize: number;
  /** Every material reference (every object label) Tether touches starts with this. */
  readonly labelPrefix: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function present(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === "" ? undefined : value;
}

/**
 * Reads and checks the PKCS#11 settings.
 * @throws VaultLockedError when no PIN source is configured or the PIN cannot be read (names the variable)
 * @throws VaultError naming the missing or wrong setting
 */
export function pkcs11SettingsFromEnv(env: Env): Pkcs11Settings {
  const library = present(env, PKCS11_ENV.LIBRARY);
  if (library === undefined) {
    throw new VaultError(`${PKCS11_ENV.LIBRARY} is not set: give the path of the HSM's PKCS#11 library.`);
  }
  if (!existsSync(library)) {
    throw new VaultError(`${PKCS11_ENV.LIBRARY} names a file that does not exist: ${library}.`);
  }
  return {
    library,
    token: tokenSelector(env),
    pin: readPin(env),
    sessionPoolSize: sessionPoolSize(env),
    labelPrefix: labelPrefix(env),
  };
}

/** Letters, digits, `.`, `_`, `-` and `/`, starting with a letter or digit: a material reference's characters. */
const LABEL_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;

function labelPrefix(env: Env): string {
  const prefix = present(env, PKCS11_ENV.LABEL_PREFIX);
  if (prefix === undefined) {
    throw new VaultError(
      `${PKCS11_ENV.LABEL_PREFIX} is not set: give the label prefix this deployment owns on the token (e.g. "tether-prod/"); material outside it is refused.`,
    );
  }
  if (!LABEL_PREFIX.test(prefix) || prefix.includes("..")) {
    throw new VaultError(
      `${PKCS11_ENV.LABEL_PREFIX} must start with a letter or digit and hold only letters, digits, ".", "_", "-" and "/" (at most 128); got ${JSON.stringify(prefix)}.`,
    );
  }
  return prefix;
}

function tokenSelector(env: Env): TokenSelector {
  const label = present(env, PKCS11_ENV.TOKEN_LABEL);
  const slot = present(env, PKCS11_ENV.SLOT);
  if (label !== undefined && slot !== undefined) {
    throw new VaultError(`Set ${PKCS11_ENV.TOKEN_LABEL} or ${PKCS11_ENV.SLOT}, not both.`);
  }
  if (label !== undefined) return { label: label.trimEnd() };
  if (slot === undefined) {
    throw new VaultError(
      `${PKCS11_ENV.TOKEN_LABEL} (or ${PKCS11_ENV.SLOT}) is not set: say which token to use.`,
    );
  }
  if (!/^\d{1,20}$/.test(slot.trim())) {
    throw new VaultError(`${PKCS11_ENV.SLOT} must be a decimal slot ID; got ${JSON.stringify(slot)}.`);
  }
  return { slotId: BigInt(slot.trim()) };
}

function readPin(env: Env): string {
  const pinFile = present(env, PKCS11_ENV.PIN_FILE);
  const pinEnv = present(env, PKCS11_ENV.PIN_SECRET_ENV);
  if (pinFile !== undefined && pinEnv !== undefined) {
    throw new VaultError(`Set ${PKCS11_ENV.PIN_FILE} or ${PKCS11_ENV.PIN_SECRET_ENV}, not both.`);
  }
  if (pinFile !== undefined) {
    let pin: string;
    try {
      pin = readFileSync(pinFile, "utf8").replace(/\r?\n$/, "");
    } catch (error) {
      throw new VaultLockedError(
        `The PIN file named by ${PKCS11_ENV.PIN_FILE} cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}).`,
      );
    }
    if (pin === "") throw new VaultLockedError(`The PIN file named by ${PKCS11_ENV.PIN_FILE} is empty.`);
    return pin;
  }
  if (pinEnv !== undefined) {
    const name = pinEnv.trim();
    const pin = env[name];
    if (pin === undefined || pin === "") {
      throw new VaultLockedError(
        `${name} (named by ${PKCS11_ENV.PIN_SECRET_ENV}) is not set: it must hold the token's user PIN.`,
      );
    }
    return pin;
  }
  throw new VaultLockedError(
    `The HSM is locked: set ${PKCS11_ENV.PIN_FILE} (a file holding the user PIN) or ${PKCS11_ENV.PIN_SECRET_ENV} (the name of an environment variable holding it).`,
  );
}

function sessionPoolSize(env: Env): number {
  const raw = present(env, PKCS11_ENV.SESSION_POOL);
  if (raw === undefined) return DEFAULT_SESSION_POOL;
  const size = Number(raw);
  if (!Number.isInteger(size) || size < 1 || size > MAX_SESSION_POOL) {
    throw new VaultError(
      `${PKCS11_ENV.SESSION_POOL} must be a whole number from 1 to ${MAX_SESSION_POOL}; got ${JSON.stringify(raw)}.`,
    );
  }
  return size;
}

/** The PKCS#11 adapter reads and checks its own settings when it is built (pkcs11SettingsFromEnv). */
export interface Pkcs11VaultSettings {
  readonly provider: "pkcs11";
}

export const pkcs11VaultAdapter: VaultAdapter<Pkcs11VaultSettings> = {
  provider: "pkcs11",
  // The PKCS#11 vault reads its PIN from the variable TETHER_PKCS11_PIN_SECRET_ENV names; the reference
  // resolves into this one and names it there.
  secretVariable: "TETHER_PKCS11_PIN",
  secretPointer: PKCS11_ENV.PIN_SECRET_ENV,
  secretAlternatives: [PKCS11_ENV.PIN_SECRET_ENV, PKCS11_ENV.PIN_FILE],
  plainSecrets: ["TETHER_PKCS11_PIN", PKCS11_ENV.PIN_SECRET_ENV],
  endpointOverrides: [],
  settings: () => ({ provider: "pkcs11" }),
};
