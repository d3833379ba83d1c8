import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ExitCode } from "../../../lib/cli/exit-codes.js";
import { apiError, type FakeAnswer, type FakeApi, keyView, NOW, startFakeApi } from "./fake-api.js";
import { emptyWorkingDirectory, runCli, TEST_CREDENTIALS } from "./run-cli.js";

const KEY_ID = "tk_01JX0000000000000000000000";

describe("CLI exit codes and messages against an API that answers like Tether's", () => {
  let api: FakeApi;
  let cwd: { path: string; remove(): Promise<void> };
  const run = (argv: string[], env: Record<string, string> = {}) =>
    runCli([...argv, "--api-url", api.url], { cwd: cwd.path, now: NOW, env });

  beforeAll(async () => {
    api = await startFakeApi();
    cwd = await emptyWorkingDirectory();
  });
  afterAll(async () => {
    await api.close();
    await cwd.remove();
  });
  beforeEach(() => {
    api.requests.length = 0;
  });

  describe("each status class", () => {
    const cases: [string, FakeAnswer, number][] = [
      [
        "400 ValidationError",
        apiError(400, "ValidationError", "limit: must be at most 100", "limit"),
        ExitCode.InvalidInput,
      ],
      [
        "413 PayloadTooLarge",
        apiError(413, "PayloadTooLarge", "body is larger than 16384 bytes"),
        ExitCode.InvalidInput,
      ],
      [
        "415 UnsupportedMediaType",
        apiError(415, "UnsupportedMediaType", "send application/json"),
        ExitCode.InvalidInput,
      ],
      [
        "403 Forbidden (Tether)",
        apiError(403, "Forbidden", "not allowed to change keys"),
        ExitCode.Forbidden,
      ],
      ["403 from API Gateway", { status: 403, body: { message: "Forbidden" } }, ExitCode.Forbidden],
      ["401 Unauthorized", apiError(401, "Unauthorized", "not signed"), ExitCode.Forbidden],
      ["404 NotFound", apiError(404, "NotFound", `ManagedKey ${KEY_ID} not found.`), ExitCode.NotFound],
      ["404 from API Gateway", { status: 404, body: { message: "Not Found" } }, ExitCode.NotFound],
      [
        "409 Conflict",
        apiError(409, "Conflict", `Key ${KEY_ID} is revoked: no re-import.`),
        ExitCode.Conflict,
      ],
      ["500 InternalError", apiError(500, "InternalError", "Internal error"), ExitCode.Internal],
      ["502 with an HTML page", { status: 502, body: "<html>Bad Gateway</html>" }, ExitCode.Internal],
    ];

    it.each(cases)(
      "%s exits with its code, a one-line message on stderr, nothing on stdout",
      async (_, answer, code) => {
        api.answer(() => answer);

        const result = await run(["keys", "reimport", KEY_ID]);

        expect(result.code).toBe(code);
        expect(result.stdout).toBe("");
        expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
        expect(result.stderr).toMatch(new RegExp(`^tether: ${answer.status} `));
      },
    );
  });

  it("names the field and the flag to fix when the API names a field", async () => {
    api.answer(() =>
      apiError(
        400,
        "ValidationError",
        "policy.validityPeriod: must be at least PT1H",
        "policy.validityPeriod",
      ),
    );

    const result = await run(["keys", "policy", KEY_ID, "--validity", "PT5M"]);

    expect(result.code).toBe(ExitCode.InvalidInput);
    expect(result.stderr).toBe(
      "tether: 400 ValidationError: policy.validityPeriod: must be at least PT1H " +
        "(field policy.validityPeriod, see --validity; request id req-400)\n",
    );
  });

  it("shows the API's conflict reason and request id", async () => {
    api.answer(() => apiError(409, "Conflict", `Key ${KEY_ID} is revoked: its material is not imported.`));

    const result = await run(["keys", "reimport", KEY_ID]);

    expect(result.stderr).toContain(`Key ${KEY_ID} is revoked: its material is not imported.`);
    expect(result.stderr).toContain("request id req-409");
  });

  it("exits 0 with results on stdout only", async () => {
    api.answer(() => ({ status: 200, body: { items: [keyView()] } }));

    const result = await run(["keys", "list"]);

    expect(result).toMatchObject({ code: ExitCode.Ok, stderr: "" });
    expect(result.stdout).toContain(KEY_ID);
  });

  it("exits 1 when a 2xx answer is not what the CLI understands, and --json still prints it", async () => {
    api.answer(() => ({ status: 200, body: { things: [] } }));

    const human = await run(["keys", "list"]);
    const json = await run(["keys", "list", "--json"]);

    expect(human.code).toBe(ExitCode.Internal);
    expect(human.stderr).toContain("not what this CLI understands");
    expect(json).toMatchObject({ code: ExitCode.Ok, stdout: `${JSON.stringify({ things: [] }, null, 2)}\n` });
  });

  describe("usage errors exit 2 before any request", () => {
    const cases: [string, string[], RegExp][] = [
      ["no command", [], /no command given/],
      ["unknown group", ["key", "list"], /unknown command "key"/],
      ["unknown command", ["keys", "lst"], /unknown command "keys lst"/],
      ["unknown flag", ["keys", "list", "--bogus"], /Unknown option '--bogus'/],
      ["missing id", ["keys", "show"], /missing <id>/],
      ["extra argument", ["keys", "show", "a", "b"], /unexpected argument "b"/],
      ["bad status", ["keys", "list", "--status", "gone"], /--status must be one of active, paused, revoked/],
      ["bad limit", ["keys", "list", "--limit", "0"], /--limit must be a whole number from 1 to 100/],
      [
        "bad time",
        ["keys", "list", "--expiring-before", "tomorrow"],
        /--expiring-before must be an ISO 8601 time/,
      ],
      ["bad account", ["keys", "list", "--account", "12345"], /--account must be a 12-digit AWS account id/],
      ["--all with --next-token", ["keys", "list", "--all", "--next-token", "x"], /cannot be used together/],
      ["revoke without reason", ["keys", "revoke", KEY_ID], /--reason is required/],
      ["blank reason", ["keys", "restore", KEY_ID, "--reason", "  "], /--reason must be non-empty/],
      [
        "register without material",
        ["keys", "register", "--region", "eu-west-1", "--key-spec", "SYMMETRIC_DEFAULT"],
        /--material-ref is required/,
      ],
      [
        "register without key spec",
        ["keys", "register", "--region", "eu-west-1", "--material-ref", "a"],
        /--key-spec \(or --adopt ARN\) is required/,
      ],
      [
        "adopt with create flags",
        ["keys", "register", "--adopt", "arn:x", "--generate", "--material-ref", "a"],
        /--generate cannot be used with --adopt/,
      ],
      [
        "bad tag",
        [
          "keys",
          "register",
          "--region",
          "eu-west-1",
          "--key-spec",
          "HMAC_256",
          "--material-ref",
          "a",
          "--tag",
          "novalue",
        ],
        /--tag must be KEY=VALUE/,
      ],
      [
        "bad duration",
        ["keys", "policy", KEY_ID, "--renew-before", "7 days"],
        /--renew-before must be an ISO 8601 duration/,
      ],
      [
        "validity and valid-to",
        ["keys", "policy", KEY_ID, "--validity", "P30D", "--valid-to", "2026-01-01T00:00:00Z"],
        /cannot be used together/,
      ],
      ["pause without reason", ["keys", "policy", KEY_ID, "--pause"], /--reason is required/],
      [
        "pause and resume",
        ["keys", "policy", KEY_ID, "--pause", "--resume", "--reason", "x"],
        /cannot be used together/,
      ],
      [
        "true|false",
        ["keys", "policy", KEY_ID, "--restore-after-loss", "yes"],
        /--restore-after-loss must be one of true, false/,
      ],
      ["flag without its value", ["keys", "list", "--limit", "--json"], /--limit needs a value/],
      ["bad timeout", ["keys", "list", "--timeout", "soon"], /--timeout must be a number of seconds/],
    ];

    it.each(cases)("%s", async (_, argv, message) => {
      api.answer(() => ({ status: 200, body: { items: [] } }));

      const result = await run(argv);

      expect(result.code).toBe(ExitCode.Usage);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe("");
      expect(api.requests).toHaveLength(0);
    });

    it("a bad API URL is a usage error too", async () => {
      const result = await runCli(["keys", "list"], {
        cwd: cwd.path,
        env: { TETHER_API_URL: "ftp://example.com" },
      });

      expect(result.code).toBe(ExitCode.Usage);
      expect(result.stderr).toContain("API URL from TETHER_API_URL must be http or https");
    });
  });

  it("exits 7 with a hint when nothing listens at the API URL", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const result = await runCli(["keys", "list", "--api-url", `http://127.0.0.1:${port}`], { cwd: cwd.path });

    expect(result.code).toBe(ExitCode.Unreachable);
    expect(result.stderr).toBe(
      `tether: cannot reach the Tether API at http://127.0.0.1:${port} (ECONNREFUSED) — is \`npm start\` running?\n`,
    );
  });

  it("exits 7 when the API does not answer within --timeout", async () => {
    api.answer(() => ({ status: 200, hang: true }));

    const result = await run(["keys", "list", "--timeout", "0.2"]);

    expect(result.code).toBe(ExitCode.Unreachable);
    expect(result.stderr).toMatch(
      /no answer from the Tether API at .* within 200ms — is `npm start` running\?/,
    );
  });

  it("exits 4 when no credentials can be found, without sending anything", async () => {
    const result = await runCli(["keys", "list", "--api-url", api.url], {
      cwd: cwd.path,
      credentials: async () => {
        throw new Error("Could not load credentials from any providers");
      },
    });

    expect(result.code).toBe(ExitCode.Forbidden);
    expect(result.stderr).toContain("no AWS credentials to sign with");
    expect(api.requests).toHaveLength(0);
  });

  it("never prints the secret access key, whatever happens", async () => {
    const outputs: string[] = [];
    for (const answer of [
      apiError(403, "Forbidden", "no"),
      apiError(500, "InternalError", "Internal error"),
    ]) {
      api.answer(() => answer);
      const result = await run(["keys", "revoke", KEY_ID, "--reason", "test", "--json"]);
      outputs.push(result.stdout, result.stderr);
    }
    api.answer(() => ({ status: 200, body: { items: [keyView()] } }));
    const listed = await run(["keys", "list", "--json"]);
    outputs.push(listed.stdout, listed.stderr);

    expect(outputs.join("\n")).not.toContain(TEST_CREDENTIALS.secretAccessKey);
  });
});

