/**
 * `tether`: the operator CLI. All the work is in lib/cli; this only connects it to the process.
 */
import { main } from "../lib/cli/main.js";

process.exitCode = await main(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
});
