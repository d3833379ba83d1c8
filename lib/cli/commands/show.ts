import { KeyDetailResponse } from "../../api/schemas.js";
import { route } from "../client.js";
import type { CommandSpec } from "../command.js";
import { keyDetail } from "../views.js";
import { print } from "./output.js";

export const ID_ARG = {
  name: "id",
  description: "the key: Tether id (tk_…), key ARN, or alias (alias/name)",
} as const;

export const showCommand: CommandSpec = {
  name: "show",
  summary: "Show a key: its record, each Region's state in KMS, and Tether's next action",
  args: [ID_ARG],
  flags: {},
  async run(context, { args }) {
    const [id = ""] = args;
    const body = await (await context.client()).request("GET", route("keys", id));
    print(context, KeyDetailResponse, body, "GET /keys/{id}", (detail) =>
      keyDetail(detail, { now: context.now(), color: context.color }),
    );
    return undefined;
  },
};
