import { describe, expect, it } from "vitest";
import { KEY_COMMANDS } from "../../../lib/cli/commands/index.js";
import { EXIT_CODE_HELP, ExitCode, exitCodeForStatus } from "../../../lib/cli/exit-codes.js";
import { topHelp } from "../../../lib/cli/help.js";
import { formatRelative, renderTable, visibleLength } from "../../../lib/cli/render.js";
import { historyTable, keyDetail, keyListTable } from "../../../lib/cli/views.js";
import { keyView, NOW } from "../../integration/cli/fake-api.js";
import { emptyWorkingDirectory, runCli } from "../../integration/cli/run-cli.js";

describe("renderTable", () => {
  it("aligns columns by their widest cell and trims trailing spaces", () => {
    const table = renderTable(
      ["ID", "STATE"],
      [
        ["tk_1", "Enabled"],
        ["tk_longer", ""],
      ],
    );

    expect(table).toBe(["ID         STATE", "tk_1       Enabled", "tk_longer"].join("\n"));
  });

  it("measures coloured cells without their escape codes, so they still line up", () => {
    const table = renderTable(
      ["A", "B"],
      [
        ["\u001b[32mactive\u001b[0m", "x"],
        ["paused", "y"],
      ],
      true,
    );
    const [, first, second] = table.split("\n");

    expect(first).toContain("\u001b[32m");
    expect(visibleLength(first ?? "")).toBe(visibleLength(second ?? ""));
    expect(table.split("\n")[0]).toBe("\u001b[1mA\u001b[0m       \u001b[1mB\u001b[0m");
  });

  it("keeps every cell on one line", () => {
    expect(renderTable(["A"], [["two\nlines"]])).toBe("A\ntwo lines");
  });
});

describe("formatRelative", () => {
  it.each([
    ["2025-06-01T12:00:30Z", "now"],
    ["2025-06-01T18:00:00Z", "in 6h"],
    ["2025-06-08T13:30:00Z", "in 7d 1h"],
    ["2025-06-01T11:55:00Z", "5m ago"],
    ["2025-05-30T09:00:00Z", "2d 3h ago"],
  ])("%s is %s from 2025-06-01T12:00Z", (iso, text) => {
    expect(formatRelative(iso, NOW)).toBe(text);
  });
});

