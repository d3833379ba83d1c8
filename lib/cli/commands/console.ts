import { loadConsoleAssets } from "../../console/assets.js";
import { CONSOLE_HOST, startConsoleServer } from "../../console/server.js";
import type { CommandSpec } from "../command.js";
import { CliError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { integerFlag } from "../flags.js";

export const DEFAULT_CONSOLE_PORT = 4600;

export const consoleCommand: CommandSpec = {
  name: "console",
  topLevel: true,
  summary: "Serve the web console on 127.0.0.1 (fleet, expiry timeline, key pages and actions) until Ctrl-C",
  args: [],
  flags: {
    port: {
      type: "string",
      value: "N",
      description: `port on 127.0.0.1 (default ${DEFAULT_CONSOLE_PORT}; 0 for any free port)`,
    },
  },
  notes: [
    "The page never sees your AWS credentials: the console's server signs every API call with them, as",
    "the CLI does. It listens on 127.0.0.1 only and answers only the browser that opened the URL it prints",
    "(a random token, kept in a cookie) and only pages of its own origin. Everything the page needs is",
    "served by the console itself.",
  ],
  async run(context, { flags }) {
    const port = integerFlag(flags, "port", "console", { min: 0, max: 65535 }) ?? DEFAULT_CONSOLE_PORT;
    const client = await context.client();
    const assets = await loadConsoleAssets();
    let server: Awaited<ReturnType<typeof startConsoleServer>>;
    try {
      server = await startConsoleServer({ port, client, assets });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new CliError(
        `cannot listen on ${CONSOLE_HOST}:${port}${code ? ` (${code})` : ""}; choose another with --port`,
        ExitCode.Usage,
        { cause: error },
      );
    }
    context.out(`Tether console for ${client.apiUrl}`);
    context.out(`Open: ${server.url}`);
    context.out("(the token in the URL is your session: do not share it) Ctrl-C stops the console.");
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await server.close();
    return ExitCode.Ok;
  },
};
