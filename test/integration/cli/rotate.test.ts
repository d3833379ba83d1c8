/**
 * `tether keys rotate` against the real local stack (infra/local/runner): SigV4, the real API handler, the
 * KMS emulator, dynalite and the file vault.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_ADMIN, type LocalStack, startLocalStack } from "../../../infra/local/runner/index.js";
import { KeyActionResponse, KeyDetailResponse, RotateResponse } from "../../../lib/api/schemas.js";
import { ExitCode } from "../../../lib/cli/exit-codes.js";
import { type CliRun, emptyWorkingDirectory, runCli } from "./run-cli.js";

const admin = { accessKeyId: LOCAL_ADMIN.accessKeyId, secretAccessKey: LOCAL_ADMIN.secretAccessKey };

describe("tether keys rotate", () => {
  let stack: LocalStack;
  let cwd: { path: string; remove(): Promise<void> };

  const cli = (argv: string[]): Promise<CliRun> =>
    runCli([...argv, "--api-url", stack.apiUrl], { cwd: cwd.path, credentials: admin });
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

  async function register(ref: string): Promise<string> {
    const result = await cli([
      "keys",
      "register",
      "--region",
      stack.region,
      "--key-spec",
      "SYMMETRIC_DEFAULT",
      "--material-ref",
      ref,
      "--generate",
      "--validity",
      "P30D",
      "--json",
    ]);
    return KeyActionResponse.parse(json(result)).key.id;
  }

  it("rotates with a reason, prints the materials, and show lists both", async () => {
    const keyId = await register("cli/rotate-1");
    const rotated = RotateResponse.parse(
      json(await cli(["keys", "rotate", keyId, "--reason", "yearly", "--json"])),
    );
    expect(rotated.rotations).toBe(1);
    expect(rotated.method).toBe("in-key");
    expect((rotated.materials ?? []).map((m) => m.state)).toEqual(["NON_CURRENT", "CURRENT"]);
    expect(rotated.key.materialRef).toBe("cli/rotate-1/r2");

    const human = await cli(["keys", "rotate", keyId, "--reason", "again"]);
    expect(human.code).toBe(ExitCode.Ok);
    expect(human.stdout).toContain(`Rotated ${keyId} — 2 of 25 on-demand rotations used`);
    expect(human.stdout).toMatch(/^MATERIAL +STATE +VALID TO +ROTATED/m);

    const detail = KeyDetailResponse.parse(json(await cli(["keys", "show", keyId, "--json"])));
    expect(detail.regions[0]?.materials?.map((m) => m.state)).toEqual([
      "NON_CURRENT",
      "NON_CURRENT",
      "CURRENT",
    ]);
    const shown = await cli(["keys", "show", keyId]);
    expect(shown.stdout).toMatch(new RegExp(`^${stack.region} +[0-9a-f]{16} +CURRENT +IMPORTED `, "m"));
  });

  it("refuses without --reason (usage, nothing sent) and an HMAC key without an alias to swap (conflict)", async () => {
    const missing = await cli(["keys", "rotate", "tk_01JZ0000000000000000000000"]);
    expect(missing.code).toBe(ExitCode.Usage);
    expect(missing.stderr).toMatch(/--reason is required/);

    const hmac = KeyActionResponse.parse(
      json(
        await cli([
          "keys",
          "register",
          "--region",
          stack.region,
          "--key-spec",
          "HMAC_256",
          "--key-usage",
          "GENERATE_VERIFY_MAC",
          "--material-ref",
          "cli/rotate-hmac",
          "--generate",
          "--json",
        ]),
      ),
    ).key.id;
    const refused = await cli(["keys", "rotate", hmac, "--reason", "x"]);
    expect(refused.code).toBe(ExitCode.Conflict);
    expect(refused.stderr).toMatch(/a key swap moves the alias/);
  });

  it("swaps an HMAC key with an alias, and says where the alias went and that the old key is kept", async () => {
    const alias = `alias/cli-swap-${Date.now()}`;
    const old = KeyActionResponse.parse(
      json(
        await cli([
          "keys",
          "register",
          "--region",
          stack.region,
          "--key-spec",
          "HMAC_256",
          "--material-ref",
          `cli/swap-${Date.now()}`,
          "--generate",
          "--alias",
          alias,
          "--json",
        ]),
      ),
    ).key.id;
    const swapped = await cli(["keys", "rotate", old, "--reason", "yearly"]);
    expect(swapped.code).toBe(ExitCode.Ok);
    expect(swapped.stdout).toMatch(new RegExp(`^Swapped ${old}: ${alias} now names tk_\\w+;`, "m"));
    expect(swapped.stdout).toContain("the old key stays managed for decryption");
    const shown = await cli(["keys", "show", old]);
    expect(shown.stdout).toMatch(/Replaced by: +tk_\w+ \(key swap/);
  });
});
