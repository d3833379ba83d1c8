/** `tether ops list|show|approve|deny`: dual control's operation requests (README, "Dual control"). */
import type { z } from "zod";
import {
  MAX_PAGE_SIZE,
  MAX_REASON_LENGTH,
  OperationAcceptedResponse,
  OperationListResponse,
  OperationResponse,
  type OperationView,
} from "../../api/schemas.js";
import { route } from "../client.js";
import type { CommandSpec } from "../command.js";
import type { CliContext } from "../context.js";
import { UsageError } from "../errors.js";
import { integerFlag, required, stringFlag, textFlag } from "../flags.js";
import { renderTable } from "../render.js";
import { print } from "./output.js";

type Operation = z.infer<typeof OperationView>;

const OPERATION_ARG = { name: "id", description: "the operation request's id (op-…)" } as const;
const REASON_FLAG = {
  type: "string",
  value: "TEXT",
  description: `why (required; recorded in the audit trail with your identity, at most ${MAX_REASON_LENGTH} characters)`,
} as const;

/** One request, for people. */
export function operationText(op: Operation): string {
  const lines = [
    `${op.id}  ${op.operation} of ${op.keyId}${op.emergency ? " (EMERGENCY)" : ""}`,
    `  state:     ${op.state}`,
    `  asked by:  ${op.requestedBy} at ${op.createdAt}: ${op.reason}`,
    `  quorum:    ${op.quorum} people (requester + ${op.approvalsCounted} approval(s) counted)`,
    `  ${op.emergency ? "confirm by" : "expires:  "} ${op.expiresAt}`,
  ];
  if (op.weakenings !== undefined) lines.push(`  weakens:   ${op.weakenings.join(", ")}`);
  for (const a of op.approvals) lines.push(`  approved:  ${a.by} at ${a.at}: ${a.reason}`);
  if (op.denial !== undefined)
    lines.push(`  denied:    ${op.denial.by} at ${op.denial.at}: ${op.denial.reason}`);
  if (op.errorName !== undefined) lines.push(`  failed:    ${op.errorName}`);
  return lines.join("\n");
}

/**
 * A destructive command's answer: a 202 (dual control held it back) prints the request and how another
 * admin approves it; anything else is printed by `human`.
 * @returns whether the answer was a held request
 */
export function printHeld(context: CliContext, body: unknown): boolean {
  const held = OperationAcceptedResponse.safeParse(body);
  if (!held.success) return false;
  if (context.json) {
    context.out(JSON.stringify(body, null, 2));
    return true;
  }
  const { operation } = held.data;
  context.out(
    [
      `Held for approval: ${operation.operation} needs ${operation.quorum} people. Nothing was done yet.`,
      "",
      operationText(operation),
      "",
      `Another admin approves with:  tether ops approve ${operation.id} --reason "…"`,
      `(${held.data.approve}); or denies with:  tether ops deny ${operation.id} --reason "…"`,
    ].join("\n"),
  );
  return true;
}

function reasonOf(flags: Parameters<CommandSpec["run"]>[1]["flags"], command: string): string {
  const reason = required(textFlag(flags, "reason", command), "reason", command);
  if (reason.length > MAX_REASON_LENGTH) {
    throw new UsageError(`--reason must be at most ${MAX_REASON_LENGTH} characters`, command);
  }
  return reason;
}

export const opsListCommand: CommandSpec = {
  name: "list",
  group: "ops",
  summary: "List operation requests (dual control), newest first",
  args: [],
  flags: {
    state: {
      type: "string",
      value: "STATE",
      description: "only pending, approved, executed, failed, denied, expired, unconfirmed or confirmed",
    },
    limit: { type: "string", value: "N", description: `requests per page, 1 to ${MAX_PAGE_SIZE}` },
    "next-token": { type: "string", value: "T", description: "continue from a previous page" },
  },
  fieldFlags: { state: "--state", limit: "--limit", nextToken: "--next-token" },
  async run(context, { flags }) {
    const query = {
      state: stringFlag(flags, "state"),
      limit: integerFlag(flags, "limit", "ops list", { min: 1, max: MAX_PAGE_SIZE })?.toString(),
      nextToken: stringFlag(flags, "next-token"),
    };
    const body = await (await context.client()).request("GET", route("operations"), { query });
    print(context, OperationListResponse, body, "GET /operations", (page) => {
      if (page.items.length === 0) return "No operation requests.";
      const rows = page.items.map((op) => [
        op.id,
        op.operation,
        op.keyId,
        op.state,
        `${1 + op.approvalsCounted}/${op.quorum}`,
        op.requestedBy,
        op.expiresAt,
      ]);
      const table = renderTable(
        ["ID", "OPERATION", "KEY", "STATE", "PEOPLE", "ASKED BY", "EXPIRES"],
        rows,
        context.color,
      );
      return page.nextToken === undefined ? table : `${table}\n\nMore: --next-token ${page.nextToken}`;
    });
    return undefined;
  },
};

export const opsShowCommand: CommandSpec = {
  name: "show",
  group: "ops",
  summary: "Show one operation request: what, who asked and why, approvals, where it stands",
  args: [OPERATION_ARG],
  flags: {},
  async run(context, { args }) {
    const [id = ""] = args;
    const body = await (await context.client()).request("GET", route("operations", id));
    print(context, OperationResponse, body, "GET /operations/{id}", (a) => operationText(a.operation));
    return undefined;
  },
};

function decisionCommand(action: "approve" | "deny", summary: string, notes: string[]): CommandSpec {
  return {
    name: action,
    group: "ops",
    summary,
    args: [OPERATION_ARG],
    flags: { reason: REASON_FLAG },
    fieldFlags: { reason: "--reason" },
    notes,
    async run(context, { flags, args }) {
      const [id = ""] = args;
      const reason = reasonOf(flags, `ops ${action}`);
      const body = await (await context.client()).request("POST", route("operations", id, action), {
        body: { reason },
        idempotencyKey: false, // the route refuses one (a person's approval counts once anyway)
      });
      print(context, OperationResponse, body, `POST /operations/{id}/${action}`, (a) =>
        operationText(a.operation),
      );
      return undefined;
    },
  };
}

export const opsApproveCommand = decisionCommand(
  "approve",
  "Approve a pending request (not your own); the approval that makes the quorum runs it",
  [
    "Sessions of one IAM role count as one person unless the deployment maps session names to people.",
    "On an unconfirmed emergency revoke, approving confirms it.",
  ],
);

export const opsDenyCommand = decisionCommand("deny", "Deny a pending request: it never runs", [
  "The requester may withdraw their own request this way.",
]);

export const OPS_COMMANDS: readonly CommandSpec[] = [
  opsListCommand,
  opsShowCommand,
  opsApproveCommand,
  opsDenyCommand,
];
