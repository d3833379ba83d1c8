import { KeyActionResponse, RegisterKeyBody } from "../../api/schemas.js";
import { KeySpec, KeyUsage } from "../../domain/kms-constants.js";
import { route } from "../client.js";
import { type CommandSpec, type FlagValues, IDEMPOTENCY_FLAG } from "../command.js";
import { UsageError } from "../errors.js";
import { booleanFlag, choiceFlag, listFlag, required, stringFlag } from "../flags.js";
import { actionResult } from "../views.js";
import { print } from "./output.js";
import { POLICY_FIELD_FLAGS, POLICY_FLAGS, policyFromFlags } from "./policy-flags.js";

const NAME = "keys register";
/** Flags that only make sense when Tether creates the key. */
const CREATE_ONLY = [
  "region",
  "key-spec",
  "key-usage",
  "generate",
  "alias",
  "description",
  "multi-region",
  "tag",
];

const FIELD_FLAGS: Readonly<Record<string, string>> = {
  region: "--region",
  keySpec: "--key-spec",
  keyUsage: "--key-usage",
  multiRegion: "--multi-region",
  replicaRegions: "--replica-region",
  alias: "--alias",
  description: "--description",
  tags: "--tag",
  generateMaterial: "--generate",
  materialRef: "--material-ref",
  checkValue: "--check-value",
  keyArn: "--adopt",
  ...Object.fromEntries(Object.entries(POLICY_FIELD_FLAGS).map(([field, flag]) => [`policy.${field}`, flag])),
};

export const registerCommand: CommandSpec = {
  name: "register",
  summary: "Register a key: create a new EXTERNAL key, or adopt an existing one (--adopt ARN)",
  args: [],
  flags: {
    region: {
      type: "string",
      value: "R",
      description:
        "Region to create the key in (default: AWS_REGION, else the local stack's home Region from its endpoints.json; required when neither is there)",
    },
    "key-spec": { type: "string", value: "SPEC", description: `${Object.values(KeySpec).join(", ")}` },
    "key-usage": {
      type: "string",
      value: "USAGE",
      description: "ENCRYPT_DECRYPT, SIGN_VERIFY or GENERATE_VERIFY_MAC",
    },
    "material-ref": {
      type: "string",
      value: "REF",
      description: "where the vault keeps the material (required; never the material itself)",
    },
    generate: { type: "boolean", description: "let the vault generate new material under --material-ref" },
    "check-value": {
      type: "string",
      value: "CV",
      description: "the check value the vault's material must have (required unless --generate)",
    },
    alias: { type: "string", value: "A", description: "alias/name to create for the key (in every Region)" },
    description: { type: "string", value: "D", description: "the KMS key description" },
    tag: { type: "string", multiple: true, value: "K=V", description: "a KMS tag (repeatable)" },
    "multi-region": { type: "boolean", description: "create a Multi-Region key" },
    "replica-region": {
      type: "string",
      multiple: true,
      value: "R",
      description: "a replica Region (repeatable; implies --multi-region when creating)",
    },
    adopt: {
      type: "string",
      value: "ARN",
      description: "adopt this existing EXTERNAL key instead of creating one",
    },
    ...POLICY_FLAGS,
    "no-restore-after-loss": {
      type: "boolean",
      description: "do not restore automatically after expiry or a regional loss",
    },
    "restore-after-out-of-band-delete": {
      type: "boolean",
      description: "also restore automatically after someone deleted the material outside Tether",
    },
    ...IDEMPOTENCY_FLAG,
  },
  fieldFlags: FIELD_FLAGS,
  notes: [
    "Create:  tether keys register --region eu-west-1 --key-spec SYMMETRIC_DEFAULT --material-ref payments/k1 --generate",
    "Adopt:   tether keys register --adopt arn:aws:kms:eu-west-1:111122223333:key/… --material-ref payments/k1 --check-value kcv-aes:…",
    "With --adopt, the Region and key spec come from the key; --replica-region names replicas to manage.",
  ],
  async run(context, { flags }) {
    // The default Region is looked up only when creating without --region (adopting takes the key's).
    const needsRegion = stringFlag(flags, "adopt") === undefined && stringFlag(flags, "region") === undefined;
    const body = registerBody(flags, needsRegion ? await context.defaultRegion() : undefined);
    const parsed = RegisterKeyBody.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join(".") ?? "";
      const flag = FIELD_FLAGS[field] ?? FIELD_FLAGS[field.replace(/\.\d+$/, "")] ?? field;
      throw new UsageError(`${flag}: ${issue?.message ?? "invalid"}`, NAME);
    }
    const answer = await (await context.client()).request("POST", route("keys"), {
      body,
      idempotencyKey: context.idempotencyKey,
    });
    print(context, KeyActionResponse, answer, "POST /keys", (result) =>
      actionResult("Registered", result, { now: context.now(), color: context.color }),
    );
    return undefined;
  },
};

