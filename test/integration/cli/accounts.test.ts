/**
 * `tether accounts add|list|show|remove`: the requests the CLI sends (signed, against a fake API that answers
 * like Tether's) and what it prints, including a check on add that found something missing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ExitCode } from "../../../lib/cli/exit-codes.js";
import { apiError, type FakeApi, NOW, startFakeApi } from "./fake-api.js";
import { emptyWorkingDirectory, runCli, TEST_CREDENTIALS } from "./run-cli.js";

const ROLE = "arn:aws:iam::222233334444:role/tether-member";
const account = (missing: string[] = []) => ({
  accountId: "222233334444",
  roleArn: ROLE,
  externalId: "ext-1",
  name: "payments",
  addedAt: NOW.toISOString(),
  addedBy: "arn:aws:iam::111122223333:user/admin",
  check: {
    checkedAt: NOW.toISOString(),
    assumeRole: { ok: true },
    ...(missing.length === 0
      ? { kms: { ok: true, detail: "ListKeys: 1 key(s) on the first page" } }
      : { kms: { ok: false, code: "AccessDeniedException", message: "no" } }),
    missing,
  },
});

describe("tether accounts", () => {
  let api: FakeApi;
  let cwd: { path: string; remove(): Promise<void> };
  const run = (argv: string[]) =>
    runCli([...argv, "--api-url", api.url], { cwd: cwd.path, now: NOW, credentials: TEST_CREDENTIALS });

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

  it("adds: sends the role, external id and probe key, and prints what the check found missing", async () => {
    api.answer(() => ({
      status: 201,
      body: { account: account(["kms:ListKeys refused (AccessDeniedException): ..."]) },
    }));
    const result = await run([
      "accounts",
      "add",
      "--role-arn",
      ROLE,
      "--external-id",
      "ext-1",
      "--name",
      "payments",
      "--require-check",
    ]);
    expect(result.code).toBe(ExitCode.Ok);
    const [request] = api.requests;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe("/accounts");
    expect(JSON.parse(request?.body.toString("utf8") ?? "{}")).toEqual({
      roleArn: ROLE,
      externalId: "ext-1",
      name: "payments",
      requireCheck: true,
    });
    expect(result.stdout).toContain("222233334444  payments");
    expect(result.stdout).toContain("KMS refused: AccessDeniedException");
    expect(result.stdout).toContain("MISSING      kms:ListKeys refused");
  });

  it("refuses add without --role-arn before any request", async () => {
    const result = await run(["accounts", "add", "--external-id", "ext-1"]);
    expect(result.code).toBe(ExitCode.Usage);
    expect(result.stderr).toContain("role-arn");
    expect(api.requests).toEqual([]);
  });

  it("maps the API's field errors to the command's flags", async () => {
    api.answer(() =>
      apiError(400, "ValidationError", "externalId: must be 2 to 1224 characters", "externalId"),
    );
    const result = await run(["accounts", "add", "--role-arn", ROLE, "--external-id", "x"]);
    expect(result.code).toBe(ExitCode.InvalidInput);
    expect(result.stderr).toContain("--external-id");
  });

  it("lists, shows and removes", async () => {
    api.answer((request) => {
      if (request.method === "GET" && request.url === "/accounts")
        return { status: 200, body: { items: [account()] } };
      if (request.method === "GET") return { status: 200, body: { account: account() } };
      return { status: 200, body: { accountId: "222233334444", removed: true } };
    });
    const list = await run(["accounts", "list"]);
    expect(list.stdout).toContain("assume role ok; KMS ok (ListKeys: 1 key(s) on the first page)");
    expect((await run(["accounts", "show", "222233334444"])).stdout).toContain(`role         ${ROLE}`);
    expect((await run(["accounts", "remove", "222233334444"])).stdout).toBe("Removed 222233334444\n");
    expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "GET /accounts",
      "GET /accounts/222233334444",
      "DELETE /accounts/222233334444",
    ]);
    const help = await run(["accounts", "--help"]);
    expect(help.stdout).toContain("Usage: tether accounts <command> [options]");
  });
});
