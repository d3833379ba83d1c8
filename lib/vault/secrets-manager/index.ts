export { assumedRoleCredentials, CREDENTIAL_REFRESH_MARGIN_MS } from "./assumed-role-credentials.js";
export {
  SecretsManagerVault,
  type SecretsManagerVaultOptions,
  SecretTag,
  secretsManagerVault,
} from "./secrets-manager-vault.js";
