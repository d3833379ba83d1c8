import type { APIGatewayProxyEventV2WithIAMAuthorizer, Context } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { createApi } from "../../../lib/api/app.js";
import { loadConfig } from "../../../lib/config.js";

const config = loadConfig({
  AWS_REGION: "eu-west-1",
  TETHER_TABLE_NAME: "tether",
  TETHER_AUDIT_BUS_NAME: "tether-audit",
  TETHER_ADMIN_PRINCIPALS: "arn:aws:iam::123456789012:role/KeyAdmins",
  TETHER_READER_PRINCIPALS: "arn:aws:iam::123456789012:role/security/SecurityAudit",
  TETHER_AGENT_PRINCIPALS: "arn:aws:iam::123456789012:role/TetherVaultAgent",
});

function request(method: string, path: string, userArn?: string): APIGatewayProxyEventV2WithIAMAuthorizer {
  return {
    rawPath: path,
    headers: {},
    requestContext: {
      requestId: "gw-1",
      http: { method, path },
      ...(userArn === undefined ? {} : { authorizer: { iam: { userArn } } }),
    },
  } as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
}

function apiWithLog() {
  const lines: Array<{ message: string; fields: Record<string, unknown> }> = [];
  const log = {
    info: (message: string, fields: Record<string, unknown>) => lines.push({ message, fields }),
    error: (message: string, fields: Record<string, unknown>) => lines.push({ message, fields }),
  };
  const api = createApi({
    // A refused request must never reach the use cases.
    deps: () => {
      throw new Error("the use cases were reached");
    },
    roles: config,
    maxBodyBytes: 4096,
    log,
  });
  const context = { awsRequestId: "req-1" } as Context;
  return { lines, call: (event: APIGatewayProxyEventV2WithIAMAuthorizer) => api(event, context) };
}

describe("admin API authorization with parsed principal lists", () => {
  it("refuses a session of a role whose name only starts like an admin role's, and logs its ARN", async () => {
    const { lines, call } = apiWithLog();
    const caller = "arn:aws:sts::123456789012:assumed-role/KeyAdminsReadOnly/mallory";

    const answer = await call(request("POST", "/keys/tk_x/revoke", caller));

    expect(answer).toMatchObject({ statusCode: 403 });
    expect(lines).toContainEqual({
      message: "access refused",
      fields: { requestId: "req-1", callerArn: caller, route: "POST /keys/{id}/revoke" },
    });
  });

  it("logs a request with no identity as such", async () => {
    const { lines, call } = apiWithLog();
    expect(await call(request("GET", "/keys"))).toMatchObject({ statusCode: 403 });
    expect(lines.find((l) => l.message === "access refused")?.fields.callerArn).toBe("none");
  });

  it("refuses a reader's write, logging the reader", async () => {
    const { lines, call } = apiWithLog();
    const reader = "arn:aws:sts::123456789012:assumed-role/SecurityAudit/carol";
    const answer = await call(request("DELETE", "/keys/tk_x", reader));
    expect(answer).toMatchObject({ statusCode: 403 });
    expect(JSON.parse(String((answer as { body: string }).body)).error.message).toMatch(/needs an admin/);
    expect(lines.find((l) => l.message === "access refused")?.fields.callerArn).toBe(reader);
  });

  it("admits any session of the listed role (the admin gets past authorization)", async () => {
    const { lines, call } = apiWithLog();
    const answer = await call(
      request("GET", "/keys", "arn:aws:sts::123456789012:assumed-role/KeyAdmins/alice@example.com"),
    );
    // Past authorization the route reaches the use cases, which this test does not provide: a 500.
    expect(answer).toMatchObject({ statusCode: 500 });
    expect(lines.some((l) => l.message === "access refused")).toBe(false);
  });

  it("admits only vault agents to the agent routes, and vault agents to nothing else", async () => {
    const { call } = apiWithLog();
    const admin = "arn:aws:sts::123456789012:assumed-role/KeyAdmins/alice";
    const agent = "arn:aws:sts::123456789012:assumed-role/TetherVaultAgent/host-1";
    expect(await call(request("GET", "/agent/requests", admin))).toMatchObject({ statusCode: 403 });
    expect(await call(request("POST", "/agent/requests/r-1/answer", admin))).toMatchObject({
      statusCode: 403,
    });
    expect(await call(request("GET", "/keys", agent))).toMatchObject({ statusCode: 403 });
    expect(await call(request("GET", "/agent/health", agent))).toMatchObject({ statusCode: 403 });
    // Past authorization (the use cases are not provided here: a 500, or the query's 400).
    expect(
      (await call(request("GET", "/agent/requests", agent))) as { statusCode: number },
    ).not.toMatchObject({
      statusCode: 403,
    });
  });
});
