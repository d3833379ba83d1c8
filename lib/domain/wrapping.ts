import { quoteUnknown, ValidationError } from "./errors.js";
import { KeySpec, WrappingAlgorithm, WrappingKeySpec } from "./kms-constants.js";

/**
 * Which wrapping algorithm and wrapping key spec AWS KMS accepts for which key material, from the
 * GetParametersForImport reference (WrappingAlgorithm / WrappingKeySpec) and the developer guide:
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html
 * https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-get-public-key-and-token.html
 * https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-encrypt-key-material.html
 *
 * - RSA_AES_KEY_WRAP_SHA_256 / _SHA_1: "supported for wrapping RSA and ECC key material" — documented for
 *   those two only, so Tether does not ask for them for symmetric or HMAC material.
 * - RSAES_OAEP_SHA_256 / _SHA_1: "all types of key material, except RSA key material (private key)", and
 *   not with an RSA_2048 wrapping key for ECC_NIST_P521 material (its PKCS#8 does not fit).
 * - RSAES_PKCS1_V1_5 is no longer accepted (since 10 October 2023) and is not in WrappingAlgorithm.
 * - SM2 wrapping keys exist only in China Regions and are not modelled.
 */

/** What the policy asks for; an absent field means "the strongest the material allows". */
export interface WrappingPreference {
  readonly algorithm?: WrappingAlgorithm | undefined;
  readonly keySpec?: WrappingKeySpec | undefined;
}

/** The pair to pass to GetParametersForImport. */
export interface WrappingChoice {
  readonly wrappingAlgorithm: WrappingAlgorithm;
  readonly wrappingKeySpec: WrappingKeySpec;
}

/** Strongest first: SHA-256 before SHA-1; for RSA_AES material the one-step OAEP is not allowed anyway. */
const OAEP_FIRST: readonly WrappingAlgorithm[] = [
  WrappingAlgorithm.RSAES_OAEP_SHA_256,
  WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_256,
  WrappingAlgorithm.RSAES_OAEP_SHA_1,
  WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_1,
];
/** Longest wrapping key first ("use the longest RSA wrapping key that is practical"). */
const STRONGEST_KEY_FIRST: readonly WrappingKeySpec[] = [
  WrappingKeySpec.RSA_4096,
  WrappingKeySpec.RSA_3072,
  WrappingKeySpec.RSA_2048,
];

function isRsaAes(algorithm: WrappingAlgorithm): boolean {
  return (
    algorithm === WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_256 ||
    algorithm === WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_1
  );
}

function isRsaMaterial(keySpec: KeySpec): boolean {
  return keySpec === KeySpec.RSA_2048 || keySpec === KeySpec.RSA_3072 || keySpec === KeySpec.RSA_4096;
}

function isEccMaterial(keySpec: KeySpec): boolean {
  return (
    keySpec === KeySpec.ECC_NIST_P256 ||
    keySpec === KeySpec.ECC_NIST_P384 ||
    keySpec === KeySpec.ECC_NIST_P521 ||
    keySpec === KeySpec.ECC_SECG_P256K1
  );
}

/**
 * Why this pair cannot carry material of this key spec, or undefined when AWS accepts it.
 * Unknown key specs (a value from outside the type) are refused.
 */
