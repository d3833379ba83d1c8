import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SigningCredentials } from "../../../lib/cli/client.js";
import { main } from "../../../lib/cli/main.js";

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly credentials?: SigningCredentials;
  readonly env?: Record<string, string>;
  readonly now?: Date;
  readonly cwd?: string;
  readonly newIdempotencyKey?: () => string;
}

export const TEST_CREDENTIALS = {
  accessKeyId: "AKIDTESTCLI000000001",
  secretAccessKey: "cli-test-secret-do-not-print",
};

/** A working directory without .local/endpoints.json, so a running `npm start` cannot leak into a test. */
export async function emptyWorkingDirectory(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), "tether-cli-"));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Runs the CLI's main in process, capturing stdout and stderr. */
export async function runCli(
  argv: readonly string[],
  options: RunOptions & { cwd: string },
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    env: options.env ?? {},
    cwd: options.cwd,
    stdout: {
      write: (text: string) => {
        stdout += text;
      },
    },
    stderr: {
      write: (text: string) => {
        stderr += text;
      },
    },
    credentials: options.credentials ?? TEST_CREDENTIALS,
    now: options.now === undefined ? undefined : () => options.now as Date,
    newIdempotencyKey: options.newIdempotencyKey,
  });
  return { code, stdout, stderr };
}
