/** Member accounts of a hub deployment (README, "Member accounts"): register (checked on add), list, show, remove. */
import {
  addMemberAccount,
  listMemberAccounts,
  removeMemberAccount,
  showMemberAccount,
} from "../../lifecycle/use-cases/accounts.js";
import { Access, defineRoute } from "../route.js";
import { accountView } from "../views.js";

export const listAccountsRoute = defineRoute({
  method: "GET",
  path: "/accounts",
  operationId: "listAccounts",
  summary: "The registered member accounts, each with its role, external id and the check made on add.",
  access: Access.Read,
  response: { status: 200, description: "The member accounts", schema: (s) => s.AccountListResponse },
  errors: [400, 403],
  async handle({ deps }) {
    return { status: 200, body: { items: (await listMemberAccounts(deps)).map(accountView) } };
  },
});

export const addAccountRoute = defineRoute({
  method: "POST",
  path: "/accounts",
  operationId: "addAccount",
  summary:
    "Register a member account: its member role (infra/member-account.yml) and external id. Checked on add: the role is assumed, then the probe key described (or keys listed); `check.missing` says what is missing.",
  access: Access.Admin,
  body: (s) => s.AddAccountBody,
  bodyRequired: true,
  response: {
    status: 201,
    description: "The registered account and its check",
    schema: (s) => s.AccountResponse,
  },
  errors: [400, 403, 409, 413, 415],
  async handle({ deps, body, caller, requestId }) {
    const account = await addMemberAccount(deps, body, caller, requestId);
    return { status: 201, body: { account: accountView(account) } };
  },
});

export const showAccountRoute = defineRoute({
  method: "GET",
  path: "/accounts/{accountId}",
  operationId: "showAccount",
  summary: "One member account.",
  access: Access.Read,
  response: { status: 200, description: "The account", schema: (s) => s.AccountResponse },
  errors: [400, 403, 404],
  async handle({ deps, params }) {
    return {
      status: 200,
      body: { account: accountView(await showMemberAccount(deps, params.accountId ?? "")) },
    };
  },
});

export const removeAccountRoute = defineRoute({
  method: "DELETE",
  path: "/accounts/{accountId}",
  operationId: "removeAccount",
  summary: "Stop using a member account (its role and keys are left as they are).",
  access: Access.Admin,
  response: { status: 200, description: "Removed", schema: (s) => s.AccountRemovedResponse },
  errors: [400, 403, 404],
  async handle({ deps, params, caller, requestId }) {
    const accountId = params.accountId ?? "";
    await removeMemberAccount(deps, accountId, caller, requestId);
    return { status: 200, body: { accountId, removed: true } };
  },
});
