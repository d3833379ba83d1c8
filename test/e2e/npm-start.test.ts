import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../lib/cli/exit-codes.js";
import { runCli } from "../integration/cli/run-cli.js";
import { ADMIN } from "../support/e2e-stack.js";

/**
 * `npm start` as a user runs it (infra/local/main.ts in its own process, from another working directory,
 * with --data-dir elsewhere), and the CLI finding it: where endpoints.json goes, and the defaults the CLI
 * takes from it.
 */
const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSX = join(PROJECT_ROOT, "node_modules/tsx/dist/loader.mjs");

let root: string;
let dataDir: string;
let workDir: string;
let cliDir: string;
let child: ChildProcess | undefined;
let output = "";

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tether-npm-start-"));
  dataDir = join(root, "state");
  workDir = join(root, "work");
  cliDir = join(root, "cli");
  const { mkdir } = await import("node:fs/promises");
  await mkdir(workDir);
  await mkdir(cliDir);
  const ports = ["--api-port", "0", "--kms-port", "0", "--dynamodb-port", "0", "--events-port", "0"];
  child = spawn(
    process.execPath,
    [
      "--import",
      TSX,
      join(PROJECT_ROOT, "infra/local/main.ts"),
      "--data-dir",
      dataDir,
      "--sweep-interval",
      "0",
      ...ports,
    ],
    {
      cwd: workDir,
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: "ERROR", TETHER_LOCAL_DATA_DIR: "", AWS_REGION: "" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 90_000;
  while (!output.includes("Tether is running locally")) {
    if (child.exitCode !== null) throw new Error(`npm start exited: ${output}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}, 120_000);

afterAll(async () => {
  if (child !== undefined && child.exitCode === null) {
    const exited = new Promise((resolve) => child?.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  await rm(root, { recursive: true, force: true });
}, 30_000);

describe("npm start with --data-dir elsewhere", () => {
  it("writes endpoints.json under the data directory, not under the working directory", async () => {
    const file = JSON.parse(await readFile(join(dataDir, "endpoints.json"), "utf8")) as {
      api: string;
      region: string;
      regions: string[];
    };
    expect(existsSync(join(workDir, ".local", "endpoints.json"))).toBe(false);
    expect(file.region).toBe("eu-west-1");
    expect(file.regions).toEqual(["eu-west-1", "eu-central-1"]);
    expect((await fetch(`${file.api}/health`)).status).toBe(200);
    expect(output).toContain(`export TETHER_LOCAL_DATA_DIR=${dataDir}`);
  });

  it("lets the CLI find it through TETHER_LOCAL_DATA_DIR, and register in its home Region without --region or AWS_REGION", async () => {
    const registered = await runCli(
      [
        "keys",
        "register",
        "--key-spec",
        "SYMMETRIC_DEFAULT",
        "--material-ref",
        `npm-start/${Date.now()}`,
        "--generate",
        "--json",
      ],
      { cwd: cliDir, env: { TETHER_LOCAL_DATA_DIR: dataDir }, credentials: ADMIN },
    );
    expect(registered.stderr).toBe("");
    expect(registered.code).toBe(ExitCode.Ok);
    expect(JSON.parse(registered.stdout)).toMatchObject({ key: { primaryRegion: "eu-west-1" } });

    const listed = await runCli(["keys", "list", "--json"], {
      cwd: cliDir,
      env: { TETHER_LOCAL_DATA_DIR: dataDir },
      credentials: ADMIN,
    });
    expect(listed.code).toBe(ExitCode.Ok);
  });
});

describe("tether keys register --region", () => {
  it("says in its help where the default comes from", async () => {
    const help = await runCli(["keys", "register", "--help"], { cwd: cliDir });
    expect(help.stdout).toMatch(
      /--region R +Region to create the key in \(default: AWS_REGION, else the local stack's home Region from its endpoints\.json/,
    );
  });

  it("takes AWS_REGION when set (here the stack's second Region; the API is still signed for its home)", async () => {
    const registered = await runCli(
      [
        "keys",
        "register",
        "--key-spec",
        "SYMMETRIC_DEFAULT",
        "--material-ref",
        `npm-start/${Date.now()}-central`,
        "--generate",
        "--api-region",
        "eu-west-1",
        "--json",
      ],
      {
        cwd: cliDir,
        env: { TETHER_LOCAL_DATA_DIR: dataDir, AWS_REGION: "eu-central-1" },
        credentials: ADMIN,
      },
    );
    expect(registered.stderr).toBe("");
    expect(JSON.parse(registered.stdout)).toMatchObject({ key: { primaryRegion: "eu-central-1" } });
  });

  it("refuses to run, naming --region, when neither AWS_REGION nor a local stack gives one", async () => {
    const refused = await runCli(
      ["keys", "register", "--key-spec", "SYMMETRIC_DEFAULT", "--material-ref", "x/y", "--generate"],
      { cwd: cliDir, env: {}, credentials: ADMIN },
    );
    expect(refused.code).toBe(ExitCode.Usage);
    expect(refused.stderr).toContain(
      "--region (or AWS_REGION, or a running npm start's endpoints.json) is required",
    );
  });
});
