import type { ImportPolicyInputBody } from "../../api/schemas.js";
import { ExpirationModel, WrappingAlgorithm, WrappingKeySpec } from "../../domain/kms-constants.js";
import type { FlagSpecs, FlagValues } from "../command.js";
import { choiceFlag, durationFlag, exclusive, timestampFlag } from "../flags.js";

/** The import-policy flags `register` and `policy` share. */
export const POLICY_FLAGS: FlagSpecs = {
  validity: {
    type: "string",
    value: "DURATION",
    description: "each import's ValidTo = now + DURATION (ISO 8601, 1 hour to 365 days, e.g. P30D)",
  },
  "valid-to": {
    type: "string",
    value: "ISO",
    description: "a fixed time the material must be gone by (instead of --validity)",
  },
  "renew-before": {
    type: "string",
    value: "DURATION",
    description: "renew when ValidTo is this close (e.g. P7D); shorter than the validity",
  },
  "expiration-model": {
    type: "string",
    value: "MODEL",
    description: "KEY_MATERIAL_EXPIRES (default) or KEY_MATERIAL_DOES_NOT_EXPIRE",
  },
  "wrapping-algorithm": {
    type: "string",
    value: "ALG",
    description: `preferred wrapping algorithm: ${Object.values(WrappingAlgorithm).join(", ")}`,
  },
  "wrapping-key-spec": {
    type: "string",
    value: "SPEC",
    description: `preferred wrapping key spec: ${Object.values(WrappingKeySpec).join(", ")}`,
  },
  "reconcile-interval": {
    type: "string",
    value: "DURATION",
    description: "how often a healthy key is re-checked in KMS (PT1M to P1D)",
  },
  "rotate-every": {
    type: "string",
    value: "DURATION",
    description: "rotate the material on demand this often (P1D to P3650D, e.g. P365D); symmetric keys only",
  },
};

/** API policy field names (as errors report them) mapped to the flags. */
export const POLICY_FIELD_FLAGS: Readonly<Record<string, string>> = {
  validityPeriod: "--validity",
  validTo: "--valid-to",
  renewBefore: "--renew-before",
  expirationModel: "--expiration-model",
  wrappingAlgorithm: "--wrapping-algorithm",
  wrappingKeySpec: "--wrapping-key-spec",
  reconcileInterval: "--reconcile-interval",
  rotateEvery: "--rotate-every",
  restoreAfterLoss: "--restore-after-loss",
  restoreAfterOutOfBandDelete: "--restore-after-out-of-band-delete",
};

/**
 * The policy fields given on the command line (restore flags are added by each command: their spelling
 * differs). Only what was given is sent, so the API's defaults (or the current policy) apply to the rest.
 * @throws UsageError on a malformed value or --validity with --valid-to
 */
export function policyFromFlags(flags: FlagValues, command: string): ImportPolicyInputBody {
  exclusive(flags, ["validity", "valid-to"], command);
  const policy: ImportPolicyInputBody = {};
  const validityPeriod = durationFlag(flags, "validity", command);
  const validTo = timestampFlag(flags, "valid-to", command);
  const renewBefore = durationFlag(flags, "renew-before", command);
  const reconcileInterval = durationFlag(flags, "reconcile-interval", command);
  const rotateEvery = durationFlag(flags, "rotate-every", command);
  const expirationModel = choiceFlag(flags, "expiration-model", command, Object.values(ExpirationModel));
  const wrappingAlgorithm = choiceFlag(
    flags,
    "wrapping-algorithm",
    command,
    Object.values(WrappingAlgorithm),
  );
  const wrappingKeySpec = choiceFlag(flags, "wrapping-key-spec", command, Object.values(WrappingKeySpec));
  if (expirationModel !== undefined) policy.expirationModel = expirationModel;
  if (validityPeriod !== undefined) policy.validityPeriod = validityPeriod;
  if (validTo !== undefined) policy.validTo = validTo;
  if (renewBefore !== undefined) policy.renewBefore = renewBefore;
  if (reconcileInterval !== undefined) policy.reconcileInterval = reconcileInterval;
  if (rotateEvery !== undefined) policy.rotateEvery = rotateEvery;
  if (wrappingAlgorithm !== undefined) policy.wrappingAlgorithm = wrappingAlgorithm;
  if (wrappingKeySpec !== undefined) policy.wrappingKeySpec = wrappingKeySpec;
  return policy;
}