/**
 * The POST /keys body from the flags (only what was given).
 * @throws UsageError on a missing --material-ref, create-only flags with --adopt, a bad --tag
 */
export function registerBody(flags: FlagValues, defaultRegion?: string): Record<string, unknown> {
  const materialRef = required(stringFlag(flags, "material-ref"), "material-ref", NAME);
  const policy = policyFromFlags(flags, NAME);
  if (booleanFlag(flags, "no-restore-after-loss")) policy.restoreAfterLoss = false;
  if (booleanFlag(flags, "restore-after-out-of-band-delete")) policy.restoreAfterOutOfBandDelete = true;
  const common: Record<string, unknown> = { materialRef };
  const checkValue = stringFlag(flags, "check-value");
  if (checkValue !== undefined) common.checkValue = checkValue;
  if (Object.keys(policy).length > 0) common.policy = policy;
  const replicaRegions = listFlag(flags, "replica-region");

  const adopt = stringFlag(flags, "adopt");
  if (adopt !== undefined) {
    const misplaced = CREATE_ONLY.filter((name) => flags[name] !== undefined);
    if (misplaced.length > 0) {
      throw new UsageError(
        `${misplaced.map((n) => `--${n}`).join(", ")} cannot be used with --adopt (they come from the existing key)`,
        NAME,
      );
    }
    return {
      mode: "adopt",
      keyArn: adopt,
      ...(replicaRegions.length > 0 ? { replicaRegions } : {}),
      ...common,
    };
  }
  const body: Record<string, unknown> = {
    mode: "create",
    region: required(
      stringFlag(flags, "region") ?? defaultRegion,
      "region (or AWS_REGION, or a running npm start's endpoints.json)",
      NAME,
    ),
    keySpec: required(
      choiceFlag(flags, "key-spec", NAME, Object.values(KeySpec)),
      "key-spec (or --adopt ARN)",
      NAME,
    ),
  };
  const keyUsage = choiceFlag(flags, "key-usage", NAME, Object.values(KeyUsage));
  if (keyUsage !== undefined) body.keyUsage = keyUsage;
  if (booleanFlag(flags, "multi-region") || replicaRegions.length > 0) body.multiRegion = true;
  if (replicaRegions.length > 0) body.replicaRegions = replicaRegions;
  const alias = stringFlag(flags, "alias");
  if (alias !== undefined) body.alias = alias;
  const description = stringFlag(flags, "description");
  if (description !== undefined) body.description = description;
  const tags = listFlag(flags, "tag");
  if (tags.length > 0) body.tags = parseTags(tags);
  if (booleanFlag(flags, "generate")) body.generateMaterial = true;
  return { ...body, ...common };
}

function parseTags(tags: readonly string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const tag of tags) {
    const at = tag.indexOf("=");
    if (at <= 0) throw new UsageError(`--tag must be KEY=VALUE (got "${tag}")`, NAME);
    result[tag.slice(0, at)] = tag.slice(at + 1);
  }
  return result;
}
