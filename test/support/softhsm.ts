/**
 * A throwaway SoftHSM2 for tests: a conf file whose token directory is a fresh temporary folder, tokens
 * initialised with softhsm2-util, and the environment that points the PKCS#11 vault at them. SoftHSM reads
 * SOFTHSM2_CONF at C_Initialize, once per process, so every token a test file needs is made up front.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export const SOFTHSM_LIBRARY = process.env.SOFTHSM_LIBRARY ?? "/usr/lib/softhsm/libsofthsm2.so";
export const USER_PIN = "1234";
export const SO_PIN = "5678";
/** The label prefix the tests' deployment owns on the token (TETHER_PKCS11_LABEL_PREFIX). */
export const SOFTHSM_LABEL_PREFIX = "tether-test/";

/** Why SoftHSM tests cannot run here, or undefined when they can. */
export function softHsmMissingReason(): string | undefined {
  if (!existsSync(SOFTHSM_LIBRARY))
    return `the SoftHSM2 library ${SOFTHSM_LIBRARY} is missing (apt-get install softhsm2)`;
  try {
    execFileSync("softhsm2-util", ["--version"], { stdio: "pipe" });
  } catch {
    return "softhsm2-util is not on PATH (apt-get install softhsm2)";
  }
  return undefined;
}

export interface SoftHsm {
  readonly directory: string;
  /** Slot ID of each token, by label. */
  readonly slots: ReadonlyMap<string, bigint>;
  /** A PIN file holding the user PIN (for TETHER_PKCS11_PIN_FILE). */
  readonly pinFile: string;
  /** Environment for pkcs11VaultFromEnv using this token and the PIN file. */
  env(label: string, extra?: Record<string, string>): Record<string, string>;
  cleanup(): void;
}

/**
 * Creates a SoftHSM with these token labels (user PIN {@link USER_PIN}) and sets SOFTHSM2_CONF for this
 * process. Call before anything in the process loads the library.
 */
export function createSoftHsm(labels: readonly string[]): SoftHsm {
  const directory = mkdtempSync(path.join(tmpdir(), "tether-softhsm-"));
  const tokenDir = path.join(directory, "tokens");
  mkdirSync(tokenDir);
  const conf = path.join(directory, "softhsm2.conf");
  writeFileSync(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  const slots = new Map<string, bigint>();
  for (const label of labels) {
    const output = execFileSync(
      "softhsm2-util",
      ["--init-token", "--free", "--label", label, "--pin", USER_PIN, "--so-pin", SO_PIN],
      { env: { ...process.env, SOFTHSM2_CONF: conf }, encoding: "utf8" },
    );
    const slot = /reassigned to slot (\d+)/.exec(output)?.[1];
    if (slot === undefined) throw new Error(`softhsm2-util did not report a slot: ${output}`);
    slots.set(label, BigInt(slot));
  }
  const pinFile = path.join(directory, "user.pin");
  writeFileSync(pinFile, `${USER_PIN}\n`, { mode: 0o600 });
  return {
    directory,
    slots,
    pinFile,
    env: (label, extra = {}) => ({
      TETHER_PKCS11_LIBRARY: SOFTHSM_LIBRARY,
      TETHER_PKCS11_TOKEN_LABEL: label,
      TETHER_PKCS11_PIN_FILE: pinFile,
      TETHER_PKCS11_LABEL_PREFIX: SOFTHSM_LABEL_PREFIX,
      ...extra,
    }),
    cleanup: () => rmSync(directory, { recursive: true, force: true }),
  };
}
