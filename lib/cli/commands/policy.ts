import { PolicyResponse } from "../../api/schemas.js";
import { route } from "../client.js";
import type { CommandSpec } from "../command.js";
import { UsageError } from "../errors.js";
import { booleanFlag, exclusive, required, textFlag, trueFalseFlag } from "../flags.js";
import { keyFields } from "../views.js";
import { printHeld } from "./ops.js";
import { print } from "./output.js";
import { POLICY_FIELD_FLAGS, POLICY_FLAGS, policyFromFlags } from "./policy-flags.js";
import { ID_ARG } from "./show.js";

const NAME = "keys policy";

export const policyCommand: CommandSpec = {
  name: "policy",
  summary: "Change a key's import policy, or pause / resume its automatic actions",
  args: [ID_ARG],
  flags: {
    ...POLICY_FLAGS,
    "restore-after-loss": {
      type: "string",
      value: "true|false",
      description: "restore automatically after expiry or a regional loss",
    },
    "restore-after-out-of-band-delete": {
      type: "string",
      value: "true|false",
      description: "restore automatically after a deletion outside Tether",
    },
    pause: {
      type: "boolean",
      description: "pause automatic actions (Tether keeps watching); needs --reason",
    },
    resume: { type: "boolean", description: "resume automatic actions; needs --reason" },
    reason: {
      type: "string",
      value: "TEXT",
      description:
        "why you pause or resume, or change the policy (audited; needed where dual control holds the change)",
    },
  },
  fieldFlags: { ...POLICY_FIELD_FLAGS, paused: "--pause/--resume", reason: "--reason" },
  notes: [
    "Only the given fields change; the rest of the policy stays. Every Region is re-checked at the next sweep.",
    "Under dual control a pause or a weakening change is held for another admin's approval: the request id is printed.",
  ],
  async run(context, { flags, args }) {
    const [id = ""] = args;
    exclusive(flags, ["pause", "resume"], NAME);
    const body: Record<string, unknown> = { ...policyFromFlags(flags, NAME, { rotateEveryNone: true }) };
    // `none` ends the rotation schedule (the API's null).
    if (flags["rotate-every"] === "none") body.rotateEvery = null;
    const restoreAfterLoss = trueFalseFlag(flags, "restore-after-loss", NAME);
    if (restoreAfterLoss !== undefined) body.restoreAfterLoss = restoreAfterLoss;
    const restoreAfterOutOfBandDelete = trueFalseFlag(flags, "restore-after-out-of-band-delete", NAME);
    if (restoreAfterOutOfBandDelete !== undefined)
      body.restoreAfterOutOfBandDelete = restoreAfterOutOfBandDelete;
    const reason = textFlag(flags, "reason", NAME);
    if (booleanFlag(flags, "pause") || booleanFlag(flags, "resume")) {
      body.paused = booleanFlag(flags, "pause");
      body.reason = required(reason, "reason", NAME);
    } else if (reason !== undefined) {
      // A policy change's why: recorded, and required where dual control holds a weakening back.
      body.reason = reason;
    }
    if (Object.keys(body).filter((k) => k !== "reason").length === 0) {
      throw new UsageError("nothing to change: give a policy flag, --pause or --resume", NAME);
    }
    const answer = await (await context.client()).request("PATCH", route("keys", id, "policy"), { body });
    if (printHeld(context, answer)) return undefined;
    print(
      context,
      PolicyResponse,
      answer,
      "PATCH /keys/{id}/policy",
      ({ key }) => `Updated ${key.id}\n\n${keyFields(key, { now: context.now(), color: context.color })}`,
    );
    return undefined;
  },
};
