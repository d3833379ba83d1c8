/**
 * `tether ops list|show|approve|deny`, and the destructive commands' 202 (dual control held the request):
 * the CLI against a stand-in API over HTTP (test/integration/cli/fake-api.ts), answering in the API's shapes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { OperationView } from "../../../lib/api/schemas.js";
import { ExitCode } from "../../../lib/cli/exit-codes.js";
import { type FakeApi, NOW, startFakeApi } from "./fake-api.js";
import { emptyWorkingDirectory, runCli } from "./run-cli.js";

const KEY_ID = "tk_01JZ0000000000000000000000";
const OP_ID = "op-20261205T030000Z-1a2b3c4d5e6f";

const operation = OperationView.parse({
  id: OP_ID,
  operation: "revoke",
  keyId: KEY_ID,
  state: "pending",
  requestedBy: "arn:aws:iam::111122223333:user/alice",
  reason: "suspected leak",
  createdAt: "2026-12-05T03:00:00.000Z",
  expiresAt: "2026-12-05T04:00:00.000Z",
  quorum: 2,
  approvalsCounted: 0,
  emergency: false,
  input: { reason: "suspected leak" },
  approvals: [],
});

let api: FakeApi;
let cwd: { path: string; remove(): Promise<void> };
const cli = (argv: string[]) => runCli([...argv, "--api-url", api.url], { cwd: cwd.path, now: NOW });

beforeAll(async () => {
  api = await startFakeApi();
  cwd = await emptyWorkingDirectory();
});
afterAll(async () => {
  await api?.close();
  await cwd?.remove();
});
beforeEach(() => {
  api.requests.length = 0;
});

describe("a destructive command under dual control", () => {
  it.each([
    [["keys", "revoke", KEY_ID, "--reason", "suspected leak"], "POST", `/keys/${KEY_ID}/revoke`],
    [["keys", "unmanage", KEY_ID, "--reason", "decommission"], "DELETE", `/keys/${KEY_ID}`],
    [["keys", "rotate", KEY_ID, "--reason", "yearly"], "POST", `/keys/${KEY_ID}/rotate`],
    [
      ["keys", "policy", KEY_ID, "--restore-after-loss", "false", "--reason", "x"],
      "PATCH",
      `/keys/${KEY_ID}/policy`,
    ],
  ])("%s prints the request id and how to approve on 202", async (argv, method, path) => {
    api.answer(() => ({
      status: 202,
      body: { operation, approve: `POST /operations/${OP_ID}/approve` },
    }));
    const result = await cli(argv);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(ExitCode.Ok);
    expect(result.stdout).toContain("Held for approval: revoke needs 2 people. Nothing was done yet.");
    expect(result.stdout).toContain(`tether ops approve ${OP_ID} --reason`);
    expect(api.requests[0]).toMatchObject({ method, url: path });
  });

  it("sends --emergency with a revoke", async () => {
    api.answer(() => ({ status: 202, body: { operation, approve: "x" } }));
    await cli(["keys", "revoke", KEY_ID, "--reason", "exfiltrated", "--emergency"]);
    expect(JSON.parse(api.requests[0]?.body.toString() ?? "{}")).toEqual({
      reason: "exfiltrated",
      emergency: true,
    });
  });
});

describe("tether ops", () => {
  it("list shows each request with its people count", async () => {
    api.answer(() => ({ status: 200, body: { items: [operation] } }));
    const result = await cli(["ops", "list", "--state", "pending"]);
    expect(result.code).toBe(ExitCode.Ok);
    expect(result.stdout).toMatch(new RegExp(`^${OP_ID} +revoke +${KEY_ID} +pending +1/2 `, "m"));
    expect(api.requests[0]?.url).toBe("/operations?state=pending");
  });

  it("show, approve and deny call their routes with the reason", async () => {
    api.answer(() => ({ status: 200, body: { operation } }));
    expect((await cli(["ops", "show", OP_ID])).stdout).toContain(
      "asked by:  arn:aws:iam::111122223333:user/alice",
    );
    const approved = await cli(["ops", "approve", OP_ID, "--reason", "checked"]);
    expect(approved.code).toBe(ExitCode.Ok);
    const denied = await cli(["ops", "deny", OP_ID, "--reason", "no"]);
    expect(denied.code).toBe(ExitCode.Ok);
    expect(api.requests.map((r) => `${r.method} ${r.url} ${r.body.toString()}`)).toEqual([
      `GET /operations/${OP_ID} `,
      `POST /operations/${OP_ID}/approve {"reason":"checked"}`,
      `POST /operations/${OP_ID}/deny {"reason":"no"}`,
    ]);
    // The API refuses an Idempotency-Key on these routes (400): the CLI must not send one.
    expect(api.requests.map((r) => r.headers["idempotency-key"])).toEqual([undefined, undefined, undefined]);
  });

  it("refuses approve without --reason before sending anything, and an unknown ops command", async () => {
    const missing = await cli(["ops", "approve", OP_ID]);
    expect(missing.code).toBe(ExitCode.Usage);
    expect(missing.stderr).toMatch(/--reason is required/);
    const unknown = await cli(["ops", "explode"]);
    expect(unknown.code).toBe(ExitCode.Usage);
    expect(unknown.stderr).toMatch(/unknown command "ops explode"/);
    expect(api.requests).toHaveLength(0);
  });
});
