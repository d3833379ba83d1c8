import { KeyListResponse, type KeyView, MAX_PAGE_SIZE } from "../../api/schemas.js";
import { KeyStatusState } from "../../domain/managed-key.js";
import { route } from "../client.js";
import type { CommandSpec } from "../command.js";
import { UsageError } from "../errors.js";
import { booleanFlag, choiceFlag, exclusive, integerFlag, stringFlag, timestampFlag } from "../flags.js";
import { keyListTable } from "../views.js";
import { parseAnswer, print } from "./output.js";

const NAME = "keys list";
/** `--all` stops after this many pages: a guard against a server that always answers with a next token. */
const MAX_PAGES = 1000;

/** `--account`: a 12-digit account id, refused here before any request. */
function accountFlag(flags: Parameters<typeof stringFlag>[0]): string | undefined {
  const raw = stringFlag(flags, "account");
  if (raw !== undefined && !/^\d{12}$/.test(raw)) {
    throw new UsageError(`--account must be a 12-digit AWS account id (got "${raw}")`, NAME);
  }
  return raw;
}

export const listCommand: CommandSpec = {
  name: "list",
  summary: "List managed keys, one row per Region",
  args: [],
  flags: {
    status: { type: "string", value: "STATE", description: "only keys that are active, paused or revoked" },
    "expiring-before": {
      type: "string",
      value: "ISO",
      description: "only keys with a Region whose ValidTo is before this time",
    },
    account: {
      type: "string",
      value: "ID",
      description: "only keys in this AWS account (12 digits: the deployment's own or a member's)",
    },
    limit: {
      type: "string",
      value: "N",
      description: `keys per page, 1 to ${MAX_PAGE_SIZE} (API default 25)`,
    },
    "next-token": { type: "string", value: "T", description: "continue from a previous page" },
    all: { type: "boolean", description: "follow next tokens and list every key" },
  },
  fieldFlags: {
    status: "--status",
    expiringBefore: "--expiring-before",
    account: "--account",
    limit: "--limit",
    nextToken: "--next-token",
  },
  async run(context, { flags }) {
    exclusive(flags, ["all", "next-token"], NAME);
    const query = {
      status: choiceFlag(flags, "status", NAME, Object.values(KeyStatusState)),
      expiringBefore: timestampFlag(flags, "expiring-before", NAME),
      account: accountFlag(flags),
      limit: integerFlag(flags, "limit", NAME, { min: 1, max: MAX_PAGE_SIZE })?.toString(),
      nextToken: stringFlag(flags, "next-token"),
    };
    const client = await context.client();
    if (!booleanFlag(flags, "all")) {
      const body = await client.request("GET", route("keys"), { query });
      print(context, KeyListResponse, body, "GET /keys", (page) => {
        const table = keyListTable(page.items, { now: context.now(), color: context.color });
        return page.nextToken === undefined ? table : `${table}\n\nMore: --next-token ${page.nextToken}`;
      });
      return undefined;
    }
    const items: KeyView[] = [];
    const rawItems: unknown[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await client.request("GET", route("keys"), { query: { ...query, nextToken } });
      const answer = parseAnswer(KeyListResponse, body, "GET /keys");
      items.push(...answer.items);
      rawItems.push(...((body as { items: unknown[] }).items ?? []));
      nextToken = answer.nextToken;
      if (nextToken === undefined) break;
    }
    if (context.json) context.out(JSON.stringify({ items: rawItems }, null, 2));
    else context.out(keyListTable(items, { now: context.now(), color: context.color }));
    return undefined;
  },
};
