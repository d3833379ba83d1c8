import type { SettingsReader } from "../../domain/settings.js";
import type { VaultAdapter } from "../adapter.js";

/**
 * Environment variables of the vault agent (TETHER_VAULT=agent, docs/agent.md): the functions hold no
 * material; an agent in the customer's network wraps it and answers through the API. Requests wait in the
 * deployment's table (TETHER_TABLE_NAME), signed with a KMS signing key of the deployment.
 */
export const AgentVaultEnv = {
  /** The KMS key (ARN) that signs requests: an asymmetric SIGN_VERIFY RSA key of the deployment. */
  SigningKey: "TETHER_AGENT_SIGNING_KEY",
  /** How long a function waits for an agent's answer (seconds, default 20: under API Gateway's 30 s). */
  TimeoutSeconds: "TETHER_AGENT_TIMEOUT_SECONDS",
  /** How often it looks for the answer (milliseconds, default 250). */
  PollMs: "TETHER_AGENT_POLL_MS",
} as const;

export interface AgentVaultSettings {
  readonly provider: "agent";
  readonly signingKeyArn: string;
  readonly signingRegion: string;
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly tableName: string;
  readonly deployment: string;
}

const SIGNING_KEY = /^arn:aws[a-z-]*:kms:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:(?:key|alias)\/[\w/-]+$/;

function positive(r: SettingsReader, name: string, fallback: number, max: number): number {
  const text = r.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > max) {
    r.problem(`${name}: not an integer from 1 to ${max}`);
    return fallback;
  }
  return value;
}

/** The settings of TETHER_VAULT=agent, checked without a call. */
function agentVaultSettings(r: SettingsReader): AgentVaultSettings {
  const signingKeyArn = r.read(
    AgentVaultEnv.SigningKey,
    SIGNING_KEY,
    "a KMS key or alias ARN (the deployment's request-signing key)",
  );
  return {
    provider: "agent",
    signingKeyArn,
    signingRegion: SIGNING_KEY.exec(signingKeyArn)?.[1] ?? "",
    timeoutMs: positive(r, AgentVaultEnv.TimeoutSeconds, 20, 900) * 1000,
    pollMs: positive(r, AgentVaultEnv.PollMs, 250, 10_000),
    tableName: r.read("TETHER_TABLE_NAME", /^[\w.-]{3,255}$/, "a DynamoDB table name"),
    deployment: r.env.TETHER_DEPLOYMENT ?? `tether/local/${r.env.AWS_REGION ?? ""}`,
  };
}

export const agentVaultAdapter: VaultAdapter<AgentVaultSettings> = {
  provider: "agent",
  plainSecrets: [],
  endpointOverrides: [],
  settings: agentVaultSettings,
};
