import { generateKeyPairSync, randomBytes } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { KeySpec, WrappingAlgorithm } from "../../../lib/domain/kms-constants.js";
import { computeCheckValue } from "../../../lib/vault/check-value.js";
import {
  InvalidMaterialError,
  InvalidMaterialRefError,
  MaterialAlreadyExistsError,
  MaterialNotFoundError,
  UnsupportedWrappingError,
  VaultError,
  VaultLockedError,
} from "../../../lib/vault/errors.js";
import { FileVault, fileVaultFromEnv, type ScryptParams } from "../../../lib/vault/file/file-vault.js";
import { fileVaultAdapter } from "../../../lib/vault/file/settings.js";
import { validateMaterial } from "../../../lib/vault/material.js";
import { type RsaPair, rsaPair, unwrapWithNode } from "./support.js";

// The smallest cost the vault accepts, to keep the suite quick; production uses DEFAULT_SCRYPT_PARAMS.
const FAST_SCRYPT: ScryptParams = { N: 2 ** 14, r: 8, p: 1 };
const PASSPHRASE = "correct horse battery staple";

let root: string;
let pair: RsaPair;
let directory: string;
let vault: FileVault;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), "tether-file-vault-"));
  pair = rsaPair(2048);
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  directory = mkdtempSync(path.join(root, "v-"));
  vault = new FileVault({
    directory: path.join(directory, "vault"),
    passphrase: PASSPHRASE,
    scrypt: FAST_SCRYPT,
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

function unwrap(wrapped: Uint8Array, algorithm: WrappingAlgorithm): Buffer {
  return unwrapWithNode(wrapped, algorithm, pair);
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? [full, ...allFiles(full)] : [full];
  });
}

