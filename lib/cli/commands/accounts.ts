/** `tether accounts add|list|show|remove`: member accounts of a hub deployment (README, "Member accounts"). */
import type { z } from "zod";
import { AccountListResponse, AccountRemovedResponse, AccountResponse } from "../../api/schemas.js";
import { route } from "../client.js";
import type { CommandSpec } from "../command.js";
import { booleanFlag, required, stringFlag } from "../flags.js";
import { print } from "./output.js";

type Account = z.infer<typeof AccountListResponse>["items"][number];

const ACCOUNT_ARG = { name: "account-id", description: "the member account's 12-digit id" } as const;

/** One account, as lines: who it is and what the check on add found. */
function accountLines(account: Account): string[] {
  const { check } = account;
  const step = (s: Account["check"]["assumeRole"]) =>
    s.ok ? `ok${s.detail ? ` (${s.detail})` : ""}` : `refused: ${s.code}`;
  return [
    `${account.accountId}${account.name ? `  ${account.name}` : ""}`,
    `  role         ${account.roleArn}`,
    `  external id  ${account.externalId}`,
    `  added        ${account.addedAt} by ${account.addedBy}`,
    `  check        ${check.checkedAt}: assume role ${step(check.assumeRole)}${check.kms ? `; KMS ${step(check.kms)}` : ""}`,
    ...check.missing.map((m: string) => `  MISSING      ${m}`),
  ];
}

export const addAccountCommand: CommandSpec = {
  name: "add",
  group: "accounts",
  summary: "Register a member account (its member role and external id), checked on add",
  args: [],
  flags: {
    "role-arn": {
      type: "string",
      value: "ARN",
      description: "the member role, arn:aws:iam::<member>:role/<name> (required)",
    },
    "external-id": {
      type: "string",
      value: "ID",
      description: "the external id the member role's trust requires (required)",
    },
    name: { type: "string", value: "TEXT", description: "a label for the account" },
    "probe-key": {
      type: "string",
      value: "ARN",
      description: "a key of the member to DescribeKey on add (else: ListKeys)",
    },
    "require-check": {
      type: "boolean",
      description: "refuse instead of registering when the check finds something missing",
    },
  },
  fieldFlags: {
    roleArn: "--role-arn",
    externalId: "--external-id",
    name: "--name",
    probeKeyArn: "--probe-key",
  },
  notes: [
    "The member role comes from infra/member-account.yml (docs/deploy.md, Member accounts).",
    "Without --require-check a member whose check fails is registered anyway; MISSING lines say what to fix.",
  ],
  async run(context, { flags }) {
    const roleArn = required(stringFlag(flags, "role-arn"), "role-arn", "accounts add");
    const externalId = required(stringFlag(flags, "external-id"), "external-id", "accounts add");
    const name = stringFlag(flags, "name");
    const probeKeyArn = stringFlag(flags, "probe-key");
    const body = await (await context.client()).request("POST", route("accounts"), {
      body: {
        roleArn,
        externalId,
        ...(name === undefined ? {} : { name }),
        ...(probeKeyArn === undefined ? {} : { probeKeyArn }),
        ...(booleanFlag(flags, "require-check") ? { requireCheck: true } : {}),
      },
    });
    print(context, AccountResponse, body, "POST /accounts", (answer) =>
      ["Registered", ...accountLines(answer.account)].join("\n"),
    );
    return undefined;
  },
};

export const listAccountsCommand: CommandSpec = {
  name: "list",
  group: "accounts",
  summary: "List the member accounts and what their check on add found",
  args: [],
  flags: {},
  async run(context) {
    const body = await (await context.client()).request("GET", route("accounts"));
    print(context, AccountListResponse, body, "GET /accounts", (answer) =>
      answer.items.length === 0 ? "No member accounts." : answer.items.flatMap(accountLines).join("\n"),
    );
    return undefined;
  },
};

export const showAccountCommand: CommandSpec = {
  name: "show",
  group: "accounts",
  summary: "Show one member account",
  args: [ACCOUNT_ARG],
  flags: {},
  async run(context, { args }) {
    const [id = ""] = args;
    const body = await (await context.client()).request("GET", route("accounts", id));
    print(context, AccountResponse, body, "GET /accounts/{accountId}", (answer) =>
      accountLines(answer.account).join("\n"),
    );
    return undefined;
  },
};

export const removeAccountCommand: CommandSpec = {
  name: "remove",
  group: "accounts",
  summary: "Stop using a member account (its role and keys are left as they are)",
  args: [ACCOUNT_ARG],
  flags: {},
  async run(context, { args }) {
    const [id = ""] = args;
    const body = await (await context.client()).request("DELETE", route("accounts", id));
    print(
      context,
      AccountRemovedResponse,
      body,
      "DELETE /accounts/{accountId}",
      (answer) => `Removed ${answer.accountId}`,
    );
    return undefined;
  },
};

/** Every `tether accounts` command, in the order help lists them. */
export const ACCOUNT_COMMANDS: readonly CommandSpec[] = [
  addAccountCommand,
  listAccountsCommand,
  showAccountCommand,
  removeAccountCommand,
];
