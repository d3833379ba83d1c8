/**
 * The emulator against a third party's wrapping: key material generated and wrapped by the `openssl`
 * command line exactly as AWS's own procedure does it, "Step 3: Encrypt the key material",
 * https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-encrypt-key-material.html
 * (file names and options as on that page), then imported, used, deleted and re-imported through
 * @aws-sdk/client-kms. Signatures made by KMS are verified by `openssl dgst`.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  type ImportKeyMaterialCommandOutput,
  SignCommand,
} from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rejection, useKmsEmulator } from "../../support/kms-testbed.js";

interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/** Runs openssl with arguments (never a shell string); `input` plays the part of a `|` pipe. */
function openssl(args: string[], cwd: string, input?: Buffer): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile("openssl", args, { cwd, encoding: "buffer" }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout: stdout.toString(), stderr: stderr.toString() }));
      else resolve({ stdout, stderr: stderr.toString() });
    });
    child.stdin?.end(input);
  });
}

const hasOpenssl = await new Promise<boolean>((resolve) =>
  execFile("openssl", ["version"], (err) => resolve(!err)),
);
if (!hasOpenssl) console.warn("skipping the openssl procedure tests: no `openssl` on PATH");

type OaepHash = "sha1" | "sha256";
const OAEP_OPTIONS = (hash: OaepHash) => [
  "-pkeyopt",
  "rsa_padding_mode:oaep",
  "-pkeyopt",
  `rsa_oaep_md:${hash}`,
  "-pkeyopt",
  `rsa_mgf1_md:${hash}`,
];

const local = useKmsEmulator("eu-west-1");
let root: string;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), "tether-kms-openssl-"));
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function workDir(name: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir);
  return dir;
}

async function createExternalKey(keySpec?: "RSA_2048" | "ECC_NIST_P256", keyUsage?: string) {
  const out = await local.kms.send(
    new CreateKeyCommand({ Origin: "EXTERNAL", KeySpec: keySpec, KeyUsage: keyUsage as never }),
  );
  return out.KeyMetadata?.KeyId ?? "";
}

/** Step 2 of the procedure: the public key written as DER (WrappingPublicKey.bin), and the token. */
async function downloadParameters(
  dir: string,
  keyId: string,
  algorithm: "RSAES_OAEP_SHA_256" | "RSA_AES_KEY_WRAP_SHA_256" | "RSA_AES_KEY_WRAP_SHA_1",
): Promise<Uint8Array> {
  const params = await local.kms.send(
    new GetParametersForImportCommand({
      KeyId: keyId,
      WrappingAlgorithm: algorithm,
      WrappingKeySpec: "RSA_2048",
    }),
  );
  writeFileSync(path.join(dir, "WrappingPublicKey.bin"), params.PublicKey ?? new Uint8Array());
  return params.ImportToken ?? new Uint8Array();
}

/** RSAES_OAEP_SHA_256: `openssl pkeyutl -encrypt` of the material itself, as on the AWS page. */
async function wrapOaep(dir: string, materialFile: string): Promise<Buffer> {
  await openssl(
    [
      "pkeyutl",
      "-encrypt",
      "-in",
      materialFile,
      "-out",
      "EncryptedKeyMaterial.bin",
      "-inkey",
      "WrappingPublicKey.bin",
      "-keyform",
      "DER",
      "-pubin",
      ...OAEP_OPTIONS("sha256"),
    ],
    dir,
  );
  return readFileSync(path.join(dir, "EncryptedKeyMaterial.bin"));
}

/**
 * RSA_AES_KEY_WRAP_SHA_*: a fresh AES-256 key (`openssl rand`), the material wrapped under it with
 * `openssl enc -id-aes256-wrap-pad -iv A65959A6`, the AES key wrapped with `openssl pkeyutl` OAEP, and
 * the two concatenated, the wrapped AES key first.
 */
