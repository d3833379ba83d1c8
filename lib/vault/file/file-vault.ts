import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  type ScryptOptions,
  scrypt,
  timingSafeEqual,
} from "node:crypto";
import { constants, type FileHandle, link, lstat, mkdir, open, stat, unlink } from "node:fs/promises";
import path from "node:path";
import type { KeySpec } from "../../domain/kms-constants.js";
import { InvalidMaterialError, InvalidMaterialRefError, VaultError, VaultLockedError } from "../errors.js";
import { isKeySpec } from "../material.js";
import { type MaterialRecord, type StoredMaterial, StoredMaterialVault } from "../stored-material-vault.js";
import { fileVaultEnv } from "./settings.js";

/**
 * A vault in a local directory: one file per material reference, each encrypted at rest with AES-256-GCM
 * under a key derived from a passphrase with scrypt. For operators, local runs and tests; deployed
 * functions use an HSM or a secrets service instead.
 *
 * Layout: `<dir>/.tether-file-vault.json` holds the scrypt salt and parameters and a passphrase verifier;
 * reference `a/b/c` lives in `<dir>/a/b/c.material.json`. Directories are 0700, files 0600. A file holds
 * the key spec and check value in clear beside the ciphertext; both, and the reference itself, are the
 * GCM additional data, so a file edited or moved to another reference fails to decrypt.
 */

export { FILE_VAULT_DIR_ENV, FILE_VAULT_PASSPHRASE_ENV } from "./settings.js";

/** scrypt cost parameters. */
export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** OWASP's first choice for scrypt (128 MiB, one lane): slow on purpose, derived once per vault instance. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };
/** Floor for vaults created or opened (tests may go down to it for speed); ceiling to bound memory. */
const MIN_SCRYPT_N = 2 ** 14;
const MAX_SCRYPT_N = 2 ** 20;

export interface FileVaultOptions {
  /** The vault directory; created (0700) on first write if absent. */
  readonly directory: string;
  /** The passphrase; must not be empty. */
  readonly passphrase: string;
  /** scrypt parameters used only when this instance creates a new vault; defaults to DEFAULT_SCRYPT_PARAMS. */
  readonly scrypt?: ScryptParams;
}

const META_FILE = ".tether-file-vault.json";
const META_FORMAT = "tether-file-vault/v1";
const MATERIAL_SUFFIX = ".material.json";
const MATERIAL_FORMAT = "tether-file-vault-material/v1";
const VERIFIER_LABEL = "tether file vault passphrase verifier v1";
const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
const SALT_BYTES = 32;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const VERIFIER = /^[0-9a-f]{64}$/;

/** The vault's metadata file, `.tether-file-vault.json`. */
interface MetaFile {
  readonly format: typeof META_FORMAT;
  readonly kdf: {
    readonly name: "scrypt";
    readonly N: number;
    readonly r: number;
    readonly p: number;
    readonly salt: string;
  };
  readonly verifier: string;
}

/** A material file, `<reference>.material.json`. */
interface MaterialFile {
  readonly format: typeof MATERIAL_FORMAT;
  readonly materialRef: string;
  readonly keySpec: string;
  readonly checkValue: string;
  readonly iv: string;
  readonly tag: string;
  readonly ciphertext: string;
}

/*
 * The two shapes are checked by hand rather than with a schema library: they do not justify loading and
 * parsing one at every cold start of a function that bundles this adapter. Unknown members are ignored.
 * A problem names the member at fault, never its value (a material file holds ciphertext).
 */

/** What is wrong with a parsed metadata file, or undefined when it is a MetaFile. */
function metaProblem(value: unknown): string | undefined {
  if (!isObject(value)) return "it is not a JSON object";
  if (value.format !== META_FORMAT) return `format is not "${META_FORMAT}"`;
  const kdf = value.kdf;
  if (!isObject(kdf)) return "kdf is not a JSON object";
  if (kdf.name !== "scrypt") return 'kdf.name is not "scrypt"';
  for (const name of ["N", "r", "p"]) {
    if (!Number.isSafeInteger(kdf[name])) return `kdf.${name} is not an integer`;
  }
  if (!matches(kdf.salt, BASE64)) return "kdf.salt is not base64";
  if (!matches(value.verifier, VERIFIER)) return "verifier is not 64 hexadecimal digits";
  return undefined;
}

