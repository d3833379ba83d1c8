import { readFileSync } from "node:fs";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parse as parseYaml } from "yaml";
import { openApiJson } from "../../../lib/api/openapi-json.js";
import { ErrorResponse, KeyActionResponse } from "../../../lib/api/schemas.js";
import { type ApiBed, keyPath, READER, STRANGER, startApiBed } from "./support.js";

/** Authorization, bad input, unknown paths and ids, internal errors: always a clean answer, never a stack. */
let api: ApiBed;
let keyId: string;

beforeAll(async () => {
  api = await startApiBed({ TETHER_MAX_BODY_BYTES: "4096" });
  keyId = KeyActionResponse.parse((await api.register()).body).key.id;
}, 60_000);

afterAll(async () => {
  await api?.close();
});

function expectError(
  answer: { status: number; body: unknown },
  status: number,
  code: string,
  field?: string,
) {
  expect(answer.status).toBe(status);
  const { error } = ErrorResponse.parse(answer.body);
  expect(error.code).toBe(code);
  expect(error.requestId).toMatch(/^req-/);
  if (field !== undefined) expect(error.field).toBe(field);
  return error;
}

describe("authorization", () => {
  it("refuses a request without an IAM identity with 403", async () => {
    expectError(await api.call("GET", "/keys", { caller: null }), 403, "Unauthorized");
    expectError(
      await api.call("POST", keyPath(keyId, "/revoke"), { caller: null, body: { reason: "x" } }),
      403,
      "Unauthorized",
    );
  });

  it("refuses an unknown principal with 403, even for reading", async () => {
    expectError(await api.call("GET", "/keys", { caller: STRANGER }), 403, "Forbidden");
    expectError(await api.call("GET", keyPath(keyId), { caller: STRANGER }), 403, "Forbidden");
  });

  it("lets a reader read and nothing else", async () => {
    expect((await api.call("GET", "/keys", { caller: READER })).status).toBe(200);
    expect((await api.call("GET", keyPath(keyId), { caller: READER })).status).toBe(200);
    expect((await api.call("GET", keyPath(keyId, "/history"), { caller: READER })).status).toBe(200);
    const refused = [
      await api.call("POST", keyPath(keyId, "/revoke"), { caller: READER, body: { reason: "x" } }),
      await api.call("POST", keyPath(keyId, "/reimport"), { caller: READER }),
      await api.call("POST", keyPath(keyId, "/restore"), { caller: READER, body: { reason: "x" } }),
      await api.call("PATCH", keyPath(keyId, "/policy"), {
        caller: READER,
        body: { paused: true, reason: "x" },
      }),
      await api.call("DELETE", keyPath(keyId), { caller: READER }),
      await api.call("POST", "/keys", { caller: READER, body: {} }),
    ];
    for (const answer of refused) expectError(answer, 403, "Forbidden");
    const events = await api.bed.history(keyId);
    expect(events.some((e) => e.actor === READER)).toBe(false);
  });

  it("checks the identity before anything about the input", async () => {
    expectError(await api.call("POST", "/keys", { caller: READER, body: "{not json" }), 403, "Forbidden");
  });

  it("matches admin patterns with wildcards (an assumed role's session)", async () => {
    expect(
      (await api.call("GET", "/keys", { caller: "arn:aws:sts::111122223333:assumed-role/TetherOps/eve" }))
        .status,
    ).toBe(200);
  });
});

describe("paths and methods", () => {
  it("answers 404 for unknown paths and 405 with Allow for a wrong method", async () => {
    expectError(await api.call("GET", "/nope"), 404, "NotFound");
    expectError(await api.call("GET", keyPath(keyId, "/history/extra")), 404, "NotFound");
    expectError(await api.call("GET", "/keys/"), 404, "NotFound");
    const wrong = await api.call("PUT", "/keys");
    expectError(wrong, 405, "MethodNotAllowed");
    expect(wrong.headers.allow).toBe("GET, POST");
    const wrongOnKey = await api.call("POST", keyPath(keyId));
    expect(wrongOnKey.headers.allow).toBe("GET, DELETE");
  });

  it("treats path tricks as a missing key or bad input, never a 5xx", async () => {
    expectError(await api.call("GET", "/keys/..%2F..%2Fetc%2Fpasswd"), 404, "NotFound");
    expectError(await api.call("GET", "/keys/%2E%2E"), 404, "NotFound");
    expectError(await api.call("GET", "/keys/../keys"), 404, "NotFound");
    expectError(await api.call("GET", "/keys/alias%2F..%2F..%2Fx/history"), 404, "NotFound");
    expectError(await api.call("GET", "/keys/a%00b"), 400, "ValidationError", "id");
    expectError(await api.call("GET", "/keys/a%0D%0Ab"), 400, "ValidationError", "id");
    expectError(await api.call("GET", "/keys/%E0%A4%A"), 400, "ValidationError", "id");
    expectError(await api.call("GET", `/keys/${"x".repeat(600)}`), 400, "ValidationError", "id");
    expectError(
      await api.call("POST", "/keys/tk_01J00000000000000000000000/revoke", { body: { reason: "x" } }),
      404,
      "NotFound",
    );
  });
});