async function wrapRsaAes(dir: string, materialFile: string, hash: OaepHash): Promise<Buffer> {
  await openssl(["rand", "-out", "aes-key.bin", "32"], dir);
  const aesKeyHex = readFileSync(path.join(dir, "aes-key.bin")).toString("hex");
  await openssl(
    [
      "enc",
      "-id-aes256-wrap-pad",
      "-K",
      aesKeyHex,
      "-iv",
      "A65959A6",
      "-in",
      materialFile,
      "-out",
      "material-wrapped.bin",
    ],
    dir,
  );
  await openssl(
    [
      "pkeyutl",
      "-encrypt",
      "-in",
      "aes-key.bin",
      "-out",
      "aes-key-wrapped.bin",
      "-inkey",
      "WrappingPublicKey.bin",
      "-keyform",
      "DER",
      "-pubin",
      ...OAEP_OPTIONS(hash),
    ],
    dir,
  );
  rmSync(path.join(dir, "aes-key.bin"));
  const wrapped = Buffer.concat([
    readFileSync(path.join(dir, "aes-key-wrapped.bin")),
    readFileSync(path.join(dir, "material-wrapped.bin")),
  ]);
  writeFileSync(path.join(dir, "EncryptedKeyMaterial.bin"), wrapped);
  return wrapped;
}

/** `openssl genpkey ... | openssl pkcs8 -topk8 -outform der -nocrypt`, PEM kept for openssl checks. */
async function generatePkcs8(dir: string, genpkeyOptions: string[]): Promise<void> {
  const pem = (await openssl(["genpkey", ...genpkeyOptions], dir)).stdout;
  writeFileSync(path.join(dir, "material.pem"), pem);
  const der = (await openssl(["pkcs8", "-topk8", "-outform", "der", "-nocrypt"], dir, pem)).stdout;
  writeFileSync(path.join(dir, "material.der"), der);
}

function importWrapped(
  keyId: string,
  importToken: Uint8Array,
  wrapped: Buffer,
): Promise<ImportKeyMaterialCommandOutput> {
  return local.kms.send(
    new ImportKeyMaterialCommand({
      KeyId: keyId,
      ImportToken: importToken,
      EncryptedKeyMaterial: wrapped,
      ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
    }),
  );
}

async function keyState(keyId: string): Promise<string | undefined> {
  return (await local.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState;
}

describe("AWS's openssl procedure, RSAES_OAEP_SHA_256, symmetric key", () => {
  it.skipIf(!hasOpenssl)(
    "imports, deletes, refuses other bytes, re-imports the same bytes and decrypts the old ciphertext",
    async () => {
      const dir = workDir("oaep-symmetric");
      const keyId = await createExternalKey();
      await openssl(["rand", "-out", "PlaintextKeyMaterial.bin", "32"], dir);

      let token = await downloadParameters(dir, keyId, "RSAES_OAEP_SHA_256");
      const first = await importWrapped(keyId, token, await wrapOaep(dir, "PlaintextKeyMaterial.bin"));
      expect(await keyState(keyId)).toBe("Enabled");
      const plaintext = Buffer.from("encrypted under openssl-wrapped material");
      const { CiphertextBlob } = await local.kms.send(
        new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }),
      );

      await local.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
      expect(await keyState(keyId)).toBe("PendingImport");
      expect((await rejection(local.kms.send(new DecryptCommand({ CiphertextBlob })))).name).toBe(
        "KMSInvalidStateException",
      );

      await openssl(["rand", "-out", "OtherKeyMaterial.bin", "32"], dir);
      token = await downloadParameters(dir, keyId, "RSAES_OAEP_SHA_256");
      const other = await rejection(importWrapped(keyId, token, await wrapOaep(dir, "OtherKeyMaterial.bin")));
      expect(other.name).toBe("IncorrectKeyMaterialException");
      expect(await keyState(keyId)).toBe("PendingImport");

      token = await downloadParameters(dir, keyId, "RSAES_OAEP_SHA_256");
      const again = await importWrapped(keyId, token, await wrapOaep(dir, "PlaintextKeyMaterial.bin"));
      expect(again.KeyMaterialId).toBe(first.KeyMaterialId);
      const out = await local.kms.send(new DecryptCommand({ CiphertextBlob }));
      expect(Buffer.from(out.Plaintext ?? []).equals(plaintext)).toBe(true);
    },
  );
});

