import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SettingsEnv } from "../../domain/settings.js";
import type { VaultOptions } from "../adapter.js";
import { DynamoAgentQueue } from "./agent-queue.js";
import { type AgentVault, agentVault } from "./agent-vault.js";
import type { AgentVaultSettings } from "./settings.js";

export { DynamoAgentQueue } from "./agent-queue.js";
export { AgentVault, kmsRequestSigner, type RequestSigner } from "./agent-vault.js";

/** The agent vault of a deployment, its queue in the deployment's table. */
export function agentVaultFromSettings(
  settings: AgentVaultSettings,
  env: SettingsEnv,
  options: VaultOptions = {},
): AgentVault {
  return agentVault(settings, env, options.clock, (tableName, endpoint) => {
    const client = new DynamoDBClient({ ...(endpoint === undefined ? {} : { endpoint }) });
    return new DynamoAgentQueue({ client, tableName });
  });
}
