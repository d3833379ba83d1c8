export { awsIamLoginBody, GET_CALLER_IDENTITY_BODY, VAULT_SERVER_ID_HEADER } from "./aws-iam-login.js";
export {
  awsIamToken,
  HashiCorpVault,
  hashiCorpVault,
  staticToken,
  type VaultTokenSource,
} from "./hashicorp-vault.js";