export function wrappingRefusal(
  keySpec: KeySpec,
  algorithm: WrappingAlgorithm,
  wrappingKeySpec: WrappingKeySpec,
): string | undefined {
  if (!Object.hasOwn(KeySpec, keySpec)) return `unknown key spec ${quoteUnknown(keySpec)}`;
  if (!Object.hasOwn(WrappingAlgorithm, algorithm)) {
    return `unknown wrapping algorithm ${quoteUnknown(algorithm)} (RSAES_PKCS1_V1_5 is no longer accepted)`;
  }
  if (!Object.hasOwn(WrappingKeySpec, wrappingKeySpec)) {
    return `unknown wrapping key spec ${JSON.stringify(wrappingKeySpec)}`;
  }
  if (isRsaMaterial(keySpec) && !isRsaAes(algorithm)) {
    return `RSA private key material (${keySpec}) needs RSA_AES_KEY_WRAP_SHA_256 or RSA_AES_KEY_WRAP_SHA_1`;
  }
  if (isRsaAes(algorithm) && !isRsaMaterial(keySpec) && !isEccMaterial(keySpec)) {
    return `${algorithm} is documented for RSA and ECC key material only, not ${keySpec}`;
  }
  if (
    keySpec === KeySpec.ECC_NIST_P521 &&
    !isRsaAes(algorithm) &&
    wrappingKeySpec === WrappingKeySpec.RSA_2048
  ) {
    return `${algorithm} with an RSA_2048 wrapping key cannot wrap ECC_NIST_P521 material; use RSA_3072, RSA_4096 or an RSA_AES_KEY_WRAP algorithm`;
  }
  return undefined;
}

/** Every pair AWS accepts for this key spec, strongest first. */
export function allowedWrappings(keySpec: KeySpec): WrappingChoice[] {
  const choices: WrappingChoice[] = [];
  for (const wrappingKeySpec of STRONGEST_KEY_FIRST) {
    for (const wrappingAlgorithm of OAEP_FIRST) {
      if (wrappingRefusal(keySpec, wrappingAlgorithm, wrappingKeySpec) === undefined) {
        choices.push({ wrappingAlgorithm, wrappingKeySpec });
      }
    }
  }
  return choices;
}

/**
 * The wrapping pair to request: the policy's preference where given, otherwise the strongest the
 * material allows (RSA_4096; RSAES_OAEP_SHA_256, or RSA_AES_KEY_WRAP_SHA_256 for RSA material).
 * With `vaultCan` (what the vault can produce, e.g. an HSM's mechanisms), the strongest pair both KMS and
 * the vault support.
 * @throws ValidationError (field `wrappingAlgorithm` or `wrappingKeySpec`) when the preference cannot
 *   carry this material, or the vault cannot produce it (naming what it can do)
 */
export function chooseWrapping(
  keySpec: KeySpec,
  preference: WrappingPreference = {},
  vaultCan?: readonly WrappingChoice[],
): WrappingChoice {
  const candidates = allowedWrappings(keySpec).filter(
    (choice) =>
      (preference.algorithm === undefined || choice.wrappingAlgorithm === preference.algorithm) &&
      (preference.keySpec === undefined || choice.wrappingKeySpec === preference.keySpec),
  );
  const chosen =
    vaultCan === undefined
      ? candidates[0]
      : candidates.find((c) =>
          vaultCan.some(
            (v) => v.wrappingAlgorithm === c.wrappingAlgorithm && v.wrappingKeySpec === c.wrappingKeySpec,
          ),
        );
  if (chosen !== undefined) return chosen;
  if (vaultCan !== undefined && candidates.length > 0) {
    const can = vaultCan.map((v) => `${v.wrappingAlgorithm}/${v.wrappingKeySpec}`).join(", ") || "nothing";
    throw new ValidationError(
      preference.algorithm !== undefined ? "wrappingAlgorithm" : "wrappingKeySpec",
      `the vault cannot produce ${preference.algorithm ?? "an allowed wrapping"}${preference.keySpec ? ` with ${preference.keySpec}` : ""} for ${keySpec}; it can do ${can}`,
    );
  }
  const algorithm = preference.algorithm ?? allowedWrappings(keySpec)[0]?.wrappingAlgorithm;
  const wrappingKeySpec = preference.keySpec ?? WrappingKeySpec.RSA_4096;
  const why =
    algorithm === undefined
      ? `no wrapping is known for key spec ${quoteUnknown(keySpec)}`
      : (wrappingRefusal(keySpec, algorithm, wrappingKeySpec) ?? "no allowed combination");
  const field =
    preference.algorithm !== undefined &&
    allowedWrappings(keySpec).every((choice) => choice.wrappingAlgorithm !== preference.algorithm)
      ? "wrappingAlgorithm"
      : "wrappingKeySpec";
  throw new ValidationError(field, why);
}
