import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../lib/config.js";
import { KeySpec, WrappingAlgorithm } from "../../../lib/domain/kms-constants.js";
import { VaultError, VaultLockedError } from "../../../lib/vault/errors.js";
import { FILE_VAULT_DIR_ENV, FILE_VAULT_PASSPHRASE_ENV } from "../../../lib/vault/file/file-vault.js";
import { vaultFromEnv } from "../../../lib/vault/from-config.js";
import { rsaPair, unwrapWithNode } from "./support.js";

let root: string;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), "tether-from-config-"));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** The file vault is loaded on first use; its two variables are still checked when it is chosen. */
describe("vaultFromEnv: the file vault", () => {
  it("refuses a missing directory or passphrase at once, naming the variable file-vault.ts reads", () => {
    expect(() => vaultFromEnv({ [FILE_VAULT_PASSPHRASE_ENV]: "p" })).toThrow(VaultError);
    expect(() => vaultFromEnv({ [FILE_VAULT_DIR_ENV]: " ", [FILE_VAULT_PASSPHRASE_ENV]: "p" })).toThrow(
      new RegExp(`^${FILE_VAULT_DIR_ENV} is not set`),
    );
    expect(() => vaultFromEnv({ [FILE_VAULT_DIR_ENV]: root, [FILE_VAULT_PASSPHRASE_ENV]: "" })).toThrow(
      VaultLockedError,
    );
    expect(() => vaultFromEnv({ [FILE_VAULT_DIR_ENV]: root })).toThrow(
      new RegExp(`^${FILE_VAULT_PASSPHRASE_ENV} is not set`),
    );
  });

  it("touches nothing until first use, then is the real file vault", async () => {
    const directory = path.join(root, "vault");
    const vault = vaultFromEnv({
      [FILE_VAULT_DIR_ENV]: directory,
      [FILE_VAULT_PASSPHRASE_ENV]: "passphrase",
    });
    expect(vault.kind).toBe("file");
    // Building it created nothing: the adapter module is not even loaded yet.
    expect(readdirSync(root)).toEqual([]);

    expect(await vault.has("team/key-1")).toBe(false);
    const { checkValue } = await vault.generate("team/key-1", KeySpec.SYMMETRIC_DEFAULT);
    expect(await vault.has("team/key-1")).toBe(true);
    expect(await vault.checkValue("team/key-1")).toBe(checkValue);
    expect(readdirSync(root)).toEqual(["vault"]);

    const pair = rsaPair(2048);
    const wrapped = await vault.wrap("team/key-1", pair.publicKeyDer, WrappingAlgorithm.RSAES_OAEP_SHA_256);
    expect(unwrapWithNode(wrapped, WrappingAlgorithm.RSAES_OAEP_SHA_256, pair)).toHaveLength(32);
  });
});

/** A bundle keeps only the adapter of the vault it was built for (TETHER_VAULT_BUILD, an esbuild define). */
describe("vaultFromEnv: the vault the bundle was built for", () => {
  it("builds that vault, and refuses another with a configuration error naming both", () => {
    const fileEnv = { [FILE_VAULT_DIR_ENV]: root, [FILE_VAULT_PASSPHRASE_ENV]: "p" };
    // Unbundled, the constant is read from the environment: set it as a bundle's define would.
    process.env.TETHER_VAULT_BUILD = "file";
    try {
      expect(vaultFromEnv({ ...fileEnv, TETHER_VAULT: "file" }).kind).toBe("file");
      for (const vault of ["hashicorp", "secrets-manager", "pkcs11"]) {
        expect(() => vaultFromEnv({ ...fileEnv, TETHER_VAULT: vault })).toThrow(ConfigError);
        expect(() => vaultFromEnv({ ...fileEnv, TETHER_VAULT: vault })).toThrow(
          `TETHER_VAULT is "${vault}" but this bundle was built for the "file" vault`,
        );
      }
      process.env.TETHER_VAULT_BUILD = "pkcs11";
      expect(vaultFromEnv({ TETHER_VAULT: "pkcs11" }).kind).toBe("pkcs11");
      expect(() => vaultFromEnv(fileEnv)).toThrow(
        /TETHER_VAULT is "file" but this bundle was built for the "pkcs11" vault/,
      );
    } finally {
      delete process.env.TETHER_VAULT_BUILD;
    }
  });
});