describe("AWS's openssl procedure, RSA_AES_KEY_WRAP_SHA_*, asymmetric keys", () => {
  it.skipIf(!hasOpenssl)(
    "RSA_2048 ENCRYPT_DECRYPT via RSA_AES_KEY_WRAP_SHA_256: KMS's ciphertext opens with openssl and again after a re-import",
    async () => {
      const dir = workDir("rsa-aes-rsa");
      const keyId = await createExternalKey("RSA_2048", "ENCRYPT_DECRYPT");
      await generatePkcs8(dir, ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);

      let token = await downloadParameters(dir, keyId, "RSA_AES_KEY_WRAP_SHA_256");
      await importWrapped(keyId, token, await wrapRsaAes(dir, "material.der", "sha256"));
      expect(await keyState(keyId)).toBe("Enabled");

      const plaintext = Buffer.from("RSA-OAEP by KMS under the imported private key");
      const { CiphertextBlob } = await local.kms.send(
        new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionAlgorithm: "RSAES_OAEP_SHA_256" }),
      );
      // The customer's own copy of the private key opens what KMS encrypted: KMS holds those bytes.
      writeFileSync(path.join(dir, "kms-ciphertext.bin"), CiphertextBlob ?? new Uint8Array());
      const opened = await openssl(
        [
          "pkeyutl",
          "-decrypt",
          "-in",
          "kms-ciphertext.bin",
          "-inkey",
          "material.pem",
          ...OAEP_OPTIONS("sha256"),
        ],
        dir,
      );
      expect(opened.stdout.equals(plaintext)).toBe(true);

      await local.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
      expect(
        (
          await rejection(
            local.kms.send(
              new DecryptCommand({ KeyId: keyId, CiphertextBlob, EncryptionAlgorithm: "RSAES_OAEP_SHA_256" }),
            ),
          )
        ).name,
      ).toBe("KMSInvalidStateException");

      token = await downloadParameters(dir, keyId, "RSA_AES_KEY_WRAP_SHA_256");
      await importWrapped(keyId, token, await wrapRsaAes(dir, "material.der", "sha256"));
      const out = await local.kms.send(
        new DecryptCommand({ KeyId: keyId, CiphertextBlob, EncryptionAlgorithm: "RSAES_OAEP_SHA_256" }),
      );
      expect(Buffer.from(out.Plaintext ?? []).equals(plaintext)).toBe(true);
    },
  );

  it.skipIf(!hasOpenssl)(
    "ECC_NIST_P256 SIGN_VERIFY via RSA_AES_KEY_WRAP_SHA_1: openssl dgst verifies KMS's signature with GetPublicKey's key",
    async () => {
      const dir = workDir("rsa-aes-ec");
      const keyId = await createExternalKey("ECC_NIST_P256", "SIGN_VERIFY");
      await generatePkcs8(dir, ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);

      const token = await downloadParameters(dir, keyId, "RSA_AES_KEY_WRAP_SHA_1");
      await importWrapped(keyId, token, await wrapRsaAes(dir, "material.der", "sha1"));
      expect(await keyState(keyId)).toBe("Enabled");

      const message = Buffer.from("signed by KMS with openssl-generated P-256 material");
      writeFileSync(path.join(dir, "message.bin"), message);
      const signed = await local.kms.send(
        new SignCommand({
          KeyId: keyId,
          Message: message,
          MessageType: "RAW",
          SigningAlgorithm: "ECDSA_SHA_256",
        }),
      );
      writeFileSync(path.join(dir, "sig.bin"), signed.Signature ?? new Uint8Array());

      const pub = await local.kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
      writeFileSync(path.join(dir, "pub.der"), pub.PublicKey ?? new Uint8Array());
      await openssl(["pkey", "-pubin", "-inform", "DER", "-in", "pub.der", "-out", "pub.pem"], dir);
      // GetPublicKey returns the public half of exactly the material openssl generated.
      const derived = await openssl(["pkey", "-in", "material.pem", "-pubout", "-outform", "DER"], dir);
      expect(derived.stdout.equals(Buffer.from(pub.PublicKey ?? []))).toBe(true);

      const verified = await openssl(
        ["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.bin", "message.bin"],
        dir,
      );
      expect(verified.stdout.toString()).toContain("Verified OK");

      writeFileSync(path.join(dir, "tampered.bin"), Buffer.concat([message, Buffer.from("!")]));
      const tampered = (await rejection(
        openssl(["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.bin", "tampered.bin"], dir),
      )) as unknown as { code: number; stdout: string };
      expect(tampered).toMatchObject({ code: 1 });
      expect(tampered.stdout).toContain("Verification failure");
    },
  );
});
