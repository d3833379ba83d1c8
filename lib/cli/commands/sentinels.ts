import { SentinelsResponse } from "../../api/schemas.js";
import { route } from "../client.js";
import type { CommandSpec } from "../command.js";
import { sentinelsTable } from "../views.js";
import { print } from "./output.js";

export const sentinelsCommand: CommandSpec = {
  name: "sentinels",
  topLevel: true,
  summary:
    "Show each Region's sentinel key (the proof of a region-wide loss) as the last probe saw it, and any open regional-loss incident",
  args: [],
  flags: {},
  fieldFlags: {},
  async run(context) {
    const body = await (await context.client()).request("GET", route("sentinels"));
    print(context, SentinelsResponse, body, "GET /sentinels", (answer) =>
      sentinelsTable(answer.items, { now: context.now(), color: context.color }),
    );
    return undefined;
  },
};
