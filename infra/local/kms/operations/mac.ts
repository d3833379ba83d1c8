/**
 * GenerateMac / VerifyMac: https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateMac.html
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { KmsContext, KmsOperation } from "../context.js";
import { MAC_ALGORITHMS, type MacAlgorithm, SPEC_INFO } from "../domain/key-specs.js";
import { currentMaterial } from "../domain/model.js";
import { KmsErrorType, kmsError } from "../errors.js";
import type { RequestReader } from "../validation.js";
import { base64, KEY_ID_CONSTRAINT, requireEnabled, requireUsage } from "./shared.js";

function computeMac(ctx: KmsContext, input: RequestReader, operation: string, withMac: boolean) {
  const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
  const message = input.blob("Message", { required: true, min: 1, max: 4096 }) ?? Buffer.alloc(0);
  const algorithm = input.enumOf("MacAlgorithm", MAC_ALGORITHMS, { required: true }) as MacAlgorithm;
  const mac = withMac ? input.blob("Mac", { required: true, min: 1, max: 6144 }) : undefined;
  input.list("GrantTokens");
  input.bool("DryRun");
  input.done();
  const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: true });
  requireEnabled(key);
  requireUsage(key, "GENERATE_VERIFY_MAC", operation);
  const hmac = SPEC_INFO[key.keySpec].hmac;
  if (!hmac || hmac.mac !== algorithm) {
    throw kmsError(
      KmsErrorType.InvalidKeyUsage,
      `Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`,
    );
  }
  const material = Buffer.from(currentMaterial(key)?.bytes ?? "", "base64");
  return { key, algorithm, mac, computed: createHmac(hmac.digest, material).update(message).digest() };
}

export const generateMac: KmsOperation = {
  mutates: false,
  handle(ctx, input) {
    const { key, algorithm, computed } = computeMac(ctx, input, "GenerateMac", false);
    return { Mac: base64(computed), MacAlgorithm: algorithm, KeyId: key.arn };
  },
};

export const verifyMac: KmsOperation = {
  mutates: false,
  handle(ctx, input) {
    const { key, algorithm, mac, computed } = computeMac(ctx, input, "VerifyMac", true);
    if (!mac || mac.length !== computed.length || !timingSafeEqual(mac, computed)) {
      throw kmsError(KmsErrorType.KmsInvalidMac, "");
    }
    return { KeyId: key.arn, MacValid: true, MacAlgorithm: algorithm };
  },
};
