/**
 * The emulator driven by the AWS CLI (`aws`, v1 on the CI image) through `--endpoint-url`: the whole
 * import path a customer runs by hand, with blobs passed as `fileb://` files and read back from the
 * CLI's JSON output (base64). wire-and-keys.test.ts only checks that `kms create-key` works.
 * The CLI runs in a scrubbed environment (dummy credentials, a temporary HOME and config, no
 * instance metadata) so no user configuration leaks in.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KmsEmulator, startKmsEmulator } from "../../../infra/local/kms/index.js";
import { wrapKeyMaterial } from "../../support/kms-wrap.js";

interface CliFailure {
  code: number;
  stdout: string;
  stderr: string;
}

const hasCli = await new Promise<boolean>((resolve) =>
  execFile("aws", ["--version"], (err) => resolve(!err)),
);
if (!hasCli) console.warn("skipping the AWS CLI tests: no `aws` on PATH");

let emulator: KmsEmulator;
let home: string;

beforeAll(async () => {
  emulator = await startKmsEmulator({ port: 0 });
  home = mkdtempSync(path.join(tmpdir(), "tether-kms-cli-"));
});
afterAll(async () => {
  await emulator?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    AWS_CONFIG_FILE: path.join(home, "config"),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, "credentials"),
    AWS_ACCESS_KEY_ID: "AKIDLOCALCLI",
    AWS_SECRET_ACCESS_KEY: "local-cli-secret",
    AWS_DEFAULT_REGION: "eu-central-1",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
    TZ: "UTC",
  };
  // A pyenv-installed CLI finds its interpreter through these; they carry no AWS configuration.
  for (const name of ["PYENV_ROOT", "PYENV_VERSION"]) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  return env;
}

/** `aws --endpoint-url <emulator> --output json kms <args>`; resolves with the parsed JSON (or {}). */
function kmsCli(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(
      "aws",
      ["--endpoint-url", emulator.url, "--output", "json", "kms", ...args],
      { env: cliEnv() },
      (err, stdout, stderr) => {
        if (err) {
          const failure: CliFailure = { code: Number(err.code), stdout, stderr };
          reject(Object.assign(new Error(`aws kms ${args[0]} failed`), failure));
        } else {
          resolve(stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {});
        }
      },
    );
  });
}

async function cliFailure(promise: Promise<unknown>): Promise<CliFailure> {
  try {
    await promise;
  } catch (err) {
    return err as CliFailure;
  }
  throw new Error("expected the AWS CLI to exit with an error");
}

/** CLI v1 prints timestamps as sent (epoch seconds); v2 prints ISO 8601. */
function cliTimestampMs(value: unknown): number {
  return typeof value === "number" ? value * 1000 : Date.parse(String(value));
}

function file(name: string, bytes: Uint8Array): string {
  const target = path.join(home, name);
  writeFileSync(target, bytes);
  return `fileb://${target}`;
}

/** get-parameters-for-import, wrap with Node (the AWS recipe), import-key-material; all blobs as files. */
async function cliImport(keyId: string, material: Buffer, validTo: Date): Promise<Record<string, unknown>> {
  const params = await kmsCli([
    "get-parameters-for-import",
    "--key-id",
    keyId,
    "--wrapping-algorithm",
    "RSAES_OAEP_SHA_256",
    "--wrapping-key-spec",
    "RSA_4096",
  ]);
  const publicKey = Buffer.from(String(params.PublicKey), "base64");
  const token = Buffer.from(String(params.ImportToken), "base64");
  expect(publicKey.length).toBeGreaterThan(500); // an RSA_4096 SubjectPublicKeyInfo is 550 bytes
  return kmsCli([
    "import-key-material",
    "--key-id",
    keyId,
    "--import-token",
    file("ImportToken.bin", token),
    "--encrypted-key-material",
    file("EncryptedKeyMaterial.bin", wrapKeyMaterial(material, publicKey, "RSAES_OAEP_SHA_256")),
    "--expiration-model",
    "KEY_MATERIAL_EXPIRES",
    "--valid-to",
    validTo.toISOString(),
  ]);
}

describe("the AWS CLI against the emulator", () => {
  it.skipIf(!hasCli)(
    "creates, imports with an expiry, describes, encrypts and decrypts, and reports a wrong re-import",
    async () => {
      const created = await kmsCli(["create-key", "--origin", "EXTERNAL"]);
      const keyId = String((created.KeyMetadata as { KeyId: string }).KeyId);
      expect(created.KeyMetadata).toMatchObject({ KeyState: "PendingImport", Origin: "EXTERNAL" });

      const material = randomBytes(32);
      const now = await emulator.admin.now();
      // Whole seconds: the CLI renders timestamps to the second.
      const validTo = new Date(Math.floor(now.getTime() / 1000) * 1000 + 30 * 24 * 60 * 60 * 1000);
      await cliImport(keyId, material, validTo);

      const described = (await kmsCli(["describe-key", "--key-id", keyId])).KeyMetadata as Record<
        string,
        unknown
      >;
      expect(described).toMatchObject({
        KeyState: "Enabled",
        Enabled: true,
        ExpirationModel: "KEY_MATERIAL_EXPIRES",
      });
      expect(cliTimestampMs(described.ValidTo)).toBe(validTo.getTime());

      const plaintext = Buffer.from("round trip through the AWS CLI");
      const encrypted = await kmsCli([
        "encrypt",
        "--key-id",
        keyId,
        "--plaintext",
        file("plaintext.bin", plaintext),
      ]);
      const ciphertext = Buffer.from(String(encrypted.CiphertextBlob), "base64");
      const decrypted = await kmsCli(["decrypt", "--ciphertext-blob", file("ciphertext.bin", ciphertext)]);
      expect(Buffer.from(String(decrypted.Plaintext), "base64").equals(plaintext)).toBe(true);
      expect(String(decrypted.KeyId)).toMatch(new RegExp(`^arn:aws:kms:eu-central-1:\\d{12}:key/${keyId}$`));

      await kmsCli(["delete-imported-key-material", "--key-id", keyId]);
      const pending = (await kmsCli(["describe-key", "--key-id", keyId])).KeyMetadata as { KeyState: string };
      expect(pending.KeyState).toBe("PendingImport");

      const wrong = await cliFailure(cliImport(keyId, randomBytes(32), validTo));
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toContain("IncorrectKeyMaterialException");
      // Neither the wrapped material nor the token appears in what the CLI printed.
      const token = readFileSync(path.join(home, "ImportToken.bin")).toString("base64");
      expect(wrong.stderr).not.toContain(token.slice(0, 40));

      // The original bytes still restore the key, and the old ciphertext decrypts again.
      await cliImport(keyId, material, validTo);
      const again = await kmsCli(["decrypt", "--ciphertext-blob", file("ciphertext.bin", ciphertext)]);
      expect(Buffer.from(String(again.Plaintext), "base64").equals(plaintext)).toBe(true);
    },
    // A dozen CLI processes (each a Python start-up) and three RSA_4096 wrapping pairs: a budget, not
    // an assertion about speed.
    120_000,
  );
});
