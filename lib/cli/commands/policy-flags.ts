import type { ImportPolicyInputBody } from "../../api/schemas.js";
import { Priority, RotationMethod } from "../../domain/import-policy.js";
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
  "attribution-grace": {
    type: "string",
    value: "DURATION",
    description:
      "how long to look in CloudTrail for who deleted material that vanished unexplained before restoring it as a local loss (PT0S to PT24H, default PT15M)",
  },
  "rotate-every": {
    type: "string",
    value: "DURATION",
    description:
      "rotate this often (P1D to P3650D, e.g. P365D), the way --rotation-method says; `keys policy` takes none to end the schedule",
  },
  priority: {
    type: "string",
    value: "PRIORITY",
    description: `which due work goes first when there is more than a sweep takes: ${Object.values(Priority).join(", ")} (default normal)`,
  },
  "rotation-method": {
    type: "string",
    value: "METHOD",
    description:
      "in-key (new material inside the key; symmetric keys only) or key-swap (a new key takes the alias); default: in-key where KMS allows it",
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
  attributionGrace: "--attribution-grace",
  rotateEvery: "--rotate-every",
  rotationMethod: "--rotation-method",
  priority: "--priority",
  restoreAfterLoss: "--restore-after-loss",
  restoreAfterOutOfBandDelete: "--restore-after-out-of-band-delete",
};

/**
 * The policy fields given on the command line (restore flags are added by each command: their spelling
 * differs). `rotateEveryNone` lets `--rotate-every none` through for the caller to send as null. Only what was given is sent, so the API's defaults (or the current policy) apply to the rest.
 * @throws UsageError on a malformed value or --validity with --valid-to
 */
export function policyFromFlags(
  flags: FlagValues,
  command: string,
  options: { rotateEveryNone?: boolean } = {},
): ImportPolicyInputBody {
  exclusive(flags, ["validity", "valid-to"], command);
  const policy: ImportPolicyInputBody = {};
  const validityPeriod = durationFlag(flags, "validity", command);
  const validTo = timestampFlag(flags, "valid-to", command);
  const renewBefore = durationFlag(flags, "renew-before", command);
  const reconcileInterval = durationFlag(flags, "reconcile-interval", command);
  // PT0S (look once, then act) is a valid grace, which durationFlag (positive durations) would refuse.
  const attributionGrace =
    flags["attribution-grace"] === "PT0S" ? "PT0S" : durationFlag(flags, "attribution-grace", command);
  // `--rotate-every none` (ending a schedule) is the caller's to send, where it means something.
  const none = options.rotateEveryNone === true && flags["rotate-every"] === "none";
  const rotateEvery = none ? undefined : durationFlag(flags, "rotate-every", command);
  const rotationMethod = choiceFlag(flags, "rotation-method", command, Object.values(RotationMethod));
  const priority = choiceFlag(flags, "priority", command, Object.values(Priority));
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
  if (attributionGrace !== undefined) policy.attributionGrace = attributionGrace;
  if (rotateEvery !== undefined) policy.rotateEvery = rotateEvery;
  if (rotationMethod !== undefined) policy.rotationMethod = rotationMethod;
  if (priority !== undefined) policy.priority = priority;
  if (wrappingAlgorithm !== undefined) policy.wrappingAlgorithm = wrappingAlgorithm;
  if (wrappingKeySpec !== undefined) policy.wrappingKeySpec = wrappingKeySpec;
  return policy;
}
