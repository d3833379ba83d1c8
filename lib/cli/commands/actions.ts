import { KeyActionResponse, MAX_REASON_LENGTH, RotateResponse, UnmanageResponse } from "../../api/schemas.js";
import { route } from "../client.js";
import { type CommandSpec, IDEMPOTENCY_FLAG } from "../command.js";
import { UsageError } from "../errors.js";
import { required, textFlag } from "../flags.js";
import { actionResult, rotationResult } from "../views.js";
import { printHeld } from "./ops.js";
import { print } from "./output.js";
import { ID_ARG } from "./show.js";

const REASON_FLAG = {
  type: "string",
  value: "TEXT",
  description: `why (required; recorded in the audit trail with your identity, at most ${MAX_REASON_LENGTH} characters)`,
} as const;

function reasonOf(flags: Parameters<CommandSpec["run"]>[1]["flags"], command: string): string {
  const reason = required(textFlag(flags, "reason", command), "reason", command);
  if (reason.length > MAX_REASON_LENGTH) {
    throw new UsageError(`--reason must be at most ${MAX_REASON_LENGTH} characters`, command);
  }
  return reason;
}

export const reimportCommand: CommandSpec = {
  name: "reimport",
  summary: "Re-import the material now in every Region, moving ValidTo forward",
  args: [ID_ARG],
  flags: { ...IDEMPOTENCY_FLAG },
  async run(context, { args }) {
    const [id = ""] = args;
    const body = await (await context.client()).request("POST", route("keys", id, "reimport"), {
      body: {},
      idempotencyKey: context.idempotencyKey,
    });
    print(context, KeyActionResponse, body, "POST /keys/{id}/reimport", (result) =>
      actionResult("Re-imported", result, { now: context.now(), color: context.color }),
    );
    return undefined;
  },
};

export const revokeCommand: CommandSpec = {
  name: "revoke",
  summary: "Revoke (the kill switch): delete the material in every Region and stop all re-imports",
  args: [ID_ARG],
  flags: {
    reason: REASON_FLAG,
    emergency: {
      type: "boolean",
      description:
        "break glass: revoke now, another admin confirms afterwards (where the deployment allows it)",
    },
    ...IDEMPOTENCY_FLAG,
  },
  fieldFlags: { reason: "--reason", emergency: "--emergency" },
  notes: [
    "Revoking twice is safe. Decryption with the key fails until `tether keys restore`.",
    "Under dual control the revoke is held until another admin approves (`tether ops approve <id>`); the request id is printed.",
  ],
  async run(context, { flags, args }) {
    const [id = ""] = args;
    const reason = reasonOf(flags, "keys revoke");
    const emergency = flags.emergency === true;
    const body = await (await context.client()).request("POST", route("keys", id, "revoke"), {
      body: emergency ? { reason, emergency } : { reason },
      idempotencyKey: context.idempotencyKey,
    });
    if (printHeld(context, body)) return undefined;
    print(context, KeyActionResponse, body, "POST /keys/{id}/revoke", (result) =>
      actionResult("Revoked", result, { now: context.now(), color: context.color }),
    );
    return undefined;
  },
};

export const restoreCommand: CommandSpec = {
  name: "restore",
  summary: "Restore: make a revoked key active again and import missing material in every Region",
  args: [ID_ARG],
  flags: { reason: REASON_FLAG, ...IDEMPOTENCY_FLAG },
  fieldFlags: { reason: "--reason" },
  async run(context, { flags, args }) {
    const [id = ""] = args;
    const reason = reasonOf(flags, "keys restore");
    const body = await (await context.client()).request("POST", route("keys", id, "restore"), {
      body: { reason },
      idempotencyKey: context.idempotencyKey,
    });
    print(context, KeyActionResponse, body, "POST /keys/{id}/restore", (result) =>
      actionResult("Restored", result, { now: context.now(), color: context.color }),
    );
    return undefined;
  },
};

export const rotateCommand: CommandSpec = {
  name: "rotate",
  summary: "Rotate a symmetric key's material on demand: new material from the vault, in every Region",
  args: [ID_ARG],
  flags: { reason: REASON_FLAG, ...IDEMPOTENCY_FLAG },
  fieldFlags: { reason: "--reason" },
  notes: [
    "Older material stays for decryption and keeps being renewed. AWS allows 25 rotations per key.",
    "Asymmetric and HMAC keys cannot rotate inside the key (409): they need a key swap.",
    "Repeating the command finishes a rotation that was interrupted.",
  ],
  async run(context, { flags, args }) {
    const [id = ""] = args;
    const reason = reasonOf(flags, "keys rotate");
    const body = await (await context.client()).request("POST", route("keys", id, "rotate"), {
      body: { reason },
      idempotencyKey: context.idempotencyKey,
    });
    if (printHeld(context, body)) return undefined;
    print(context, RotateResponse, body, "POST /keys/{id}/rotate", (result) =>
      rotationResult(result, { now: context.now(), color: context.color }),
    );
    return undefined;
  },
};

export const unmanageCommand: CommandSpec = {
  name: "unmanage",
  summary: "Stop managing a key; the KMS key and its material are left as they are",
  args: [ID_ARG],
  flags: {
    reason: {
      type: "string",
      value: "TEXT",
      description: "why (audited; needed where dual control holds the unmanage for approval)",
    },
  },
  fieldFlags: { reason: "--reason" },
  async run(context, { flags, args }) {
    const [id = ""] = args;
    const reason = textFlag(flags, "reason", "keys unmanage");
    const body = await (await context.client()).request("DELETE", route("keys", id), {
      ...(reason === undefined ? {} : { body: { reason } }),
    });
    if (printHeld(context, body)) return undefined;
    print(
      context,
      UnmanageResponse,
      body,
      "DELETE /keys/{id}",
      (result) => `No longer managing ${result.id} (${result.keyArn}); the KMS key is unchanged.`,
    );
    return undefined;
  },
};
