/**
 * `tether agent run`: the vault agent (docs/agent.md), a long-running process in the customer's network that
 * polls Tether's API and wraps with a local vault; `tether agent status`: the agents' health as the API sees it.
 */
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { AgentHealthResponse } from "../../api/schemas.js";
import {
  type AgentPolicy,
  DEFAULT_AGENT_CLOCK_SKEW_MS,
  DEFAULT_AGENT_MAX_LIFETIME_MS,
  replayWindowMs,
} from "../../domain/agent-protocol.js";
import { route } from "../client.js";
import type { CommandSpec, FlagValues } from "../command.js";
import type { CliContext } from "../context.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { listFlag, stringFlag } from "../flags.js";
import { print } from "./output.js";

const NAME = "agent";

/** A flag's values, else the comma-separated environment variable. */
function listOf(flags: FlagValues, flag: string, variable: string): string[] {
  const given = listFlag(flags, flag);
  if (given.length > 0) return given;
  return (process.env[variable] ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v !== "");
}

function required(values: string[], flag: string, variable: string): string[] {
  if (values.length === 0) throw new UsageError(`--${flag} (or ${variable}) is required`, NAME);
  return values;
}

async function policyOf(flags: FlagValues): Promise<AgentPolicy> {
  return {
    deployments: required(
      listOf(flags, "deployment", "TETHER_AGENT_DEPLOYMENTS"),
      "deployment",
      "TETHER_AGENT_DEPLOYMENTS",
    ),
    materialPrefixes: required(
      listOf(flags, "material-prefix", "TETHER_AGENT_MATERIAL_PREFIXES"),
      "material-prefix",
      "TETHER_AGENT_MATERIAL_PREFIXES",
    ),
    accounts: required(listOf(flags, "account", "TETHER_AGENT_ACCOUNTS"), "account", "TETHER_AGENT_ACCOUNTS"),
    regions: required(
      listOf(flags, "key-region", "TETHER_AGENT_REGIONS"),
      "key-region",
      "TETHER_AGENT_REGIONS",
    ),
    maxLifetimeMs: DEFAULT_AGENT_MAX_LIFETIME_MS,
    clockSkewMs: DEFAULT_AGENT_CLOCK_SKEW_MS,
  };
}

async function run(context: CliContext, flags: FlagValues): Promise<ExitCode> {
  const policy = await policyOf(flags);
  const keyFiles = required(
    listOf(flags, "public-key", "TETHER_AGENT_PUBLIC_KEYS"),
    "public-key",
    "TETHER_AGENT_PUBLIC_KEYS",
  );
  const { parsePublicKey, VaultAgent } = await import("../../agent/agent.js");
  const { AgentLog } = await import("../../agent/agent-log.js");
  const publicKeys = await Promise.all(
    keyFiles.map(async (file) => {
      try {
        return parsePublicKey(await readFile(file, "utf8"));
      } catch (error) {
        throw new UsageError(`--public-key ${file}: not a readable PEM or base64 DER public key`, NAME, {
          cause: error,
        });
      }
    }),
  );
  if (process.env.TETHER_VAULT === "agent") {
    throw new UsageError(
      "TETHER_VAULT names the agent's own backend (file, hashicorp, pkcs11), not agent",
      NAME,
    );
  }
  const { vaultFromEnv, withVaultSecret } = await import("../../vault/from-config.js");
  const backend = vaultFromEnv(await withVaultSecret(process.env));
  const logFile = stringFlag(flags, "log") ?? process.env.TETHER_AGENT_LOG ?? "tether-agent.log";
  const name = stringFlag(flags, "name") ?? process.env.TETHER_AGENT_NAME ?? hostname();
  const agent = new VaultAgent({
    api: await context.client(),
    name,
    backend,
    publicKeys,
    policy,
    log: await AgentLog.open(logFile, replayWindowMs(policy), new Date()),
    report: (line) => context.err(`${new Date().toISOString()} ${line}`),
  });
  const controller = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => controller.abort());
  context.err(
    `tether agent ${name}: serving ${policy.deployments.join(", ")} (material under ${policy.materialPrefixes.join(", ")}) with the ${backend.kind} vault; log ${logFile}`,
  );
  const pollMs = Number(stringFlag(flags, "poll-ms") ?? process.env.TETHER_AGENT_POLL_INTERVAL_MS ?? "1000");
  await agent.run(controller.signal, Number.isFinite(pollMs) && pollMs >= 50 ? pollMs : 1000);
  context.err(
    `tether agent ${name}: stopped (${agent.counts.answered} answered, ${agent.counts.refused} refused)`,
  );
  return ExitCode.Ok;
}

export const agentCommand: CommandSpec = {
  name: NAME,
  topLevel: true,
  summary: "Run a vault agent (`run`), or show the vault agents' health (`status`)",
  args: [{ name: "action", description: "run | status" }],
  flags: {
    name: { type: "string", value: "NAME", description: "run: this agent's name (default: the host name)" },
    "public-key": {
      type: "string",
      multiple: true,
      value: "FILE",
      description: "run: the deployment's request-signing public key (PEM); repeat while the key is rotated",
    },
    deployment: {
      type: "string",
      multiple: true,
      value: "ID",
      description: "run: a deployment to serve (TETHER_DEPLOYMENT)",
    },
    "material-prefix": {
      type: "string",
      multiple: true,
      value: "PREFIX",
      description: "run: material references it may serve (a path prefix)",
    },
    account: {
      type: "string",
      multiple: true,
      value: "ID",
      description: "run: an account whose keys it may wrap for",
    },
    "key-region": {
      type: "string",
      multiple: true,
      value: "REGION",
      description: "run: a Region whose keys it may wrap for",
    },
    log: {
      type: "string",
      value: "FILE",
      description: "run: its append-only log (default tether-agent.log)",
    },
    "poll-ms": {
      type: "string",
      value: "MS",
      description: "run: how often it polls when idle (default 1000)",
    },
  },
  notes: [
    "Each list flag may instead come from TETHER_AGENT_PUBLIC_KEYS, TETHER_AGENT_DEPLOYMENTS,",
    "TETHER_AGENT_MATERIAL_PREFIXES, TETHER_AGENT_ACCOUNTS, TETHER_AGENT_REGIONS (comma-separated). The local",
    "backend is TETHER_VAULT with its own variables (README, Vaults). docs/agent.md has the rest.",
  ],
  async run(context, input) {
    const action = input.args[0];
    if (action === "run") return run(context, input.flags);
    if (action !== "status") throw new UsageError(`<action> must be run or status, not "${action}"`, NAME);
    const body = await (await context.client()).request("GET", route("agent", "health"));
    print(context, AgentHealthResponse, body, "GET /agent/health", (answer) =>
      [
        `vault agents: ${answer.state.toUpperCase()} — ${answer.summary}`,
        ...answer.agents.map(
          (a) =>
            `  ${a.name.padEnd(20)} ${a.state.padEnd(8)} last seen ${a.lastSeen}  answered ${a.answered ?? 0}  refused ${a.refused ?? 0}  (${a.principal})`,
        ),
      ].join("\n"),
    );
    return undefined;
  },
};