describe("bad input", () => {
  it("refuses malformed JSON, a non-object, and an absent required body with 400", async () => {
    const path = keyPath(keyId, "/revoke");
    const malformed = { "content-type": "application/json" };
    expectError(
      await api.call("POST", path, { body: '{"reason":', headers: malformed }),
      400,
      "ValidationError",
      "body",
    );
    expectError(
      await api.call("POST", path, { body: "[1,2]", headers: malformed }),
      400,
      "ValidationError",
      "body",
    );
    expectError(await api.call("POST", path, {}), 400, "ValidationError", "body");
  });

  it("names a missing field, an extra field and a wrong type", async () => {
    const path = keyPath(keyId, "/revoke");
    expectError(await api.call("POST", path, { body: {} }), 400, "ValidationError", "reason");
    expectError(
      await api.call("POST", path, { body: { reason: "x", force: true } }),
      400,
      "ValidationError",
      "force",
    );
    expectError(await api.call("POST", path, { body: { reason: 42 } }), 400, "ValidationError", "reason");
    expectError(await api.call("POST", path, { body: { reason: "  " } }), 400, "ValidationError", "reason");
    expectError(await api.call("POST", "/keys", { body: { mode: "clone" } }), 400, "ValidationError", "mode");
    expectError(
      await api.call("POST", "/keys", {
        body: {
          mode: "create",
          region: "eu-west-1",
          keySpec: "SYMMETRIC_DEFAULT",
          materialRef: "x",
          policy: { validity: "P1D" },
        },
      }),
      400,
      "ValidationError",
      "policy.validity",
    );
    expectError(
      await api.call("PATCH", keyPath(keyId, "/policy"), { body: { renewBefore: 5 } }),
      400,
      "ValidationError",
      "renewBefore",
    );
    expectError(await api.call("PATCH", keyPath(keyId, "/policy"), { body: {} }), 400, "ValidationError");
    expectError(
      await api.call("POST", keyPath(keyId, "/reimport"), { body: { now: true } }),
      400,
      "ValidationError",
      "now",
    );
  });

  it("refuses a body that is not application/json with 415 and one over the limit with 413", async () => {
    const path = keyPath(keyId, "/revoke");
    const text = await api.call("POST", path, {
      body: "reason=x",
      headers: { "content-type": "text/plain" },
    });
    expectError(text, 415, "UnsupportedMediaType");
    const none = await api.call("POST", path, { body: '{"reason":"x"}' });
    expectError(none, 415, "UnsupportedMediaType");
    const big = await api.call("POST", path, { body: { reason: "x".repeat(5000) } });
    expectError(big, 413, "PayloadTooLarge");
    const bigBase64 = await api.call("POST", path, {
      body: Buffer.from(JSON.stringify({ reason: "y".repeat(5000) })).toString("base64"),
      headers: { "content-type": "application/json" },
      isBase64Encoded: true,
    });
    expectError(bigBase64, 413, "PayloadTooLarge");
  });

  it("validates the query string strictly", async () => {
    expectError(await api.call("GET", "/keys", { query: { limit: "0" } }), 400, "ValidationError", "limit");
    expectError(await api.call("GET", "/keys", { query: { limit: "ten" } }), 400, "ValidationError", "limit");
    expectError(
      await api.call("GET", "/keys", { query: { status: "gone" } }),
      400,
      "ValidationError",
      "status",
    );
    expectError(
      await api.call("GET", "/keys", { query: { expiringBefore: "tomorrow" } }),
      400,
      "ValidationError",
      "expiringBefore",
    );
    expectError(await api.call("GET", "/keys", { query: { sort: "id" } }), 400, "ValidationError", "sort");
    expectError(
      await api.call("GET", "/keys", { query: { nextToken: "bm9wZQ" } }),
      400,
      "ValidationError",
      "nextToken",
    );
    expectError(
      await api.call("GET", keyPath(keyId), { query: { verbose: "1" } }),
      400,
      "ValidationError",
      "verbose",
    );
  });

  it("refuses an Idempotency-Key on a route that does not take one", async () => {
    expectError(
      await api.call("GET", "/keys", { headers: { "Idempotency-Key": "abc" } }),
      400,
      "ValidationError",
      "Idempotency-Key",
    );
  });
});

describe("internal errors", () => {
  it("answers 500 with only a generic message and the request id, which the logged line carries", async () => {
    const writes: string[] = [];
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    const dynamodb = mockClient(DynamoDBDocumentClient);
    dynamodb.on(QueryCommand).rejects(new Error("socket hang up near internal-table-secret"));
    let answer: Awaited<ReturnType<ApiBed["call"]>>;
    try {
      answer = await api.call("GET", "/keys");
    } finally {
      dynamodb.restore();
      stdout.mockRestore();
      stderr.mockRestore();
    }
    const error = expectError(answer, 500, "InternalError");
    expect(Object.keys(error).sort()).toEqual(["code", "message", "requestId"]);
    expect(answer.raw).not.toMatch(/socket|secret|stack|at /);
    const line = writes.find((w) => w.includes(error.requestId) && w.includes("request failed"));
    expect(line).toBeDefined();
    expect(line).toContain("internal-table-secret");
  });
});

describe("docs/openapi.json", () => {
  it("is what the generator produces from the current schemas (run `npm run openapi`)", () => {
    const committed = readFileSync(new URL("../../../docs/openapi.json", import.meta.url), "utf8");
    expect(committed).toBe(openApiJson());
  });

  it("describes every route of serverless.yml", async () => {
    const doc = JSON.parse(openApiJson());
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const yml = parseYaml(readFileSync(new URL("../../../serverless.yml", import.meta.url), "utf8"));
    const events: Array<{ httpApi?: { method: string; path: string } }> = yml.functions.api.events;
    const declared = events.flatMap((e) =>
      e.httpApi === undefined ? [] : [`${e.httpApi.method} ${e.httpApi.path}`],
    );
    expect(declared.length).toBe(25); // 13, POST /keys/check, four dual-control routes (/operations), four of /accounts, three of /agent
    expect(routes.sort()).toEqual(declared.sort());
  });
});
