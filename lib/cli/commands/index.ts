import type { CommandSpec } from "../command.js";
import { ACCOUNT_COMMANDS } from "./accounts.js";
import { reimportCommand, restoreCommand, revokeCommand, rotateCommand, unmanageCommand } from "./actions.js";
import { adoptCommand } from "./adopt.js";
import { agentCommand } from "./agent.js";
import { consoleCommand } from "./console.js";
import { historyCommand } from "./history.js";
import { listCommand } from "./list.js";
import { OPS_COMMANDS } from "./ops.js";
import { policyCommand } from "./policy.js";
import { registerCommand } from "./register.js";
import { reportCommand } from "./report.js";
import { sentinelsCommand } from "./sentinels.js";
import { showCommand } from "./show.js";

/** Every `tether keys` command, in the order help lists them. */
export const KEY_COMMANDS: readonly CommandSpec[] = [
  listCommand,
  showCommand,
  registerCommand,
  adoptCommand,
  reimportCommand,
  revokeCommand,
  restoreCommand,
  rotateCommand,
  policyCommand,
  historyCommand,
  unmanageCommand,
];

/** Every group of commands (`tether <group> <command>`). */
export const COMMAND_GROUPS: Readonly<Record<string, readonly CommandSpec[]>> = {
  keys: KEY_COMMANDS,
  ops: OPS_COMMANDS,
  accounts: ACCOUNT_COMMANDS,
};

/** Commands outside `tether keys`. */
export const TOP_LEVEL_COMMANDS: readonly CommandSpec[] = [
  sentinelsCommand,
  reportCommand,
  consoleCommand,
  agentCommand,
];
