import { type CommandSpec, commandName, type FlagSpecs } from "./command.js";
import { EXIT_CODE_HELP } from "./exit-codes.js";
import { DEFAULT_API_URL, DEFAULT_REGION, LOCAL_ENDPOINTS_FILE } from "./settings.js";

/** Flags every command takes. */
export const GLOBAL_FLAGS: FlagSpecs = {
  "api-url": {
    type: "string",
    value: "URL",
    description: `the API (default: TETHER_API_URL, then "api" in ${LOCAL_ENDPOINTS_FILE}, then ${DEFAULT_API_URL})`,
  },
  region: {
    type: "string",
    value: "R",
    description: `the API's Region, for signing (default: AWS_REGION, then the local stack's home Region when the API comes from its endpoints file, then ${DEFAULT_REGION}); in register: the key's Region`,
  },
  "api-region": { type: "string", value: "R", description: "the API's Region for signing, in every command" },
  profile: {
    type: "string",
    value: "NAME",
    description: "AWS profile to sign with (default: the standard chain)",
  },
  timeout: {
    type: "string",
    value: "SECONDS",
    description: "give up waiting for the API after this long (default 60)",
  },
  json: { type: "boolean", description: "print the API's JSON answer as is (for scripts)" },
  help: { type: "boolean", short: "h", description: "show help" },
};

function flagLines(flags: FlagSpecs): string[] {
  const entries = Object.entries(flags).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : "";
    const value = spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : "";
    const repeat = spec.multiple ? " ..." : "";
    return [`${short}--${name}${value}${repeat}`, spec.description] as const;
  });
  const width = Math.max(...entries.map(([usage]) => usage.length));
  return entries.map(([usage, description]) => `  ${usage.padEnd(width)}  ${description}`);
}

/** `tether keys <command> --help`. */
export function commandHelp(spec: CommandSpec): string {
  const args = spec.args.map((arg) => ` <${arg.name}>`).join("");
  const lines = [`Usage: tether ${commandName(spec)}${args} [options]`, "", spec.summary, ""];
  for (const arg of spec.args) lines.push(`  <${arg.name}>  ${arg.description}`);
  if (spec.args.length > 0) lines.push("");
  if (Object.keys(spec.flags).length > 0) lines.push("Options:", ...flagLines(spec.flags), "");
  const globals = Object.fromEntries(Object.entries(GLOBAL_FLAGS).filter(([name]) => !(name in spec.flags)));
  lines.push("Global options:", ...flagLines(globals));
  if (spec.notes && spec.notes.length > 0) lines.push("", ...spec.notes);
  return lines.join("\n");
}

/** `tether keys --help` (or another group's): the commands. */
export function keysHelp(commands: readonly CommandSpec[], group = "keys"): string {
  const width = Math.max(...commands.map((spec) => spec.name.length));
  return [
    `Usage: tether ${group} <command> [options]`,
    "",
    "Commands:",
    ...commands.map((spec) => `  ${spec.name.padEnd(width)}  ${spec.summary}`),
    "",
    `Run \`tether ${group} <command> --help\` for a command's options.`,
  ].join("\n");
}

/** `tether --help`: commands, global options, credentials and the exit codes scripts can rely on. */
export function topHelp(commands: readonly CommandSpec[]): string {
  return [
    "tether — operate Tether, the keeper of AWS KMS keys with imported key material",
    "",
    keysHelp(commands),
    "",
    "Usage: tether ops list|show|approve|deny [options]",
    "  Dual control: operation requests waiting for (or run with) a second admin's approval",
    "",
    "Usage: tether accounts <add|list|show|remove> [options]",
    "  Member accounts of a hub deployment: register (checked on add), list, show, remove",
    "",
    "Usage: tether sentinels [options]",
    "  Each Region's sentinel key as the last probe saw it, and any open regional-loss incident",
    "",
    "Usage: tether console [--port N]",
    "  Serve the web console on 127.0.0.1 until Ctrl-C; open the URL it prints",
    "",
    "Usage: tether report [--format csv|json|html] [-o FILE] [--since ISO|DURATION] [options]",
    "  The inventory for auditors: every managed key and Region, the period's events, open findings",
    "",
    "Global options:",
    ...flagLines(GLOBAL_FLAGS),
    "",
    "Requests are signed with SigV4 (service execute-api) using the standard AWS credential chain",
    "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, instance roles, ...). For the local stack,",
    "`npm start` prints credentials to export. Results go to stdout, messages to stderr.",
    "",
    "Exit codes:",
    ...EXIT_CODE_HELP.map(([code, meaning]) => `  ${code}  ${meaning}`),
  ].join("\n");
}