describe("CLI requests", () => {
  let api: FakeApi;
  let cwd: { path: string; remove(): Promise<void> };

  beforeAll(async () => {
    api = await startFakeApi();
    cwd = await emptyWorkingDirectory();
  });
  afterAll(async () => {
    await api.close();
    await cwd.remove();
  });
  beforeEach(() => {
    api.requests.length = 0;
  });

  const body = (i: number) => JSON.parse(api.requests[i]?.body.toString("utf8") ?? "null");

  it("sends a fresh Idempotency-Key with each POST, the given one with --idempotency-key, none with GET or PATCH", async () => {
    api.answer((request) =>
      request.method === "PATCH"
        ? { status: 200, body: { key: keyView() } }
        : { status: 200, body: { key: keyView(), regions: {} } },
    );
    const args = ["--api-url", api.url];

    await runCli(["keys", "reimport", KEY_ID, ...args], { cwd: cwd.path });
    await runCli(["keys", "reimport", KEY_ID, ...args], { cwd: cwd.path });
    await runCli(["keys", "reimport", KEY_ID, "--idempotency-key", "retry-7", ...args], { cwd: cwd.path });
    await runCli(["keys", "policy", KEY_ID, "--validity", "P10D", ...args], { cwd: cwd.path });

    const keys = api.requests.map((r) => r.headers["idempotency-key"]);
    expect(keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(keys[1]).not.toBe(keys[0]);
    expect(keys[2]).toBe("retry-7");
    expect(keys[3]).toBeUndefined();
  });

  it("register (create) sends the body the API's schema expects", async () => {
    api.answer(() => ({
      status: 201,
      body: { key: keyView(), regions: { "eu-west-1": { kind: "imported" } } },
    }));

    const result = await runCli(
      [
        "keys",
        "register",
        "--region",
        "eu-west-1",
        "--key-spec",
        "SYMMETRIC_DEFAULT",
        "--material-ref",
        "payments/k1",
        "--generate",
        "--alias",
        "alias/payments",
        "--replica-region",
        "us-east-1",
        "--replica-region",
        "ap-south-1",
        "--validity",
        "P30D",
        "--renew-before",
        "P7D",
        "--no-restore-after-loss",
        "--restore-after-out-of-band-delete",
        "--tag",
        "team=pay",
        "--check-value",
        "kcv-aes:ABCDEF",
        "--api-url",
        api.url,
      ],
      { cwd: cwd.path, now: NOW },
    );

    expect(result.code).toBe(0);
    expect(api.requests[0]?.url).toBe("/keys");
    expect(body(0)).toEqual({
      mode: "create",
      region: "eu-west-1",
      keySpec: "SYMMETRIC_DEFAULT",
      multiRegion: true,
      replicaRegions: ["us-east-1", "ap-south-1"],
      alias: "alias/payments",
      tags: { team: "pay" },
      generateMaterial: true,
      materialRef: "payments/k1",
      checkValue: "kcv-aes:ABCDEF",
      policy: {
        validityPeriod: "P30D",
        renewBefore: "P7D",
        restoreAfterLoss: false,
        restoreAfterOutOfBandDelete: true,
      },
    });
    expect(result.stdout).toContain("Registered tk_01JX0000000000000000000000 (alias/payments)");
  });

  it("register --adopt sends mode adopt with the ARN", async () => {
    api.answer(() => ({ status: 201, body: { key: keyView(), regions: {} } }));
    const arn = "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab";

    await runCli(
      [
        "keys",
        "register",
        "--adopt",
        arn,
        "--material-ref",
        "payments/k1",
        "--replica-region",
        "us-east-1",
        "--api-url",
        api.url,
      ],
      {
        cwd: cwd.path,
      },
    );

    expect(body(0)).toEqual({
      mode: "adopt",
      keyArn: arn,
      replicaRegions: ["us-east-1"],
      materialRef: "payments/k1",
    });
  });

  it("policy sends only the given fields; pause and resume carry the reason", async () => {
    api.answer(() => ({ status: 200, body: { key: keyView() } }));
    const args = ["--api-url", api.url];

    await runCli(
      ["keys", "policy", KEY_ID, "--renew-before", "P3D", "--restore-after-loss", "false", ...args],
      { cwd: cwd.path },
    );
    await runCli(["keys", "policy", KEY_ID, "--pause", "--reason", "maintenance", ...args], {
      cwd: cwd.path,
    });
    await runCli(["keys", "policy", KEY_ID, "--resume", "--reason", "done", ...args], { cwd: cwd.path });

    expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual(
      Array(3).fill(`PATCH /keys/${KEY_ID}/policy`),
    );
    expect([body(0), body(1), body(2)]).toEqual([
      { renewBefore: "P3D", restoreAfterLoss: false },
      { paused: true, reason: "maintenance" },
      { paused: false, reason: "done" },
    ]);
  });

  it("list --all follows next tokens and keeps the filters", async () => {
    api.answer((request) => {
      const token = new URL(request.url, "http://x").searchParams.get("nextToken");
      const page = token === null ? 1 : Number(token);
      const item = keyView({ id: `tk_01JX000000000000000000000${page}` });
      return {
        status: 200,
        body: page < 3 ? { items: [item], nextToken: String(page + 1) } : { items: [item] },
      };
    });

    const result = await runCli(
      ["keys", "list", "--all", "--status", "active", "--json", "--api-url", api.url],
      {
        cwd: cwd.path,
      },
    );

    expect(api.requests.map((r) => r.url)).toEqual([
      "/keys?status=active",
      "/keys?status=active&nextToken=2",
      "/keys?status=active&nextToken=3",
    ]);
    expect(JSON.parse(result.stdout).items.map((k: { id: string }) => k.id)).toEqual([
      "tk_01JX0000000000000000000001",
      "tk_01JX0000000000000000000002",
      "tk_01JX0000000000000000000003",
    ]);
  });

  it("unmanage sends DELETE for the encoded id and says the KMS key is left alone", async () => {
    const arn = "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab";
    api.answer(() => ({ status: 200, body: { id: KEY_ID, keyArn: arn, unmanaged: true } }));

    const result = await runCli(["keys", "unmanage", "alias/payments", "--api-url", api.url], {
      cwd: cwd.path,
    });

    expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual(["DELETE /keys/alias%2Fpayments"]);
    expect(result.stdout).toBe(`No longer managing ${KEY_ID} (${arn}); the KMS key is unchanged.\n`);
  });

  it("--json prints the API's answer unchanged", async () => {
    const answer = { items: [keyView()], nextToken: "abc" };
    api.answer(() => ({ status: 200, body: answer }));

    const result = await runCli(["keys", "list", "--json", "--api-url", api.url], { cwd: cwd.path });

    expect(JSON.parse(result.stdout)).toEqual(answer);
  });
});