describe("FileVault", () => {
  describe("put / has / checkValue / wrap", () => {
    it("stores material and wraps the same bytes for KMS", async () => {
      // ECC material, which every wrapping algorithm may carry (RSA_AES_KEY_WRAP_* is for RSA and ECC only).
      const material = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey.export({
        type: "pkcs8",
        format: "der",
      });
      const { checkValue } = await vault.put("prod/payments/key-1", material, KeySpec.ECC_NIST_P384);

      expect(checkValue).toBe(computeCheckValue(KeySpec.ECC_NIST_P384, material));
      expect(await vault.has("prod/payments/key-1")).toBe(true);
      expect(await vault.has("prod/payments/key-2")).toBe(false);
      expect(await vault.checkValue("prod/payments/key-1")).toBe(checkValue);
      for (const algorithm of Object.values(WrappingAlgorithm)) {
        const wrapped = await vault.wrap("prod/payments/key-1", pair.publicKeyDer, algorithm);
        expect(unwrap(wrapped, algorithm).equals(material)).toBe(true);
      }
    });

    it("does not keep the caller's buffer", async () => {
      const material = randomBytes(32);
      const original = Buffer.from(material);
      await vault.put("k", material, KeySpec.SYMMETRIC_DEFAULT);
      material.fill(7);
      const wrapped = await vault.wrap("k", pair.publicKeyDer, WrappingAlgorithm.RSAES_OAEP_SHA_256);
      expect(unwrap(wrapped, WrappingAlgorithm.RSAES_OAEP_SHA_256).equals(original)).toBe(true);
    });

    it("validates material against the key spec before storing", async () => {
      await expect(vault.put("k", randomBytes(31), KeySpec.SYMMETRIC_DEFAULT)).rejects.toThrow(
        InvalidMaterialError,
      );
      await expect(vault.put("k", randomBytes(32), KeySpec.RSA_2048)).rejects.toThrow(InvalidMaterialError);
      expect(await vault.has("k")).toBe(false);
    });

    it("reports missing material as MaterialNotFoundError", async () => {
      await expect(vault.checkValue("nope")).rejects.toThrow(MaterialNotFoundError);
      await expect(
        vault.wrap("a/b/nope", pair.publicKeyDer, WrappingAlgorithm.RSAES_OAEP_SHA_1),
      ).rejects.toThrow(MaterialNotFoundError);
      expect(await vault.has("a/b/nope")).toBe(false);
    });

    it("refuses a wrapping algorithm that cannot carry the material", async () => {
      await vault.generate("rsa", KeySpec.RSA_2048);
      await expect(
        vault.wrap("rsa", pair.publicKeyDer, WrappingAlgorithm.RSAES_OAEP_SHA_256),
      ).rejects.toThrow(/RSA_AES_KEY_WRAP_SHA_256/);
      await expect(
        vault.wrap("rsa", randomBytes(270), WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_256),
      ).rejects.toThrow(UnsupportedWrappingError);
    });

    it("refuses RSA_AES_KEY_WRAP_* for symmetric material, as AWS documents", async () => {
      await vault.put("sym", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT);
      for (const algorithm of [
        WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_256,
        WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_1,
      ]) {
        const refused = vault.wrap("sym", pair.publicKeyDer, algorithm);
        await expect(refused).rejects.toThrow(UnsupportedWrappingError);
        await expect(vault.wrap("sym", pair.publicKeyDer, algorithm)).rejects.toThrow(
          /RSA and ECC key material only.*RSAES_OAEP_SHA_256/,
        );
      }
    });

    it("reports its kind", () => {
      expect(vault.kind).toBe("file");
    });
  });

  describe("generate", () => {
    it.each(Object.values(KeySpec))("makes, stores and wraps %s material", async (keySpec) => {
      const { checkValue } = await vault.generate(`gen/${keySpec}`, keySpec);
      expect(await vault.checkValue(`gen/${keySpec}`)).toBe(checkValue);
      // AWS allows RSA_AES_KEY_WRAP_* for RSA and ECC material only, RSAES_OAEP_* for all but RSA.
      const algorithm =
        keySpec === KeySpec.SYMMETRIC_DEFAULT || keySpec.startsWith("HMAC_")
          ? WrappingAlgorithm.RSAES_OAEP_SHA_256
          : WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_256;
      const wrapped = await vault.wrap(`gen/${keySpec}`, pair.publicKeyDer, algorithm);
      const material = unwrap(wrapped, algorithm);
      expect(() => validateMaterial(keySpec, material)).not.toThrow();
      expect(computeCheckValue(keySpec, material)).toBe(checkValue);
    });
  });

  describe("never overwrites", () => {
    it("refuses put and generate on an existing reference and keeps the original", async () => {
      const { checkValue } = await vault.put("k", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT);
      await expect(vault.put("k", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT)).rejects.toThrow(
        MaterialAlreadyExistsError,
      );
      await expect(vault.generate("k", KeySpec.SYMMETRIC_DEFAULT)).rejects.toThrow(
        MaterialAlreadyExistsError,
      );
      expect(await vault.checkValue("k")).toBe(checkValue);
    });

    it("lets exactly one of several racing writers win", async () => {
      const candidates = Array.from({ length: 6 }, () => randomBytes(32));
      const results = await Promise.allSettled(
        candidates.map((material) => vault.put("race", material, KeySpec.SYMMETRIC_DEFAULT)),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r) => r.status === "rejected");
      expect(won).toHaveLength(1);
      expect(
        lost.every((r) => (r as PromiseRejectedResult).reason instanceof MaterialAlreadyExistsError),
      ).toBe(true);
      const winner = (won[0] as PromiseFulfilledResult<{ checkValue: string }>).value.checkValue;
      expect(await vault.checkValue("race")).toBe(winner);
    });
  });

  describe("passphrase", () => {
    it("refuses a wrong passphrase with a clear VaultError", async () => {
      await vault.put("k", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT);
      const intruder = new FileVault({
        directory: vault.directory,
        passphrase: "intruder-guess-4711",
        scrypt: FAST_SCRYPT,
      });
      const failure = await intruder.checkValue("k").catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(VaultError);
      expect(failure).not.toBeInstanceOf(InvalidMaterialError);
      expect((failure as Error).message).toMatch(/passphrase does not unlock the file vault/);
      expect((failure as Error).message).not.toContain("intruder-guess-4711");
      await expect(intruder.unlock()).rejects.toThrow(/passphrase does not unlock/);
      await expect(intruder.put("other", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT)).rejects.toThrow(
        VaultError,
      );
      expect(await vault.has("other")).toBe(false);
    });

    it("opens with the right passphrase from another instance", async () => {
      const { checkValue } = await vault.put("k", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT);
      const again = new FileVault({
        directory: vault.directory,
        passphrase: PASSPHRASE,
        scrypt: FAST_SCRYPT,
      });
      expect(await again.checkValue("k")).toBe(checkValue);
    });

    it("derives the key once per instance (it keeps working after the salt file is gone)", async () => {
      await vault.put("k", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT);
      rmSync(path.join(vault.directory, ".tether-file-vault.json"));
      await expect(vault.checkValue("k")).resolves.toMatch(/^kcv-aes:/);
    });

    it("unlocks with the default (production) scrypt parameters", async () => {
      const production = new FileVault({
        directory: path.join(directory, "default"),
        passphrase: PASSPHRASE,
      });
      const { checkValue } = await production.put("k", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT);
      const meta = JSON.parse(
        readFileSync(path.join(directory, "default", ".tether-file-vault.json"), "utf8"),
      );
      expect(meta.kdf).toMatchObject({ name: "scrypt", N: 2 ** 17, r: 8, p: 1 });
      expect(Buffer.from(meta.kdf.salt, "base64")).toHaveLength(32);
      expect(await production.checkValue("k")).toBe(checkValue);
    });

    it("refuses an altered metadata file", async () => {
      await vault.unlock();
      const metaPath = path.join(vault.directory, ".tether-file-vault.json");
      const meta = JSON.parse(readFileSync(metaPath, "utf8"));
      meta.kdf.salt = randomBytes(32).toString("base64");
      writeFileSync(metaPath, JSON.stringify(meta));
      const reopened = new FileVault({
        directory: vault.directory,
        passphrase: PASSPHRASE,
        scrypt: FAST_SCRYPT,
      });
      await expect(reopened.unlock()).rejects.toThrow(/passphrase does not unlock/);
      meta.kdf.N = 2 ** 10;
      writeFileSync(metaPath, JSON.stringify(meta));
      await expect(reopened.unlock()).rejects.toThrow(/scrypt parameters/);
    });

    it("names the member at fault in malformed metadata, never its value", async () => {
      await vault.unlock();
      const metaPath = path.join(vault.directory, ".tether-file-vault.json");
      const meta = JSON.parse(readFileSync(metaPath, "utf8"));
      const reopen = () =>
        new FileVault({ directory: vault.directory, passphrase: PASSPHRASE, scrypt: FAST_SCRYPT }).unlock();
      const cases: Array<[unknown, RegExp]> = [
        [{ ...meta, format: "other" }, /format is not "tether-file-vault\/v1"/],
        [{ ...meta, kdf: "scrypt" }, /kdf is not a JSON object/],
        [{ ...meta, kdf: { ...meta.kdf, name: "argon2" } }, /kdf.name is not "scrypt"/],
        [{ ...meta, kdf: { ...meta.kdf, N: "16384" } }, /kdf.N is not an integer/],
        [{ ...meta, kdf: { ...meta.kdf, r: 8.5 } }, /kdf.r is not an integer/],
        [{ ...meta, kdf: { ...meta.kdf, p: null } }, /kdf.p is not an integer/],
        [{ ...meta, kdf: { ...meta.kdf, salt: "not base64!" } }, /kdf.salt is not base64/],
        [{ ...meta, verifier: meta.verifier.toUpperCase() }, /verifier is not 64 hexadecimal digits/],
      ];
      for (const [content, message] of cases) {
        writeFileSync(metaPath, JSON.stringify(content));
        const error = await reopen().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(VaultError);
        expect((error as Error).message).toMatch(/metadata .* is not valid/);
        expect((error as Error).message).toMatch(message);
        expect((error as Error).message).not.toContain(meta.verifier.slice(0, 16).toUpperCase());
        expect((error as Error).message).not.toContain(meta.kdf.salt.slice(0, 16));
      }
      writeFileSync(metaPath, `{"format": "tether-file-vault/v1", "verifier": "${meta.verifier}"`);
      const error = await reopen().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((error as Error).message).toMatch(/is not valid: it is not JSON\.$/);
      expect((error as Error).message).not.toContain(meta.verifier.slice(0, 16));
      writeFileSync(metaPath, JSON.stringify({ ...meta, note: "unknown members are ignored" }));
      await expect(reopen()).resolves.toBeUndefined();
    });

    it("refuses an empty passphrase and weak scrypt parameters at construction", () => {
      expect(() => new FileVault({ directory, passphrase: "" })).toThrow(VaultLockedError);
      expect(() => new FileVault({ directory, passphrase: "x", scrypt: { N: 2 ** 10, r: 8, p: 1 } })).toThrow(
        VaultError,
      );
      expect(
        () => new FileVault({ directory, passphrase: "x", scrypt: { N: 3 * 2 ** 14, r: 8, p: 1 } }),
      ).toThrow(VaultError);
    });
  });

  describe("fileVaultFromEnv", () => {
    it("builds a working vault from the environment", async () => {
      const fromEnv = fileVaultFromEnv(
        { TETHER_FILE_VAULT_DIR: path.join(directory, "env"), TETHER_FILE_VAULT_PASSPHRASE: PASSPHRASE },
        { scrypt: FAST_SCRYPT },
      );
      const { checkValue } = await fromEnv.generate("k", KeySpec.HMAC_256);
      expect(await fromEnv.checkValue("k")).toBe(checkValue);
    });

    it.each([{}, { TETHER_FILE_VAULT_PASSPHRASE: "" }])(
      "refuses a missing or empty passphrase, naming the variable (%j)",
      (extra) => {
        const build = () => fileVaultFromEnv({ TETHER_FILE_VAULT_DIR: directory, ...extra });
        expect(build).toThrow(VaultLockedError);
        expect(build).toThrow("TETHER_FILE_VAULT_PASSPHRASE");
      },
    );

    it("refuses a missing directory, naming the variable", () => {
      const build = () => fileVaultFromEnv({ TETHER_FILE_VAULT_PASSPHRASE: PASSPHRASE });
      expect(build).toThrow(VaultError);
      expect(build).toThrow("TETHER_FILE_VAULT_DIR");
    });

    it.each([
      {},
      { TETHER_FILE_VAULT_DIR: " ", TETHER_FILE_VAULT_PASSPHRASE: PASSPHRASE },
      { TETHER_FILE_VAULT_DIR: "/vault" },
      { TETHER_FILE_VAULT_DIR: "/vault", TETHER_FILE_VAULT_PASSPHRASE: "" },
    ])("refuses at cold start (the adapter's prepare) exactly as when it builds the vault (%j)", (env) => {
      const thrown = (act: () => unknown) => {
        try {
          act();
        } catch (error) {
          return error as Error;
        }
        throw new Error("nothing thrown");
      };
      const atColdStart = thrown(() => fileVaultAdapter.prepare?.(env));
      const atBuild = thrown(() => fileVaultFromEnv(env));
      expect(atColdStart.name).toBe(atBuild.name);
      expect(atColdStart.message).toBe(atBuild.message);
    });
  });

  describe("material references", () => {
    it.each([
      "../outside",
      "a/../../outside",
      "/etc/passwd",
      "a//b",
      "",
      ".tether-file-vault.json",
      "x.material.json/y",
      "a\\..\\b",
    ])("refuses %j without touching the disk", async (ref) => {
      await expect(vault.put(ref, randomBytes(32), KeySpec.SYMMETRIC_DEFAULT)).rejects.toThrow(
        InvalidMaterialRefError,
      );
      await expect(vault.has(ref)).rejects.toThrow(InvalidMaterialRefError);
      await expect(vault.generate(ref, KeySpec.SYMMETRIC_DEFAULT)).rejects.toThrow(InvalidMaterialRefError);
      expect(readdirSync(directory)).toEqual([]);
    });

    it("keeps a reference and a directory of the same name apart", async () => {
      const a = await vault.put("team", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT);
      const b = await vault.put("team/key", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT);
      expect(await vault.checkValue("team")).toBe(a.checkValue);
      expect(await vault.checkValue("team/key")).toBe(b.checkValue);
    });

    it("refuses to follow a symbolic link inside the vault", async () => {
      await vault.unlock();
      const outside = path.join(directory, "outside");
      mkdirSync(outside);
      symlinkSync(outside, path.join(vault.directory, "evil"));
      await expect(vault.put("evil/k", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT)).rejects.toThrow(
        /not a directory; refusing to follow/,
      );
      expect(readdirSync(outside)).toEqual([]);
    });
  });

  describe("on disk", () => {
    it("makes directories 0700 and files 0600", async () => {
      await vault.put("team/app/key", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT);
      const mode = (p: string) => statSync(p).mode & 0o777;
      expect(mode(vault.directory)).toBe(0o700);
      expect(mode(path.join(vault.directory, "team"))).toBe(0o700);
      expect(mode(path.join(vault.directory, "team", "app"))).toBe(0o700);
      expect(mode(path.join(vault.directory, "team", "app", "key.material.json"))).toBe(0o600);
      expect(mode(path.join(vault.directory, ".tether-file-vault.json"))).toBe(0o600);
    });

    it("leaves no temporary files, after success or refusal", async () => {
      await vault.put("a", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT);
      await vault.generate("b/c", KeySpec.HMAC_384);
      await vault.put("a", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT).catch(() => undefined);
      const names = allFiles(vault.directory).map((file) => path.relative(vault.directory, file));
      expect(names.sort()).toEqual([".tether-file-vault.json", "a.material.json", "b", "b/c.material.json"]);
    });

    it("writes no plaintext: not raw, not hex, not base64", async () => {
      const material = randomBytes(64);
      await vault.put("secret", material, KeySpec.HMAC_512);
      const encodings = [
        material,
        Buffer.from(material.toString("hex")),
        Buffer.from(material.toString("base64")),
      ];
      const chunks = encodings.flatMap((e) => [e.subarray(0, 16), e.subarray(e.length - 16)]);
      for (const file of allFiles(vault.directory).filter((f) => statSync(f).isFile())) {
        const bytes = readFileSync(file);
        for (const chunk of chunks) expect(bytes.includes(chunk)).toBe(false);
      }
    });
  });

  describe("tampering", () => {
    const file = () => path.join(vault.directory, "k.material.json");

    beforeEach(async () => {
      await vault.put("k", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT);
    });

    it("detects a changed ciphertext byte", async () => {
      const record = JSON.parse(readFileSync(file(), "utf8"));
      const ciphertext = Buffer.from(record.ciphertext, "base64");
      ciphertext[0] = (ciphertext[0] as number) ^ 1;
      record.ciphertext = ciphertext.toString("base64");
      writeFileSync(file(), JSON.stringify(record));
      await expect(vault.checkValue("k")).rejects.toThrow(/failed authentication/);
      await expect(vault.wrap("k", pair.publicKeyDer, WrappingAlgorithm.RSAES_OAEP_SHA_256)).rejects.toThrow(
        InvalidMaterialError,
      );
    });

    it("detects a changed key spec or check value beside the ciphertext", async () => {
      const original = readFileSync(file(), "utf8");
      for (const change of [{ keySpec: "HMAC_256" }, { checkValue: "kcv-aes:000000" }]) {
        writeFileSync(file(), JSON.stringify({ ...JSON.parse(original), ...change }));
        await expect(vault.checkValue("k")).rejects.toThrow(/failed authentication/);
      }
    });

    it("detects a file moved to another reference", async () => {
      renameSync(file(), path.join(vault.directory, "other.material.json"));
      expect(await vault.has("other")).toBe(true);
      await expect(vault.checkValue("other")).rejects.toThrow(/belongs to another reference/);
    });

    it("reports a file that is not a material file", async () => {
      writeFileSync(file(), "not json");
      await expect(vault.checkValue("k")).rejects.toThrow(/not a valid material file: it is not JSON/);
    });

    it("names the member at fault in a malformed material file, never its value", async () => {
      const record = JSON.parse(readFileSync(file(), "utf8"));
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ format: "tether-file-vault-material/v0" }, /format is not "tether-file-vault-material\/v1"/],
        [{ keySpec: 7 }, /keySpec is not a string/],
        [{ materialRef: undefined }, /materialRef is not a string/],
        [{ iv: "secret-looking!value" }, /iv is not base64/],
        [{ ciphertext: ["x"] }, /ciphertext is not base64/],
      ];
      for (const [change, message] of cases) {
        writeFileSync(file(), JSON.stringify({ ...record, ...change }));
        const error = await vault.checkValue("k").then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(InvalidMaterialError);
        expect((error as Error).message).toMatch(message);
        expect((error as Error).message).not.toContain("secret-looking");
        expect((error as Error).message).not.toContain(record.ciphertext.slice(0, 12));
      }
      writeFileSync(file(), JSON.stringify([record]));
      await expect(vault.checkValue("k")).rejects.toThrow(/it is not a JSON object/);
      // Members the shape does not know are ignored, as before.
      writeFileSync(file(), JSON.stringify({ ...record, comment: "added by hand" }));
      expect(await vault.checkValue("k")).toBe(record.checkValue);
    });
  });

  describe("plaintext in memory", () => {
    // What can be shown from outside: a Buffer holding exactly the plaintext was zeroed (and was all
    // zeros afterwards) before the adapter call returned. Copies inside OpenSSL or V8 (e.g. a cipher
    // context's key schedule) cannot be observed from JavaScript and are not claimed.
    function recordZeroedBuffers(): Buffer[] {
      const contentsBeforeZeroing: Buffer[] = [];
      const originalFill = Buffer.prototype.fill;
      vi.spyOn(Buffer.prototype, "fill").mockImplementation(function (this: Buffer, ...args: unknown[]) {
        if (args[0] !== 0) return (originalFill as (...a: unknown[]) => Buffer).apply(this, args);
        contentsBeforeZeroing.push(Buffer.from(this));
        const result = (originalFill as (...a: unknown[]) => Buffer).apply(this, args);
        expect(this.every((byte) => byte === 0)).toBe(true);
        return result;
      });
      return contentsBeforeZeroing;
    }

    it("zeroes the decrypted material after wrap and after checkValue", async () => {
      const material = randomBytes(32);
      await vault.put("k", material, KeySpec.SYMMETRIC_DEFAULT);
      const zeroed = recordZeroedBuffers();
      await vault.wrap("k", pair.publicKeyDer, WrappingAlgorithm.RSAES_OAEP_SHA_256);
      expect(zeroed.some((contents) => contents.equals(material))).toBe(true);
      zeroed.length = 0;
      await vault.checkValue("k");
      expect(zeroed.some((contents) => contents.equals(material))).toBe(true);
    });

    it("zeroes freshly generated material after storing it", async () => {
      const zeroed = recordZeroedBuffers();
      await vault.generate("g", KeySpec.ECC_NIST_P256);
      vi.restoreAllMocks();
      const material = unwrap(
        await vault.wrap("g", pair.publicKeyDer, WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_1),
        WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_1,
      );
      expect(zeroed.some((contents) => contents.equals(material))).toBe(true);
    });

    it("zeroes the unauthenticated plaintext when authentication fails", async () => {
      const material = randomBytes(32);
      await vault.put("k", material, KeySpec.SYMMETRIC_DEFAULT);
      const file = path.join(vault.directory, "k.material.json");
      const record = JSON.parse(readFileSync(file, "utf8"));
      record.tag = randomBytes(16).toString("base64");
      writeFileSync(file, JSON.stringify(record));
      const zeroed = recordZeroedBuffers();
      await expect(vault.checkValue("k")).rejects.toThrow(InvalidMaterialError);
      // GCM decrypts before it verifies, so the buffer held the real plaintext until it was zeroed.
      expect(zeroed.some((contents) => contents.equals(material))).toBe(true);
    });
  });
});
