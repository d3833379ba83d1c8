import type { SettingsReader } from "../../domain/settings.js";
import type { VaultAdapter } from "../adapter.js";

/** Environment variables of the Secrets Manager vault (material in another account, behind a role). */
export const SecretsManagerVaultEnv = {
  RoleArn: "TETHER_SM_ROLE_ARN",
  ExternalId: "TETHER_SM_EXTERNAL_ID",
  Region: "TETHER_SM_REGION",
  SecretPrefix: "TETHER_SM_SECRET_PREFIX",
  SessionName: "TETHER_SM_SESSION_NAME",
  Endpoint: "TETHER_SM_ENDPOINT",
  StsEndpoint: "TETHER_SM_STS_ENDPOINT",
} as const;

/**
 * What a function may do with the vault account's secrets: kms-events only reads; the api (registration)
 * and the sweep (scheduled rotations make new material) also create. Nothing overwrites or deletes.
 */
export type SecretsManagerVaultAccess = "read" | "read-create";

export interface SecretsManagerVaultSettings {
  readonly provider: "secrets-manager";
  readonly roleArn: string;
  readonly externalId: string;
  readonly region: string;
  /** Prepended to a material reference to make the secret's name, e.g. `tether/` + `team/key-1`. */
  readonly secretPrefix: string;
  /** The role session's name: the function's name unless TETHER_SM_SESSION_NAME says otherwise. */
  readonly sessionName: string;
  /** AssumeRole's SourceIdentity, the function's name: the vault account's CloudTrail names it on every call. */
  readonly sourceIdentity: string;
  /** The session policy's scope for this function. */
  readonly access: SecretsManagerVaultAccess;
  readonly endpoint?: string;
  readonly stsEndpoint?: string;
}

/** The name a process outside Lambda (tests, scripts) gives its vault sessions. */
export const LOCAL_VAULT_IDENTITY = "tether-local";

/**
 * Which function this is, from the name Lambda gives it (AWS_LAMBDA_FUNCTION_NAME, `tether-<stage>-<fn>`), and
 * so what it may do in the vault. Outside Lambda (tests, scripts) the process is the operator's own: it may
 * read and create, as `tether-local`. A Lambda name that is none of Tether's functions is refused rather than
 * guessed at.
 */
function vaultIdentity(
  functionName: string | undefined,
): { functionName: string; access: SecretsManagerVaultAccess } | { problem: string } {
  if (functionName === undefined || functionName === "") {
    return { functionName: LOCAL_VAULT_IDENTITY, access: "read-create" };
  }
  // STS: RoleSessionName and SourceIdentity take 2 to 64 of [\w+=,.@-]; Lambda names are [\w-], up to 64.
  if (/^[\w-]{2,64}$/.test(functionName)) {
    if (functionName.endsWith("-kms-events")) return { functionName, access: "read" };
    // sweep-partition does the sweep's work for one account-Region (scheduled key swaps included).
    if (
      functionName.endsWith("-api") ||
      functionName.endsWith("-sweep") ||
      functionName.endsWith("-sweep-partition")
    ) {
      return { functionName, access: "read-create" };
    }
  }
  return {
    problem: `AWS_LAMBDA_FUNCTION_NAME: "${functionName}" is not one of Tether's functions (<service>-<stage>-api, -sweep, -sweep-partition or -kms-events), so its vault access cannot be chosen`,
  };
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const SECRET_PREFIX = /^[A-Za-z0-9/_+=.@-]{0,256}$/;

/** The settings of TETHER_VAULT=secrets-manager, checked without calls. */
function secretsManagerVaultSettings(r: SettingsReader): SecretsManagerVaultSettings {
  const s = SecretsManagerVaultEnv;
  const endpoint = r.url(s.Endpoint, false);
  const stsEndpoint = r.url(s.StsEndpoint, false);
  const identity = vaultIdentity(r.env.AWS_LAMBDA_FUNCTION_NAME);
  if ("problem" in identity) r.problem(identity.problem);
  const functionName = "problem" in identity ? "" : identity.functionName;
  return {
    provider: "secrets-manager",
    roleArn: r.read(s.RoleArn, ROLE_ARN, "an IAM role ARN (arn:aws:iam::<account>:role/<name>)"),
    externalId: r.read(s.ExternalId, EXTERNAL_ID, "an external id (2 to 1224 characters)"),
    region: r.read(s.Region, REGION, "an AWS Region such as eu-west-1", r.env.AWS_REGION),
    secretPrefix: r.read(s.SecretPrefix, SECRET_PREFIX, "a secret name prefix", "tether/"),
    sessionName: r.read(s.SessionName, SESSION_NAME, "a role session name", functionName),
    sourceIdentity: functionName,
    access: "problem" in identity ? "read" : identity.access,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(stsEndpoint === undefined ? {} : { stsEndpoint }),
  };
}

export const secretsManagerVaultAdapter: VaultAdapter<SecretsManagerVaultSettings> = {
  provider: "secrets-manager",
  // No secret of its own: the function's role assumes the vault account's role.
  plainSecrets: [],
  endpointOverrides: [SecretsManagerVaultEnv.Endpoint, SecretsManagerVaultEnv.StsEndpoint],
  settings: secretsManagerVaultSettings,
};
