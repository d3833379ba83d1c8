/**
 * The CLI against the real local stack (infra/local/runner): SigV4 verified by the runner, the real API
 * handler, the KMS emulator, dynalite and the file vault. Commands run in process through main (so output
 * and exit codes are captured), plus one real `npx tether` subprocess.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  LOCAL_ADMIN,
  LOCAL_READER,
  type LocalStack,
  PROJECT_ROOT,
  startLocalStack,
} from "../../../infra/local/runner/index.js";
import {
  KeyActionResponse,
  KeyDetailResponse,
  KeyListResponse,
  SentinelsResponse,
} from "../../../lib/api/schemas.js";
import { ExitCode } from "../../../lib/cli/exit-codes.js";
import { type CliRun, emptyWorkingDirectory, runCli } from "./run-cli.js";

const run = promisify(execFile);
const admin = { accessKeyId: LOCAL_ADMIN.accessKeyId, secretAccessKey: LOCAL_ADMIN.secretAccessKey };
const reader = { accessKeyId: LOCAL_READER.accessKeyId, secretAccessKey: LOCAL_READER.secretAccessKey };

describe("tether keys against the local stack", () => {
  let stack: LocalStack;
  let cwd: { path: string; remove(): Promise<void> };
  let keyId: string;
  const alias = "alias/cli-e2e";

  const cli = (argv: string[], credentials = admin): Promise<CliRun> =>
    runCli([...argv, "--api-url", stack.apiUrl], { cwd: cwd.path, credentials });
  const json = (result: CliRun): unknown => {
    expect(result.stderr).toBe("");
    expect(result.code).toBe(ExitCode.Ok);
    return JSON.parse(result.stdout);
  };

  beforeAll(async () => {
    cwd = await emptyWorkingDirectory();
    stack = await startLocalStack({
      memory: true,
      ports: { api: 0, kms: 0, dynamodb: 0, events: 0 },
      sweepIntervalMs: 0,
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await cwd?.remove();
  });

  it("registers a key with generated material and imports it", async () => {
    const result = await cli([
      "keys",
      "register",
      "--region",
      stack.region,
      "--key-spec",
      "SYMMETRIC_DEFAULT",
      "--material-ref",
      "cli/e2e-1",
      "--generate",
      "--alias",
      alias,
      "--validity",
      "P30D",
      "--renew-before",
      "P7D",
      "--json",
    ]);

    const registered = KeyActionResponse.parse(json(result));
    keyId = registered.key.id;
    expect(keyId).toMatch(/^tk_/);
    expect(registered.key.alias).toBe(alias);
    expect(registered.regions[stack.region]?.kind).toBe("imported");
  });

  it("shows the sentinels the sweep created, one per Region of the stack, to a reader", async () => {
    await stack.sweepNow();
    const shown = SentinelsResponse.parse(json(await cli(["sentinels", "--json"], reader)));
    expect(shown.items.map((s) => [s.region, s.state, s.lastProbeState])).toEqual(
      [...stack.regions].sort().map((region) => [region, "ready", "Enabled"]),
    );
    const table = await cli(["sentinels"], reader);
    expect(table.code).toBe(ExitCode.Ok);
    expect(table.stdout).toContain("REGION");
    expect(table.stdout).toContain(stack.region);
  });

  it("lists it, as a table and as JSON", async () => {
    const table = await cli(["keys", "list"]);
    const listed = KeyListResponse.parse(json(await cli(["keys", "list", "--status", "active", "--json"])));

    expect(table.code).toBe(ExitCode.Ok);
    expect(table.stdout).toMatch(
      new RegExp(`^${keyId}  ${alias}  active  normal +${stack.region}  (Enabled|imported) `, "m"),
    );
    expect(listed.items.map((key) => key.id)).toContain(keyId);
  });

  it("shows it by alias, with KMS's state and the next action", async () => {
    const detail = KeyDetailResponse.parse(json(await cli(["keys", "show", alias, "--json"])));
    const human = await cli(["keys", "show", keyId]);

    expect(detail.key.id).toBe(keyId);
    expect(detail.regions[0]?.observed.keyState).toBe("Enabled");
    expect(human.stdout).toContain(`ID:            ${keyId}`);
    expect(human.stdout).toMatch(new RegExp(`^${stack.region} +Enabled `, "m"));
  });

  it("re-imports, revokes with a reason, refuses a re-import of the revoked key, restores", async () => {
    const reimported = await cli(["keys", "reimport", keyId]);
    const revoked = KeyActionResponse.parse(
      json(await cli(["keys", "revoke", keyId, "--reason", "cli e2e kill switch", "--json"])),
    );
    const refused = await cli(["keys", "reimport", keyId]);
    const restored = KeyActionResponse.parse(
      json(await cli(["keys", "restore", keyId, "--reason", "cli e2e back", "--json"])),
    );

    expect(reimported.code).toBe(ExitCode.Ok);
    expect(reimported.stdout).toContain(`Re-imported ${keyId} (${alias})`);
    expect(revoked.key.status).toMatchObject({
      state: "revoked",
      reason: "cli e2e kill switch",
      actor: LOCAL_ADMIN.principalArn,
    });
    expect(revoked.regions[stack.region]?.kind).toBe("revoked");
    expect(refused.code).toBe(ExitCode.Conflict);
    expect(refused.stderr).toMatch(/^tether: 409 Conflict: .*revoked/);
    expect(restored.key.status.state).toBe("active");
    expect(restored.regions[stack.region]?.kind).toBe("restored");
  });

  it("shows the history of all that, with the operator and the reasons", async () => {
    const table = await cli(["keys", "history", keyId]);

    expect(table.code).toBe(ExitCode.Ok);
    for (const event of ["Key Registered", "Key Material Revoked", "Key Material Restored"]) {
      expect(table.stdout).toContain(event);
    }
    expect(table.stdout).toContain("reason: cli e2e kill switch");
    expect(table.stdout).toContain(LOCAL_ADMIN.principalArn);
  });

  it("answers a reader's change with 4, an unknown key with 3, a bad policy with 6", async () => {
    const asReader = await cli(["keys", "revoke", keyId, "--reason", "not mine to do"], reader);
    const readerMayRead = await cli(["keys", "show", keyId], reader);
    const unknown = await cli(["keys", "show", "alias/no-such-key"]);
    const badPolicy = await cli(["keys", "policy", keyId, "--validity", "PT5M"]);
    const wrongSecret = await cli(["keys", "list"], { ...admin, secretAccessKey: "not-the-secret" });

    expect(asReader.code).toBe(ExitCode.Forbidden);
    expect(readerMayRead.code).toBe(ExitCode.Ok);
    expect(unknown.code).toBe(ExitCode.NotFound);
    expect(badPolicy.code).toBe(ExitCode.InvalidInput);
    expect(badPolicy.stderr).toContain("--validity");
    expect(wrongSecret.code).toBe(ExitCode.Forbidden);
  });

  it("pauses and resumes through policy", async () => {
    const paused = await cli(["keys", "policy", keyId, "--pause", "--reason", "maintenance"]);
    const resumed = await cli(["keys", "policy", keyId, "--resume", "--reason", "done"]);

    expect(paused.code).toBe(ExitCode.Ok);
    expect(paused.stdout).toMatch(/Status: +paused — "maintenance"/);
    expect(resumed.stdout).toMatch(/Status: +active/);
  });

  it("works as `npx tether keys list --json` in a subprocess, credentials from the environment", async () => {
    const { stdout } = await run("npx", ["--no-install", "tether", "keys", "list", "--json"], {
      cwd: PROJECT_ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: cwd.path,
        TETHER_API_URL: stack.apiUrl,
        AWS_REGION: stack.region,
        AWS_ACCESS_KEY_ID: LOCAL_READER.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_READER.secretAccessKey,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      },
    });

    expect(KeyListResponse.parse(JSON.parse(stdout)).items.map((key) => key.id)).toContain(keyId);
  });

  it("exits 7 from the subprocess when nothing listens", async () => {
    const failure = await run(
      "npx",
      ["--no-install", "tether", "keys", "list", "--api-url", "http://127.0.0.1:9"],
      {
        cwd: PROJECT_ROOT,
        env: { PATH: process.env.PATH, HOME: cwd.path, AWS_ACCESS_KEY_ID: "x", AWS_SECRET_ACCESS_KEY: "y" },
      },
    ).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );

    expect(failure?.code).toBe(ExitCode.Unreachable);
    expect(failure?.stderr).toContain("is `npm start` running?");
  });
});
