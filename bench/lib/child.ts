import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = fileURLToPath(new URL("../", import.meta.url));
export const PROJECT_DIR = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Runs `node <args>` from the project directory and returns its stdout.
 * @throws Error with the exit code and the end of stderr when it fails
 */
export function runNode(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: PROJECT_DIR, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`node ${args.join(" ").slice(0, 120)} exited with ${code}: ${err.slice(-600)}`));
    });
  });
}
