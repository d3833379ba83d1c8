/**
 * Sign / Verify / GetPublicKey: https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html
 * RSASSA-PSS uses a salt as long as the digest, as KMS does. MessageType DIGEST is implemented for
 * RSASSA_PKCS1_V1_5 only (Node cannot sign a precomputed digest with PSS or ECDSA).
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  privateEncrypt,
  publicDecrypt,
  sign,
  verify,
} from "node:crypto";
import type { KmsContext, KmsOperation } from "../context.js";
import {
  algorithmsFor,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
  signingDigest,
} from "../domain/key-specs.js";
import { currentMaterial, type KeyRecord } from "../domain/model.js";
import { KmsErrorType, kmsError } from "../errors.js";
import type { RequestReader } from "../validation.js";
import { base64, KEY_ID_CONSTRAINT, requireEnabled, requireUsage } from "./shared.js";

const DIGEST_INFO: Record<string, string> = {
  sha256: "3031300d060960864801650304020105000420",
  sha384: "3041300d060960864801650304020205000430",
  sha512: "3051300d060960864801650304020305000440",
};

function privateKeyOf(key: KeyRecord): KeyObject {
  return createPrivateKey({
    key: Buffer.from(currentMaterial(key)?.bytes ?? "", "base64"),
    format: "der",
    type: "pkcs8",
  });
}

function prepare(ctx: KmsContext, input: RequestReader, operation: "Sign" | "Verify") {
  const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
  const message = input.blob("Message", { required: true, min: 1, max: 4096 }) ?? Buffer.alloc(0);
  const messageType = input.enumOf("MessageType", ["RAW", "DIGEST", "EXTERNAL_MU"] as const) ?? "RAW";
  const algorithm = input.enumOf("SigningAlgorithm", SIGNING_ALGORITHMS, {
    required: true,
  }) as SigningAlgorithm;
  const signature =
    operation === "Verify" ? input.blob("Signature", { required: true, min: 1, max: 6144 }) : undefined;
  input.list("GrantTokens");
  input.bool("DryRun");
  input.done();
  const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: true });
  requireEnabled(key);
  requireUsage(key, "SIGN_VERIFY", operation);
  if (!algorithmsFor(key.keySpec, key.keyUsage).SigningAlgorithms?.includes(algorithm)) {
    throw kmsError(
      KmsErrorType.InvalidKeyUsage,
      `Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`,
    );
  }
  const digest = signingDigest(algorithm);
  if (messageType === "EXTERNAL_MU") {
    throw kmsError(KmsErrorType.Validation, "MessageType EXTERNAL_MU is valid only for ML-DSA keys.");
  }
  if (messageType === "DIGEST") {
    if (message.length !== digest.bytes) {
      throw kmsError(KmsErrorType.Validation, `Digest is invalid length for algorithm ${algorithm}.`);
    }
    if (!algorithm.startsWith("RSASSA_PKCS1")) {
      throw kmsError(
        KmsErrorType.UnsupportedOperation,
        `The local KMS emulator signs digests only with RSASSA_PKCS1_V1_5 algorithms, not ${algorithm}.`,
      );
    }
  }
  const privateKey = privateKeyOf(key);
  const options = algorithm.startsWith("RSASSA_PSS")
    ? { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: digest.bytes }
    : { key: privateKey, dsaEncoding: "der" as const };
  return { key, message, messageType, algorithm, signature, digest, privateKey, options };
}

export const signOp: KmsOperation = {
  mutates: false,
  handle(ctx, input) {
    const p = prepare(ctx, input, "Sign");
    const signature =
      p.messageType === "DIGEST"
        ? privateEncrypt(
            { key: p.privateKey, padding: constants.RSA_PKCS1_PADDING },
            Buffer.concat([Buffer.from(DIGEST_INFO[p.digest.name] ?? "", "hex"), p.message]),
          )
        : sign(p.digest.name, p.message, p.options);
    return { KeyId: p.key.arn, Signature: base64(signature), SigningAlgorithm: p.algorithm };
  },
};

export const verifyOp: KmsOperation = {
  mutates: false,
  handle(ctx, input) {
    const p = prepare(ctx, input, "Verify");
    const signature = p.signature ?? Buffer.alloc(0);
    let valid = false;
    try {
      if (p.messageType === "DIGEST") {
        const expected = Buffer.concat([Buffer.from(DIGEST_INFO[p.digest.name] ?? "", "hex"), p.message]);
        valid = publicDecrypt(
          { key: createPublicKey(p.privateKey), padding: constants.RSA_PKCS1_PADDING },
          signature,
        ).equals(expected);
      } else {
        valid = verify(
          p.digest.name,
          p.message,
          { ...p.options, key: createPublicKey(p.privateKey) },
          signature,
        );
      }
    } catch {
      valid = false;
    }
    if (!valid) throw kmsError(KmsErrorType.KmsInvalidSignature, "");
    return { KeyId: p.key.arn, SignatureValid: true, SigningAlgorithm: p.algorithm };
  },
};

export const getPublicKey: KmsOperation = {
  mutates: false,
  handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    input.list("GrantTokens");
    input.done();
    const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: true });
    requireEnabled(key);
    if (key.keySpec === "SYMMETRIC_DEFAULT" || key.keySpec.startsWith("HMAC")) {
      throw kmsError(
        KmsErrorType.UnsupportedOperation,
        `${key.arn} key spec ${key.keySpec} has no public key.`,
      );
    }
    const publicKey = createPublicKey(privateKeyOf(key)).export({ type: "spki", format: "der" });
    return {
      KeyId: key.arn,
      PublicKey: base64(publicKey),
      CustomerMasterKeySpec: key.keySpec,
      KeySpec: key.keySpec,
      KeyUsage: key.keyUsage,
      ...algorithmsFor(key.keySpec, key.keyUsage),
    };
  },
};
