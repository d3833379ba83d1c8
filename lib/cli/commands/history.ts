import { HistoryResponse, MAX_PAGE_SIZE } from "../../api/schemas.js";
import { route } from "../client.js";
import type { CommandSpec } from "../command.js";
import { integerFlag, stringFlag } from "../flags.js";
import { historyTable } from "../views.js";
import { print } from "./output.js";
import { ID_ARG } from "./show.js";

const NAME = "keys history";

export const historyCommand: CommandSpec = {
  name: "history",
  summary: "Show a key's audit history, newest first",
  args: [ID_ARG],
  flags: {
    limit: {
      type: "string",
      value: "N",
      description: `events per page, 1 to ${MAX_PAGE_SIZE} (API default 25)`,
    },
    "next-token": { type: "string", value: "T", description: "continue from a previous page" },
  },
  fieldFlags: { limit: "--limit", nextToken: "--next-token" },
  async run(context, { flags, args }) {
    const [id = ""] = args;
    const query = {
      limit: integerFlag(flags, "limit", NAME, { min: 1, max: MAX_PAGE_SIZE })?.toString(),
      nextToken: stringFlag(flags, "next-token"),
    };
    const body = await (await context.client()).request("GET", route("keys", id, "history"), { query });
    print(context, HistoryResponse, body, "GET /keys/{id}/history", (page) => {
      const table = historyTable(page.items, { now: context.now(), color: context.color });
      return page.nextToken === undefined ? table : `${table}\n\nMore: --next-token ${page.nextToken}`;
    });
    return undefined;
  },
};
