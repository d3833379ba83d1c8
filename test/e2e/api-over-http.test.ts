import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../infra/local/runner/index.js";
import { ADMIN, E2E_STACK_START_MS, READER, startE2eStack } from "../support/e2e-stack.js";
import { signedFetch } from "./support.js";

/**
 * Every admin route over real HTTP through the local API Gateway stand-in (SigV4 verified, IAM identity
 * filled in), and bad input that must end in a clean 4xx with the documented error body, never a 5xx.
 */
let stack: LocalStack;
const alias = `alias/http-${Date.now()}`;
const aliasPath = encodeURIComponent(alias);

const call = (method: string, path: string, extra: Partial<Parameters<typeof signedFetch>[1]> = {}) =>
  signedFetch(stack.apiUrl, { method, path, credentials: ADMIN, ...extra });

function expectErrorBody(body: unknown, code: string): void {
  expect(body).toMatchObject({ error: { code, message: expect.any(String), requestId: expect.any(String) } });
  expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack
}

beforeAll(async () => {
  stack = await startE2eStack();
}, E2E_STACK_START_MS);

afterAll(async () => {
  await stack?.close();
});

describe("every route over HTTP", () => {
  it("registers, shows, lists, re-imports, changes policy, revokes, restores, reads history and unmanages", async () => {
    const registered = await call("POST", "/keys", {
      body: {
        mode: "create",
        region: "eu-west-1",
        keySpec: "SYMMETRIC_DEFAULT",
        materialRef: `http/${Date.now()}`,
        generateMaterial: true,
        alias,
        policy: { validityPeriod: "P30D" },
      },
    });
    expect(registered.status).toBe(201);

    const shown = await call("GET", `/keys/${aliasPath}`, { credentials: READER });
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ key: { alias } });

    const listed = await call("GET", "/keys?status=active", { credentials: READER });
    expect(listed.status).toBe(200);
    expect((listed.body as { items: Array<{ alias?: string }> }).items.some((k) => k.alias === alias)).toBe(
      true,
    );

    expect((await call("POST", `/keys/${aliasPath}/reimport`)).status).toBe(200);
    expect((await call("PATCH", `/keys/${aliasPath}/policy`, { body: { renewBefore: "P5D" } })).status).toBe(
      200,
    );
    expect((await call("POST", `/keys/${aliasPath}/revoke`, { body: { reason: "drill" } })).status).toBe(200);
    const refused = await call("POST", `/keys/${aliasPath}/reimport`);
    expect(refused.status).toBe(409);
    expectErrorBody(refused.body, "Conflict");
    expect(
      (await call("POST", `/keys/${aliasPath}/restore`, { body: { reason: "drill over" } })).status,
    ).toBe(200);

    const history = await call("GET", `/keys/${aliasPath}/history`, { credentials: READER });
    expect(history.status).toBe(200);
    const types = (history.body as { items: Array<{ detailType: string; actor: string }> }).items.map(
      (e) => e.detailType,
    );
    expect(types).toEqual(
      expect.arrayContaining(["Key Registered", "Key Material Revoked", "Key Material Restored"]),
    );

    expect((await call("DELETE", `/keys/${aliasPath}`)).status).toBe(200);
    expect((await call("GET", `/keys/${aliasPath}`)).status).toBe(404);
  });

  it("serves the OpenAPI document without a signature", async () => {
    const res = await fetch(`${stack.apiUrl}/openapi.json`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ openapi: expect.stringMatching(/^3\.1/) });
  });
});

describe("bad input over HTTP gets a clean 4xx", () => {
  it.each([
    ["malformed JSON", { rawBody: "{not json" }, 400, "ValidationError"],
    ["a missing field", { body: { mode: "create" } }, 400, "ValidationError"],
    [
      "an extra field",
      { body: { mode: "adopt", keyArn: "x", materialRef: "a", surprise: 1 } },
      400,
      "ValidationError",
    ],
    [
      "a wrong type",
      { body: { mode: "create", region: 7, keySpec: "SYMMETRIC_DEFAULT", materialRef: "a" } },
      400,
      "ValidationError",
    ],
    ["a duplicated member name", { rawBody: '{"mode":"adopt","mode":"create"}' }, 400, "ValidationError"],
    [
      "an oversized body",
      { rawBody: JSON.stringify({ description: "x".repeat(200_000) }) },
      413,
      "PayloadTooLarge",
    ],
    [
      "a wrong content type",
      { rawBody: "mode=create", headers: { "content-type": "text/plain" } },
      415,
      "UnsupportedMediaType",
    ],
  ])("POST /keys with %s → %i", async (_, extra, status, code) => {
    const res = await call("POST", "/keys", extra);
    expect(res.status).toBe(status);
    expectErrorBody(res.body, code);
  });

  it.each([
    ["an unknown Tether id", "/keys/tk_01JX0000000000000000000000", [404]],
    ["an unknown alias", `/keys/${encodeURIComponent("alias/nobody")}`, [404]],
    ["a traversal attempt", "/keys/..%2F..%2Fetc%2Fpasswd", [400, 404]],
    ["a control character", "/keys/a%00b", [400, 404]],
  ])("GET with %s → 4xx", async (_, path, statuses) => {
    const res = await call("GET", path);
    expect(statuses).toContain(res.status);
  });

  it("does the work once for a retried POST with the same Idempotency-Key", async () => {
    const body = {
      mode: "create",
      region: "eu-west-1",
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: `http/idem-${Date.now()}`,
      generateMaterial: true,
    };
    const headers = { "idempotency-key": `retry-${Date.now()}` };
    const first = await call("POST", "/keys", { body, headers });
    const second = await call("POST", "/keys", { body, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
  });
});