describe("views", () => {
  it("lists keys one row per Region, with priority, state, ValidTo and next check", () => {
    expect(keyListTable([keyView()], { now: NOW, color: false })).toBe(
      [
        "ID                             ALIAS           STATUS  PRIORITY  REGION     STATE                 VALID TO              NEXT CHECK",
        "tk_01JX0000000000000000000000  alias/payments  active  normal    eu-west-1  Enabled               2025-06-24 12:00:00Z  2025-06-01 18:00:00Z (in 6h)",
        "                                                                 us-east-1  gone (regional-loss)  -                     2025-06-01 12:00:00Z (now)",
      ].join("\n"),
    );
    const critical = keyView({ policy: { ...keyView().policy, priority: "critical" } });
    expect(keyListTable([critical], { now: NOW, color: false })).toMatch(/active +critical +eu-west-1/);
    expect(keyListTable([], { now: NOW, color: false })).toBe("No managed keys.");
  });

  it("says imported when Tether imported after its last look at KMS, gone when it learned of a loss after it", () => {
    const [eu, us] = keyView().regions;
    const key = keyView({
      regions: [
        { ...(eu as NonNullable<typeof eu>), lastImportedAt: "2025-06-01T07:00:00.000Z" },
        { ...(us as NonNullable<typeof us>), lastObservedAt: "2025-06-01T11:30:00.000Z" },
      ],
    });

    const table = keyListTable([key], { now: NOW, color: false });

    expect(table).toMatch(/eu-west-1 +imported +2025-06-24 12:00:00Z/);
    expect(table).toMatch(/us-east-1 +PendingImport \(regional-loss\) +- /);
  });

  it("shows what KMS says per Region, the next action, and why a Region could not be read", () => {
    const [eu, us] = keyView().regions;
    const parameters = {
      validTo: "2025-06-02T10:00:00.000Z",
      wrappingAlgorithm: "RSAES_OAEP_SHA_256",
      wrappingKeySpec: "RSA_4096",
    };
    const text = keyDetail(
      {
        key: keyView({
          regions: [
            { ...(eu as NonNullable<typeof eu>), importParameters: parameters },
            us as NonNullable<typeof us>,
          ],
        }),
        regions: [
          {
            region: "eu-west-1",
            observed: { found: true, keyState: "Enabled", validTo: "2025-06-24T12:00:00Z" },
            nextAction: {
              kind: "none",
              summary: "nothing to do",
              at: "2025-06-01T18:00:00Z",
              due: false,
              renewAt: "2025-06-17T12:00:00Z",
            },
            warmParameters: true,
          },
          {
            region: "us-east-1",
            observed: { error: "KmsThrottledError" },
            nextAction: {
              kind: "restore",
              summary: "restore after a regional loss",
              at: "2025-06-01T12:00:00Z",
              due: true,
            },
            warmParameters: false,
          },
        ],
        warmParameters: { warm: 1, regions: 2 },
      },
      { now: NOW, color: false },
    );

    expect(text).toContain("Policy:        expires after P30D, renewed P7D before; restore after loss: yes;");
    expect(text).toMatch(
      /eu-west-1 +Enabled +2025-06-24 12:00:00Z +2025-05-25 12:00:00Z +nothing to do \(renew from 2025-06-17 12:00:00Z\)/,
    );
    expect(text).toMatch(
      /us-east-1 +unknown \(KmsThrottledError\) +- +- +restore after a regional loss \[2 failures\] +due now \(2025-06-01 12:00:00Z\) +cold/,
    );
    // Warm import parameters: per Region (warm until the stored set's ParametersValidTo, or cold), and in all.
    expect(text).toMatch(/eu-west-1 .* warm to 2025-06-02 10:00:00Z/);
    expect(text).toContain("Warm params:   1 of 2 Regions");
  });

  it("shows history with reasons and failures", () => {
    const text = historyTable(
      [
        {
          id: "e2",
          detailType: "Import Failed",
          time: "2025-06-01T11:00:00.000Z",
          keyId: "tk_01JX0000000000000000000000",
          region: "us-east-1",
          actor: "tether:sweep",
          correlationId: "c",
          schemaVersion: 1,
          errorName: "KmsThrottledError",
          attempt: 2,
        },
      ],
      { now: NOW, color: false },
    );

    expect(text).toBe(
      [
        "TIME                  EVENT          REGION     ACTOR         DETAIL",
        "2025-06-01 11:00:00Z  Import Failed  us-east-1  tether:sweep  KmsThrottledError (attempt 2)",
      ].join("\n"),
    );
  });
});

describe("help and exit codes", () => {
  it("documents every exit code in tether --help", () => {
    const help = topHelp(KEY_COMMANDS);

    for (const code of Object.values(ExitCode)) expect(help).toMatch(new RegExp(`^  ${code}  `, "m"));
    expect(EXIT_CODE_HELP.map(([code]) => code)).toEqual(Object.values(ExitCode));
  });

  it.each([
    [400, ExitCode.InvalidInput],
    [413, ExitCode.InvalidInput],
    [415, ExitCode.InvalidInput],
    [401, ExitCode.Forbidden],
    [403, ExitCode.Forbidden],
    [404, ExitCode.NotFound],
    [409, ExitCode.Conflict],
    [405, ExitCode.Internal],
    [500, ExitCode.Internal],
    [503, ExitCode.Internal],
  ])("HTTP %i exits %i", (status, code) => {
    expect(exitCodeForStatus(status)).toBe(code);
  });

  it.each(KEY_COMMANDS.map((spec) => [spec.name]))(
    "keys %s --help prints its usage and exits 0",
    async (name) => {
      const cwd = await emptyWorkingDirectory();
      try {
        const result = await runCli(["keys", name, "--help"], { cwd: cwd.path });

        expect(result.code).toBe(ExitCode.Ok);
        expect(result.stdout).toMatch(new RegExp(`^Usage: tether keys ${name}`));
        expect(result.stdout).toContain("Global options:");
        expect(result.stderr).toBe("");
      } finally {
        await cwd.remove();
      }
    },
  );

  it("tether --help and tether keys --help exit 0; tether alone is a usage error", async () => {
    const cwd = await emptyWorkingDirectory();
    try {
      const top = await runCli(["--help"], { cwd: cwd.path });
      const keys = await runCli(["keys", "-h"], { cwd: cwd.path });
      const bare = await runCli([], { cwd: cwd.path });

      expect(top.code).toBe(0);
      expect(top.stdout).toContain("Exit codes:");
      expect(keys.code).toBe(0);
      expect(keys.stdout).toMatch(/^Usage: tether keys <command>/);
      expect(bare).toMatchObject({ code: ExitCode.Usage, stdout: "" });
    } finally {
      await cwd.remove();
    }
  });
});