/** What is wrong with a parsed material file, or undefined when it is a MaterialFile. */
function materialFileProblem(value: unknown): string | undefined {
  if (!isObject(value)) return "it is not a JSON object";
  if (value.format !== MATERIAL_FORMAT) return `format is not "${MATERIAL_FORMAT}"`;
  for (const name of ["materialRef", "keySpec", "checkValue"]) {
    if (typeof value[name] !== "string") return `${name} is not a string`;
  }
  for (const name of ["iv", "tag", "ciphertext"]) {
    if (!matches(value[name], BASE64)) return `${name} is not base64`;
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function matches(value: unknown, pattern: RegExp): boolean {
  return typeof value === "string" && pattern.test(value);
}

/** JSON.parse without its message, which quotes the text it choked on. @returns undefined when not JSON */
function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

interface VaultKeys {
  readonly encryptionKey: Buffer;
}

/** The file vault. See the module comment for the layout and the guarantees. */
export class FileVault extends StoredMaterialVault {
  readonly kind = "file";
  readonly directory: string;
  readonly #scrypt: ScryptParams;
  #passphrase: Buffer;
  #unlocking: Promise<VaultKeys> | undefined;

  /** @throws VaultLockedError when the passphrase is empty; VaultError for bad scrypt parameters */
  constructor(options: FileVaultOptions) {
    super();
    if (typeof options.directory !== "string" || options.directory.length === 0) {
      throw new VaultError("The file vault needs a directory.");
    }
    if (typeof options.passphrase !== "string" || options.passphrase.length === 0) {
      throw new VaultLockedError("The file vault's passphrase is empty; it cannot be unlocked without one.");
    }
    this.#scrypt = options.scrypt ?? DEFAULT_SCRYPT_PARAMS;
    assertScryptParams(this.#scrypt, "the options");
    this.directory = path.resolve(options.directory);
    this.#passphrase = Buffer.from(options.passphrase, "utf8");
  }

  /**
   * Stores existing material (checked against the key spec) and returns its check value. The caller's
   * buffer is read, not kept, and not zeroed.
   * @throws InvalidMaterialRefError, InvalidMaterialError, MaterialAlreadyExistsError, VaultError
   */
  async put(materialRef: string, material: Uint8Array, keySpec: KeySpec): Promise<{ checkValue: string }> {
    return this.putMaterial(materialRef, material, keySpec);
  }

  /**
   * Derives the key and checks the passphrase now rather than at the first read or write, creating the
   * vault (directory, salt) if it does not exist. Idempotent; the key is derived once per instance.
   * @throws VaultError when the passphrase is wrong or the vault metadata is unreadable
   */
  async unlock(): Promise<void> {
    await this.#keys();
  }

  protected override checkRef(materialRef: string, segments: readonly string[]): void {
    // A directory "x.material.json" would collide with the file of reference "x".
    if (segments.some((segment) => segment.endsWith(MATERIAL_SUFFIX))) {
      throw new InvalidMaterialRefError(
        materialRef,
        `the file vault reserves names ending in "${MATERIAL_SUFFIX}"`,
      );
    }
  }

  protected async containsMaterial(_materialRef: string, segments: readonly string[]): Promise<boolean> {
    const dir = await this.#directoryOf(segments, false);
    if (dir === undefined) return false;
    try {
      return (await lstat(this.#fileOf(dir, segments))).isFile();
    } catch (error) {
      if (isErrno(error, "ENOENT")) return false;
      throw new VaultError("The file vault could not be read.", { cause: error });
    }
  }

  protected async loadMaterial(
    materialRef: string,
    segments: readonly string[],
  ): Promise<StoredMaterial | undefined> {
    const dir = await this.#directoryOf(segments, false);
    if (dir === undefined) return undefined;
    const text = await readFileNoFollow(this.#fileOf(dir, segments));
    if (text === undefined) return undefined;

    const json = parseJson(text);
    const problem = json === undefined ? "it is not JSON" : materialFileProblem(json.value);
    if (problem !== undefined) {
      throw new InvalidMaterialError(
        `The vault file of "${materialRef}" is not a valid material file: ${problem}.`,
        { materialRef },
      );
    }
    const parsed = (json as { value: MaterialFile }).value;
    const { keySpec, checkValue } = parsed;
    if (!isKeySpec(keySpec)) {
      throw new InvalidMaterialError(`The vault file of "${materialRef}" records an unknown key spec.`, {
        materialRef,
      });
    }
    const { encryptionKey } = await this.#keys();
    const iv = Buffer.from(parsed.iv, "base64");
    const tag = Buffer.from(parsed.tag, "base64");
    if (iv.length !== GCM_IV_BYTES || tag.length !== GCM_TAG_BYTES) {
      throw new InvalidMaterialError(`The vault file of "${materialRef}" is damaged.`, {
        materialRef,
        keySpec,
      });
    }
    const decipher = createDecipheriv("aes-256-gcm", encryptionKey, iv, { authTagLength: GCM_TAG_BYTES });
    decipher.setAAD(additionalData(materialRef, keySpec, checkValue));
    decipher.setAuthTag(tag);
    const material = decipher.update(Buffer.from(parsed.ciphertext, "base64"));
    try {
      // GCM's final() returns no bytes; it only verifies the tag.
      decipher.final();
    } catch {
      material.fill(0);
      // The passphrase was already verified, so this is the file: edited, or moved from another reference.
      throw new InvalidMaterialError(
        `The vault file of "${materialRef}" failed authentication: it was altered, or it belongs to another reference.`,
        { materialRef, keySpec },
      );
    }
    return { material, keySpec, checkValue };
  }

  protected async storeMaterial(
    materialRef: string,
    segments: readonly string[],
    material: Uint8Array,
    record: MaterialRecord,
  ): Promise<boolean> {
    const { encryptionKey } = await this.#keys();
    const iv = randomBytes(GCM_IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", encryptionKey, iv, { authTagLength: GCM_TAG_BYTES });
    cipher.setAAD(additionalData(materialRef, record.keySpec, record.checkValue));
    const ciphertext = Buffer.concat([cipher.update(material), cipher.final()]);
    const file = {
      format: MATERIAL_FORMAT,
      materialRef,
      keySpec: record.keySpec,
      checkValue: record.checkValue,
      iv: iv.toString("base64"),
      tag: cipher.getAuthTag().toString("base64"),
      ciphertext: ciphertext.toString("base64"),
    } satisfies MaterialFile;
    const dir = (await this.#directoryOf(segments, true)) as string;
    return writeFileExclusive(dir, this.#fileOf(dir, segments), `${JSON.stringify(file, null, 2)}\n`);
  }

  #keys(): Promise<VaultKeys> {
    this.#unlocking ??= this.#unlock().catch((error: unknown) => {
      this.#unlocking = undefined;
      throw error;
    });
    return this.#unlocking;
  }

  async #unlock(): Promise<VaultKeys> {
    await this.#ensureRoot();
    const metaPath = path.join(this.directory, META_FILE);
    let meta = await this.#readMeta(metaPath);
    if (meta === undefined) {
      const salt = randomBytes(SALT_BYTES);
      const keys = await this.#derive(salt, this.#scrypt);
      const created = {
        format: META_FORMAT,
        kdf: { name: "scrypt", ...this.#scrypt, salt: salt.toString("base64") },
        verifier: keys.verifier,
      } satisfies MetaFile;
      if (await writeFileExclusive(this.directory, metaPath, `${JSON.stringify(created, null, 2)}\n`)) {
        return this.#unlocked(keys);
      }
      keys.encryptionKey.fill(0);
      // Another instance created the vault first; use its salt.
      meta = await this.#readMeta(metaPath);
      if (meta === undefined)
        throw new VaultError(`The file vault at ${this.directory} lost its metadata file.`);
    }
    const { N, r, p, salt } = meta.kdf;
    assertScryptParams({ N, r, p }, `${META_FILE}`);
    const keys = await this.#derive(Buffer.from(salt, "base64"), { N, r, p });
    if (!timingSafeEqual(Buffer.from(keys.verifier, "hex"), Buffer.from(meta.verifier, "hex"))) {
      keys.encryptionKey.fill(0);
      throw new VaultError(
        `The passphrase does not unlock the file vault at ${this.directory} (wrong passphrase, or ${META_FILE} was altered).`,
      );
    }
    return this.#unlocked(keys);
  }

  #unlocked(keys: { encryptionKey: Buffer }): VaultKeys {
    // The key is derived once per instance; the passphrase copy is no longer needed.
    this.#passphrase.fill(0);
    return { encryptionKey: keys.encryptionKey };
  }

  async #derive(salt: Buffer, params: ScryptParams): Promise<{ encryptionKey: Buffer; verifier: string }> {
    const derived = await scryptAsync(this.#passphrase, salt, 64, {
      ...params,
      maxmem: 128 * params.N * params.r + 32 * 1024 * 1024,
    });
    try {
      const encryptionKey = Buffer.from(derived.subarray(0, 32));
      const verifier = createHmac("sha256", derived.subarray(32, 64)).update(VERIFIER_LABEL).digest("hex");
      return { encryptionKey, verifier };
    } finally {
      derived.fill(0);
    }
  }

  async #readMeta(metaPath: string): Promise<MetaFile | undefined> {
    const text = await readFileNoFollow(metaPath);
    if (text === undefined) return undefined;
    const json = parseJson(text);
    const problem = json === undefined ? "it is not JSON" : metaProblem(json.value);
    if (problem !== undefined) {
      throw new VaultError(`The file vault metadata ${metaPath} is not valid: ${problem}.`);
    }
    return (json as { value: MetaFile }).value;
  }

  async #ensureRoot(): Promise<void> {
    try {
      if (!(await stat(this.directory)).isDirectory()) {
        throw new VaultError(`The file vault path ${this.directory} is not a directory.`);
      }
    } catch (error) {
      if (!isErrno(error, "ENOENT"))
        throw asVaultError(error, `The file vault at ${this.directory} cannot be read.`);
      await mkdir(this.directory, { recursive: true, mode: 0o700 });
      await chmodPath(this.directory, 0o700);
    }
  }

  /**
   * The directory holding a reference's file. Every level below the root must be a real directory (not a
   * symbolic link), so a reference can never lead outside the vault.
   * @returns undefined when a level is missing and create is false
   */
  async #directoryOf(segments: readonly string[], create: boolean): Promise<string | undefined> {
    // Unlocking creates the vault root (0700) before any level below it.
    if (create) await this.#keys();
    let dir = this.directory;
    for (const segment of segments.slice(0, -1)) {
      dir = path.join(dir, segment);
      try {
        const stats = await lstat(dir);
        if (!stats.isDirectory()) {
          throw new VaultError(`The file vault path ${dir} is not a directory; refusing to follow it.`);
        }
      } catch (error) {
        if (!isErrno(error, "ENOENT"))
          throw asVaultError(error, `The file vault at ${this.directory} cannot be read.`);
        if (!create) return undefined;
        try {
          await mkdir(dir, { mode: 0o700 });
          await chmodPath(dir, 0o700);
        } catch (mkdirError) {
          if (!isErrno(mkdirError, "EEXIST")) throw asVaultError(mkdirError, `Cannot create ${dir}.`);
        }
      }
    }
    const relative = path.relative(this.directory, dir);
    if (relative.startsWith("..") || path.isAbsolute(relative)) {
      throw new VaultError("A material reference resolved outside the file vault.");
    }
    return dir;
  }

  #fileOf(dir: string, segments: readonly string[]): string {
    return path.join(dir, `${segments[segments.length - 1]}${MATERIAL_SUFFIX}`);
  }
}

