import pkcs11js from "pkcs11js";
import { VaultError } from "../errors.js";
import type { TokenSelector } from "./settings.js";

type Handle = Buffer;

/** The PKCS#11 return value of a failed call (CKR_*), or undefined for other errors. */
export function pkcs11Code(error: unknown): number | undefined {
  return error instanceof pkcs11js.Pkcs11Error ? error.code : undefined;
}

/**
 * A VaultError for a failed PKCS#11 call. The native message is only the CKR_ name (pkcs11js strips the
 * rest), so it carries no PIN or key bytes; it is still not chained, to keep native stacks out of logs.
 */
export function pkcs11Failure(action: string, error: unknown): VaultError {
  const code = pkcs11Code(error);
  const name = error instanceof pkcs11js.NativeError ? error.message : undefined;
  const detail = code !== undefined ? `${name ?? "CKR"} (0x${code.toString(16)})` : "a native error";
  return new VaultError(`PKCS#11: ${action} failed with ${detail}.`);
}

/**
 * One loaded PKCS#11 library per path in this process. A library is initialised once per process
 * (a second C_Initialize answers CKR_CRYPTOKI_ALREADY_INITIALIZED, and one C_Finalize ends every
 * user's sessions), so vaults share it and the last one to close finalizes it.
 */
const loaded = new Map<string, { module: pkcs11js.PKCS11; users: number }>();

function acquireModule(library: string): pkcs11js.PKCS11 {
  const entry = loaded.get(library);
  if (entry !== undefined) {
    entry.users += 1;
    return entry.module;
  }
  const module = new pkcs11js.PKCS11();
  try {
    module.load(library);
  } catch (error) {
    throw new VaultError(`PKCS#11: cannot load the library ${library}.`, { cause: error });
  }
  try {
    module.C_Initialize();
  } catch (error) {
    if (pkcs11Code(error) !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      throw pkcs11Failure("C_Initialize", error);
    }
  }
  loaded.set(library, { module, users: 1 });
  return module;
}

function releaseModule(library: string): void {
  const entry = loaded.get(library);
  if (entry === undefined) return;
  entry.users -= 1;
  if (entry.users > 0) return;
  loaded.delete(library);
  try {
    entry.module.C_Finalize();
  } finally {
    entry.module.close();
  }
}

function slotId(slot: Handle): bigint {
  return slot.length >= 8 ? slot.readBigUInt64LE(0) : BigInt(slot.readUInt32LE(0));
}

function findSlot(module: pkcs11js.PKCS11, token: TokenSelector): Handle {
  const slots = module.C_GetSlotList(true);
  if ("label" in token) {
    const matching = slots.filter((slot) => module.C_GetTokenInfo(slot).label.trimEnd() === token.label);
    if (matching.length === 1) return matching[0] as Handle;
    throw new VaultError(
      matching.length === 0
        ? `PKCS#11: no token labelled "${token.label}" is present.`
        : `PKCS#11: ${matching.length} tokens are labelled "${token.label}"; set TETHER_PKCS11_SLOT instead.`,
    );
  }
  const slot = slots.find((s) => slotId(s) === token.slotId);
  if (slot === undefined) throw new VaultError(`PKCS#11: no token is present in slot ${token.slotId}.`);
  return slot;
}

export interface SessionPoolOptions {
  readonly library: string;
  readonly token: TokenSelector;
  readonly pin: string;
  readonly size: number;
}

/**
 * A few read/write sessions on one token, logged in as the user. PKCS#11 login state belongs to the
 * application and token, not the session: the first C_Login logs every session in, and later ones answer
 * CKR_USER_ALREADY_LOGGED_IN, which is fine. A session is used by one caller at a time (object searches
 * and multi-part operations are per session); callers beyond the pool size wait their turn.
 */
export class SessionPool {
  readonly module: pkcs11js.PKCS11;
  readonly slot: Handle;
  readonly #options: SessionPoolOptions;
  readonly #idle: Handle[] = [];
  readonly #waiting: { resolve: (session: Handle) => void; reject: (error: unknown) => void }[] = [];
  #open = 0;
  #closed = false;

  /**
   * Loads the library and finds the token; sessions open on first use.
   * @throws VaultError when the library cannot be loaded or the token is not present
   */
  constructor(options: SessionPoolOptions) {
    this.#options = options;
    this.module = acquireModule(options.library);
    try {
      this.slot = findSlot(this.module, options.token);
    } catch (error) {
      releaseModule(options.library);
      throw error instanceof VaultError ? error : pkcs11Failure("finding the token", error);
    }
  }

  /**
   * Runs `work` with a logged-in session of its own.
   * @throws VaultError when no session can be opened or logged in (wrong PIN, locked PIN, token gone)
   */
  async use<T>(work: (session: Handle) => T | Promise<T>): Promise<T> {
    const session = await this.#acquire();
    let healthy = true;
    try {
      return await work(session);
    } catch (error) {
      const code = pkcs11Code(error);
      healthy =
        code !== pkcs11js.CKR_SESSION_HANDLE_INVALID &&
        code !== pkcs11js.CKR_SESSION_CLOSED &&
        code !== pkcs11js.CKR_DEVICE_REMOVED &&
        code !== pkcs11js.CKR_TOKEN_NOT_PRESENT;
      throw error;
    } finally {
      this.#release(session, healthy);
    }
  }

  async #acquire(): Promise<Handle> {
    if (this.#closed) throw new VaultError("PKCS#11: the vault is closed.");
    const idle = this.#idle.pop();
    if (idle !== undefined) return idle;
    if (this.#open < this.#options.size) {
      this.#open += 1;
      try {
        return this.#openSession();
      } catch (error) {
        this.#open -= 1;
        throw error;
      }
    }
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  #openSession(): Handle {
    let session: Handle;
    try {
      session = this.module.C_OpenSession(this.slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    } catch (error) {
      throw pkcs11Failure("C_OpenSession", error);
    }
    try {
      this.module.C_Login(session, pkcs11js.CKU_USER, this.#options.pin);
    } catch (error) {
      if (pkcs11Code(error) !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) {
        this.module.C_CloseSession(session);
        throw pkcs11Failure("C_Login as the user", error);
      }
    }
    return session;
  }

  #release(session: Handle, healthy: boolean): void {
    if (!healthy || this.#closed) {
      this.#open -= 1;
      try {
        this.module.C_CloseSession(session);
      } catch {
        // The session is already gone; nothing is left to release.
      }
      const next = this.#waiting.shift();
      if (next !== undefined) this.#acquire().then(next.resolve, next.reject);
      return;
    }
    const next = this.#waiting.shift();
    if (next !== undefined) next.resolve(session);
    else this.#idle.push(session);
  }

  /** Closes the idle sessions and, if this was the library's last user, C_Finalize. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0))
      waiter.reject(new VaultError("PKCS#11: the vault is closed."));
    for (const session of this.#idle.splice(0)) {
      try {
        this.module.C_CloseSession(session);
      } catch {
        // Already closed by the token; C_Finalize below releases the rest.
      }
    }
    releaseModule(this.#options.library);
  }
}