/**
 * Builds the file vault from TETHER_FILE_VAULT_DIR and TETHER_FILE_VAULT_PASSPHRASE.
 * @throws VaultError when the directory is not set; VaultLockedError when the passphrase is missing or empty
 */
export function fileVaultFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: { scrypt?: ScryptParams } = {},
): FileVault {
  const { directory, passphrase } = fileVaultEnv(env);
  return new FileVault({ directory, passphrase, ...options });
}

function additionalData(materialRef: string, keySpec: string, checkValue: string): Buffer {
  return Buffer.from(JSON.stringify([MATERIAL_FORMAT, materialRef, keySpec, checkValue]), "utf8");
}

function assertScryptParams({ N, r, p }: ScryptParams, source: string): void {
  const powerOfTwo = Number.isInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N < MIN_SCRYPT_N || N > MAX_SCRYPT_N || !Number.isInteger(r) || r < 8 || r > 32) {
    throw new VaultError(
      `scrypt parameters in ${source} are out of bounds: N must be a power of two from 2^14 to 2^20 and r from 8 to 32.`,
    );
  }
  if (!Number.isInteger(p) || p < 1 || p > 16) {
    throw new VaultError(`scrypt parameter p in ${source} must be an integer from 1 to 16.`);
  }
}

function scryptAsync(
  password: Buffer,
  salt: Buffer,
  keylen: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Reads a file without following a symbolic link at its last component. @returns undefined if absent */
async function readFileNoFollow(file: string): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if (isErrno(error, "ENOENT")) return undefined;
    throw asVaultError(error, `The file vault could not open ${file}.`);
  }
  try {
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}

/**
 * Writes a new file atomically and never over an existing one: the content goes to a temporary file in
 * the same directory (0600, fsynced), which is then hard-linked to its final name. link(2), unlike
 * rename(2), fails when the name exists, so two writers racing for one reference cannot both win and a
 * reader never sees a partial file. The directory is fsynced so the new name survives a crash.
 * @returns false when the file already exists
 */
async function writeFileExclusive(dir: string, file: string, content: string): Promise<boolean> {
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(8).toString("hex")}.tmp`);
  try {
    const handle = await open(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      await handle.chmod(0o600);
      await handle.writeFile(content, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temp, file);
    } catch (error) {
      if (isErrno(error, "EEXIST")) return false;
      throw error;
    }
    await syncDirectory(dir);
    return true;
  } catch (error) {
    throw asVaultError(error, `The file vault could not write ${file}.`);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function chmodPath(target: string, mode: number): Promise<void> {
  const handle = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as NodeJS.ErrnoException).code === code;
}

function asVaultError(error: unknown, message: string): VaultError {
  return error instanceof VaultError ? error : new VaultError(message, { cause: error });
}
