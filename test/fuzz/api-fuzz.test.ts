/**
 * Fuzzing the admin API over real HTTP (the local API Gateway stand-in, SigV4 verified): requests generated
 * from docs/openapi.json — valid, almost valid and hostile (wrong types, huge strings, unicode, path
 * traversal in ids, duplicated JSON keys, deep JSON, wrong content types, missing and bad signatures).
 * Every answer must be a status the document lists for the route (or API Gateway's own 403/404/413 before
 * the function), with a JSON error body, never a 5xx, a stack or an internal message; no hostile request
 * may change the table or call a KMS operation that writes. Default TETHER_FUZZ_REQUESTS=500 (15-20 s
 * here); set it higher for longer runs. Also the load smoke (bench/load) for CI, bounded to a few seconds.
 */
import { readFileSync } from "node:fs";
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runLoad } from "../../bench/load/load.js";
import {
  LOCAL_ADMIN,
  LOCAL_READER,
  type LocalStack,
  startLocalStack,
} from "../../infra/local/runner/index.js";
import { DEFAULT_APPROVAL_RULES, openOperationRequest } from "../../lib/domain/approvals.js";
import { DynamoOperationRequests } from "../../lib/store/dynamo-operation-requests.js";
import { signedFetch } from "../e2e/support.js";

const REQUESTS = Number(process.env.TETHER_FUZZ_REQUESTS ?? 500);
const admin = { accessKeyId: LOCAL_ADMIN.accessKeyId, secretAccessKey: LOCAL_ADMIN.secretAccessKey };
const reader = { accessKeyId: LOCAL_READER.accessKeyId, secretAccessKey: LOCAL_READER.secretAccessKey };

interface OpenApi {
  paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>>;
  components: { schemas: { Error: { properties: { error: { properties: { code: { enum: string[] } } } } } } };
}
const openapi = JSON.parse(
  readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8"),
) as OpenApi;
const ERROR_CODES = new Set(openapi.components.schemas.Error.properties.error.properties.code.enum);

/** Statuses the document lists for method + path template; API Gateway's own answers come before it. */
function documented(method: string, template: string | undefined): Set<number> {
  const gateway = [403, 404, 413];
  if (template === undefined) return new Set(gateway);
  const op = openapi.paths[template]?.[method.toLowerCase()];
  return new Set([...gateway, ...Object.keys(op?.responses ?? {}).map(Number)]);
}

type Auth = "admin" | "reader" | "none" | "bad-signature" | "wrong-secret" | "stale";

interface FuzzRequest {
  /** hostile: must change nothing. valid/almost: may change state; only the answer's shape is checked. */
  readonly kind: "hostile" | "valid" | "almost";
  readonly label: string;
  readonly method: string;
  readonly path: string;
  /** The OpenAPI path the request aims at, for its documented statuses. */
  readonly template: string | undefined;
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
  readonly auth: Auth;
}

let stack: LocalStack;
let dynamodb: DynamoDBClient;
let keyId = "";
let keyArn = "";
/** A pending dual-control request by the local admin, stored before the fuzzing (the stage's quorum is 1). */
let operationId = "";
const UNKNOWN_OPERATION = "op-20260101T000000Z-000000000000";
const alias = `alias/fuzz-${Date.now()}`;
const histogram: Record<string, number> = {};
const byKind: Record<string, number> = {};
let fiveHundreds = 0;
let sent = 0;

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
  stack = await startLocalStack({
    memory: true,
    ports: { api: 0, kms: 0, dynamodb: 0, events: 0 },
    sweepIntervalMs: 0,
    log: () => undefined,
  });
  dynamodb = new DynamoDBClient({
    endpoint: stack.endpoints.dynamodb,
    region: stack.region,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const registered = await signedFetch(stack.apiUrl, {
    method: "POST",
    path: "/keys",
    credentials: admin,
    body: {
      mode: "create",
      region: "eu-west-1",
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: `fuzz/${Date.now()}`,
      generateMaterial: true,
      alias,
      policy: { validityPeriod: "P30D", wrappingKeySpec: "RSA_2048" },
    },
  });
  expect(registered.status).toBe(201);
  const key = (registered.body as { key: { id: string; regions: Array<{ keyArn: string }> } }).key;
  keyId = key.id;
  keyArn = key.regions[0]?.keyArn ?? "";
  const now = new Date();
  const pending = openOperationRequest(
    {
      id: `op-fuzz-${now.getTime()}`,
      operation: "revoke",
      keyId,
      keyArn,
      input: { reason: "fuzz" },
      requestedBy: LOCAL_ADMIN.principalArn,
      reason: "fuzz",
      quorum: 2,
      emergency: false,
    },
    { ...DEFAULT_APPROVAL_RULES, requestTtlMs: 7 * 24 * 3_600_000 },
    now,
  );
  await new DynamoOperationRequests({ client: dynamodb, tableName: stack.tableName }).create(pending);
  operationId = pending.id;
}, 60_000);

afterAll(async () => {
  console.log(
    `[fuzz] ${sent} requests (${JSON.stringify(byKind)}), status histogram ${JSON.stringify(histogram)}, ` +
      `5xx: ${fiveHundreds}, over the gateway's header limit: ${overGatewayLimit}`,
  );
  dynamodb?.destroy();
  await stack?.close();
});

/** Keys, claims, regions and history — everything but the idempotency records — plus KMS's write calls. */
async function snapshot(): Promise<string> {
  const items: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: stack.tableName,
        ...(start ? { ExclusiveStartKey: start as never } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      if (item.pk?.S?.startsWith("tether-api")) continue;
      items.push(JSON.stringify(item, Object.keys(item).sort()));
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  const stats = await stack.localAws.kms.admin.stats();
  const writes = [
    "CreateKey",
    "ImportKeyMaterial",
    "DeleteImportedKeyMaterial",
    "ReplicateKey",
    "CreateAlias",
  ].map((op) => Object.values(stats.calls).reduce((n, row) => n + (row[op] ?? 0), 0));
  return `${items.sort().join("\n")}\n${writes.join(",")}`;
}

async function send(request: FuzzRequest): Promise<{ status: number; text: string }> {
  if (request.auth === "none") {
    const body = request.rawBody ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
    const res = await fetch(`${stack.apiUrl}${request.path}`, {
      method: request.method,
      headers: { "content-type": "application/json", ...request.headers },
      body,
    });
    return { status: res.status, text: await res.text() };
  }
  const credentials =
    request.auth === "reader"
      ? reader
      : request.auth === "wrong-secret"
        ? { accessKeyId: admin.accessKeyId, secretAccessKey: "not-the-secret" }
        : admin;
  const out = await signedFetch(stack.apiUrl, {
    method: request.method,
    path: request.path,
    credentials,
    ...(request.body === undefined ? {} : { body: request.body }),
    ...(request.rawBody === undefined ? {} : { rawBody: request.rawBody }),
    ...(request.headers === undefined ? {} : { headers: request.headers }),
    ...(request.auth === "stale" ? { signingDate: new Date(Date.now() - 20 * 60_000) } : {}),
    ...(request.auth === "bad-signature"
      ? {
          spoil: (headers: Record<string, string>) => {
            const auth = headers.authorization ?? headers.Authorization ?? "";
            const flipped = auth.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
            const { authorization: _a, Authorization: _b, ...rest } = headers;
            return { headers: { ...rest, authorization: flipped } };
          },
        }
      : {}),
  });
  return {
    status: out.status,
    text: typeof out.body === "string" ? out.body : JSON.stringify(out.body ?? null),
  };
}

/** Messages that would tell an attacker about the inside: stacks, SDK and runtime errors, file paths. */
const INTERNAL = [
  /at .*\.(ts|js):\d+/,
  /node_modules|\/work\/|file:\/\//,
  /TypeError|ReferenceError|SyntaxError: Unexpected|Cannot read prop/,
  /ConditionalCheckFailed|ResourceNotFoundException|ECONNREFUSED|dynamodb|DynamoDB/,
  /undefined is not|\[object Object\]/,
];

/** API Gateway refuses a request line and headers over 10,240 bytes before any route or function. */
const OVER_GATEWAY_LIMIT = 10_240;
let overGatewayLimit = 0;

function checkAnswer(request: FuzzRequest, answer: { status: number; text: string }): void {
  const where = `${request.label}: ${request.method} ${request.path.slice(0, 120)} -> ${answer.status}`;
  histogram[answer.status] = (histogram[answer.status] ?? 0) + 1;
  if (request.path.length > OVER_GATEWAY_LIMIT) {
    // Not Tether's answer (the gateway's); it must still be a refusal, and change nothing (checked after).
    overGatewayLimit++;
    expect(answer.status, where).toBeGreaterThanOrEqual(400);
    expect(answer.status, where).toBeLessThan(500);
    return;
  }
  if (answer.status >= 500) fiveHundreds++;
  expect(answer.status, `${where} (5xx) ${answer.text.slice(0, 300)}`).toBeLessThan(500);
  expect(
    documented(request.method, request.template).has(answer.status),
    `${where}: undocumented status`,
  ).toBe(true);
  for (const pattern of INTERNAL) {
    expect(pattern.test(answer.text), `${where}: internal detail in ${answer.text.slice(0, 300)}`).toBe(
      false,
    );
  }
  if (answer.status < 400) return;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    throw new Error(`${where}: error body is not JSON: ${answer.text.slice(0, 200)}`);
  }
  const error = (body as { error?: { code?: unknown; message?: unknown; requestId?: unknown } }).error;
  if (error !== undefined) {
    expect(ERROR_CODES.has(String(error.code)), `${where}: error code ${String(error.code)}`).toBe(true);
    expect(typeof error.message, where).toBe("string");
    expect(typeof error.requestId, where).toBe("string");
  } else {
    // API Gateway answers before the function (signature, route, size) with its own {"message"} body.
    expect([403, 404, 413], `${where}: ${answer.text.slice(0, 200)}`).toContain(answer.status);
    expect(typeof (body as { message?: unknown }).message, where).toBe("string");
  }
}

// ---------------------------------------------------------------- generators

const enc = encodeURIComponent;
const hostileId = fc.oneof(
  fc.constantFrom(
    "..%2F..%2Fkeys",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..",
    "%00",
    "tk_%00",
    "%ZZ",
    "alias%2F..%2F..%2Fsecret",
    "arn%3Aaws%3Akms%3Aeu-west-1%3A111122223333%3Akey%2F00000000-0000-0000-0000-000000000000",
    enc("alias/does-not-exist"),
    enc("tk_0000000000000000000000000"),
    enc("𝕋𝕖𝕥𝕙𝕖𝕣🔑"),
    enc("alias/\u202eevil"),
    enc("a".repeat(600)),
    enc("x".repeat(9_000)),
    // Over API Gateway's 10,240 bytes of request line and headers
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html): refused before
    // the function; the local stand-in leaves that to Node (431, no body), see OVER_GATEWAY_LIMIT.
    enc("x".repeat(20_000)),
  ),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }).map((s) => enc(`nope-${s}`)),
);
const realId = () => fc.constantFrom(keyId, enc(alias), enc(keyArn));
const wrongType = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
);
const hugeString = fc.constantFrom(
  "r".repeat(1025),
  "é".repeat(5000),
  "\u0000\u0001",
  "line\nbreak",
  " ".repeat(10),
);
const deepJson = fc.integer({ min: 200, max: 20_000 }).map((d) => `${"[".repeat(d)}${"]".repeat(d)}`);
const deepObject = fc.integer({ min: 100, max: 5000 }).map((d) => `${'{"a":'.repeat(d)}1${"}".repeat(d)}`);
// Not here: an empty body (no body: valid for reimport and DELETE) and a leading BOM, which RFC 8259 §8.1
// lets a parser ignore (TextDecoder does) — both are in validOrAlmost.
const malformedJson = fc.constantFrom('{"reason": "x"', "{reason: 'x'}", "\u0000", "nul", '{"reason":"x"}}');
const writeAction = fc.constantFrom(
  { method: "POST", suffix: "revoke", template: "/keys/{id}/revoke", good: { reason: "fuzz" } },
  { method: "POST", suffix: "restore", template: "/keys/{id}/restore", good: { reason: "fuzz" } },
  { method: "POST", suffix: "reimport", template: "/keys/{id}/reimport", good: {} },
  { method: "PATCH", suffix: "policy", template: "/keys/{id}/policy", good: { renewBefore: "P5D" } },
  { method: "DELETE", suffix: "", template: "/keys/{id}", good: { reason: "fuzz" } },
);
const allRoutes = Object.entries(openapi.paths).flatMap(([template, ops]) =>
  Object.keys(ops).map((m) => ({ method: m.toUpperCase(), template })),
);
const pathOf = (template: string, id: string) => template.replace("{id}", id);

/** Requests that are invalid or unauthorised: none may change anything. */
const hostile = (): fc.Arbitrary<FuzzRequest> =>
  fc.oneof(
    // Any route without a valid signature.
    fc
      .record({
        route: fc.constantFrom(...allRoutes),
        auth: fc.constantFrom<Auth>("none", "bad-signature", "wrong-secret", "stale"),
        id: realId(),
      })
      .filter(({ route }) => route.template !== "/health" && route.template !== "/openapi.json")
      .chain(({ route, auth, id }) =>
        writeAction.map((w) => ({
          kind: "hostile" as const,
          label: `unsigned-or-bad-signature(${auth})`,
          method: route.method,
          path: pathOf(route.template, id),
          template: route.template,
          body: route.method === "GET" ? undefined : w.good,
          auth,
        })),
      ),
    // Writes by the read-only identity.
    fc.record({ w: writeAction, id: realId() }).map(({ w, id }) => ({
      kind: "hostile" as const,
      label: "reader-writes",
      method: w.method,
      path: `${pathOf("/keys/{id}", id)}${w.suffix ? `/${w.suffix}` : ""}`,
      template: w.template,
      body: w.good,
      auth: "reader" as const,
    })),
    // Writes on ids that do not resolve (traversal, unicode, huge).
    fc.record({ w: writeAction, id: hostileId }).map(({ w, id }) => ({
      kind: "hostile" as const,
      label: "hostile-id",
      method: w.method,
      path: `${pathOf("/keys/{id}", id)}${w.suffix ? `/${w.suffix}` : ""}`,
      template: w.template,
      body: w.good,
      auth: "admin" as const,
    })),
    // Writes with bodies that are not what the route takes.
    fc
      .record({
        w: writeAction,
        id: realId(),
        body: fc.oneof(
          fc.record({ reason: fc.oneof(wrongType, hugeString) }),
          fc.record({ reason: fc.constant("ok"), extra: fc.string() }).map((b) => ({ ...b, __proto__x: 1 })),
          fc.record({
            renewBefore: fc.oneof(wrongType, fc.string({ maxLength: 70 })),
            validityPeriod: fc.constant("P1D"),
          }),
          fc.record({ restoreAfterLoss: fc.oneof(fc.string(), fc.integer()), reason: fc.constant("ok") }),
        ),
      })
      .filter(({ w, body }) => !(w.suffix === "reimport" && Object.keys(body).length === 0))
      .map(({ w, id, body }) => ({
        kind: "hostile" as const,
        label: "wrong-body",
        method: w.method,
        path: `${pathOf("/keys/{id}", id)}${w.suffix ? `/${w.suffix}` : ""}`,
        template: w.template,
        body,
        auth: "admin" as const,
      })),
    // Bodies that are not JSON objects, too deep, malformed, or declared as something else.
    fc
      .record({
        w: writeAction,
        id: realId(),
        raw: fc.oneof(
          deepJson,
          deepObject,
          malformedJson,
          fc
            .jsonValue()
            .filter((v) => v === null || typeof v !== "object" || Array.isArray(v))
            .map((v) => JSON.stringify(v)),
        ),
        contentType: fc.constantFrom("application/json", "application/json; charset=utf-8"),
      })
      .map(({ w, id, raw, contentType }) => ({
        kind: "hostile" as const,
        label: "not-an-object",
        method: w.method,
        path: `${pathOf("/keys/{id}", id)}${w.suffix ? `/${w.suffix}` : ""}`,
        template: w.template,
        rawBody: raw,
        headers: { "content-type": contentType },
        auth: "admin" as const,
      })),
    fc
      .record({
        w: writeAction,
        id: realId(),
        contentType: fc.constantFrom(
          "text/plain",
          "application/xml",
          "multipart/form-data; boundary=x",
          "application/x-www-form-urlencoded",
          "application/jsonp",
        ),
      })
      .map(({ w, id, contentType }) => ({
        kind: "hostile" as const,
        label: "wrong-content-type",
        method: w.method,
        path: `${pathOf("/keys/{id}", id)}${w.suffix ? `/${w.suffix}` : ""}`,
        template: w.template,
        rawBody: JSON.stringify(w.good),
        headers: { "content-type": contentType },
        auth: "admin" as const,
      })),
    // Registrations that must be refused before anything is created.
    fc
      .record({
        materialRef: fc.oneof(
          fc.constantFrom(
            "../../etc/passwd",
            "/abs/path",
            "a/../../b",
            "",
            "x".repeat(5000),
            "ref\u0000nul",
            "𝕋/🔑",
          ),
          fc.constant(`fuzz/ok-${Date.now()}`),
        ),
        keySpec: fc.oneof(
          fc.constantFrom("SYMMETRIC_DEFAULT"),
          fc.constantFrom("AES_256", "", "RSA_1024"),
          wrongType,
        ),
        region: fc.oneof(
          fc.constantFrom("eu-west-1"),
          fc.constantFrom("mars-1", "../eu", "EU-WEST-1"),
          wrongType,
        ),
        policy: fc.oneof(
          fc.constant({ validityPeriod: "PT1M" }),
          fc.constant({ validityPeriod: "P400D" }),
          fc.constant({ validityPeriod: "P1D", validTo: "2030-01-01T00:00:00Z" }),
          fc.constant({ reconcileInterval: "P2D" }),
          fc.constant({ nope: true }),
          wrongType,
        ),
      })
      .map((body) => ({
        kind: "hostile" as const,
        label: "bad-registration",
        method: "POST",
        path: "/keys",
        template: "/keys",
        body: { mode: "create", generateMaterial: true, ...body },
        auth: "admin" as const,
      })),
    // Dual control: approvals and denials that must change nothing — by the reader, on hostile or unknown
    // ids, with bodies the route does not take, or the requester's own approval of the stored request —
    // and listings with queries they do not take.
    fc
      .record({
        action: fc.constantFrom("approve", "deny"),
        id: fc.oneof(fc.constant(operationId), fc.constant(UNKNOWN_OPERATION), hostileId),
        auth: fc.constantFrom<Auth>("reader", "admin"),
        body: fc.oneof(
          fc.constant({ reason: "fuzz" }),
          fc.record({ reason: fc.oneof(wrongType, hugeString) }),
          fc.record({ reason: fc.constant("ok"), emergency: fc.boolean() }),
          fc.constant({}),
        ),
      })
      // The admin denying the stored request with a good body is a valid change, not a hostile request.
      .filter(
        ({ action, id, auth, body }) =>
          !(
            action === "deny" &&
            id === operationId &&
            auth === "admin" &&
            "reason" in body &&
            body.reason === "fuzz"
          ),
      )
      .map(({ action, id, auth, body }) => ({
        kind: "hostile" as const,
        label: `operation-${action}`,
        method: "POST",
        path: `/operations/${id}/${action}`,
        template: `/operations/{id}/${action}`,
        body,
        auth,
      })),
    fc
      .record({
        query: fc.oneof(
          fc.record({
            limit: fc.oneof(fc.constantFrom("0", "101", "-1", "1e3", "x"), fc.string({ maxLength: 8 })),
          }),
          fc.record({ state: fc.oneof(fc.constantFrom("PENDING", "all", ""), fc.string({ maxLength: 12 })) }),
          fc.record({ nextToken: fc.constantFrom("x", "eyJwayI6IktFWVMifQ", "%00", "a".repeat(5000)) }),
          fc.record({ sort: fc.constant("asc") }),
        ),
      })
      .map(({ query }) => ({
        kind: "hostile" as const,
        label: "operations-bad-query",
        method: "GET",
        path: `/operations?${new URLSearchParams(query as Record<string, string>).toString()}`,
        template: "/operations",
        auth: "reader" as const,
      })),
    // Unknown routes and methods.
    fc
      .record({
        method: fc.constantFrom("PUT", "DELETE", "PATCH", "POST", "GET", "OPTIONS"),
        path: fc.constantFrom(
          "/",
          "/keys/",
          "/keys//revoke",
          "/admin",
          "/keys/x/y/z",
          "/../../etc/passwd",
          "/health/..",
          "/%2e%2e/keys",
        ),
      })
      .map(({ method, path }) => ({
        kind: "hostile" as const,
        label: "unknown-route",
        method,
        path,
        template: allRoutes.find((r) => r.method === method && r.template === path)?.template,
        body: method === "GET" || method === "OPTIONS" ? undefined : { reason: "x" },
        auth: "admin" as const,
      })),
  );

/** Reads with random parameters, and writes that may be valid: only the shape of the answer is checked. */
const validOrAlmost = (): fc.Arbitrary<FuzzRequest> =>
  fc.oneof(
    fc
      .record({
        status: fc.option(fc.constantFrom("active", "paused", "revoked", "ACTIVE", ""), { nil: undefined }),
        limit: fc.option(
          fc.oneof(fc.integer({ min: -5, max: 200 }).map(String), fc.constantFrom("abc", "1e2", "NaN", "")),
          { nil: undefined },
        ),
        nextToken: fc.option(fc.oneof(fc.string({ maxLength: 20 }), fc.constant("A".repeat(5000))), {
          nil: undefined,
        }),
        expiringBefore: fc.option(
          fc.constantFrom("2030-01-01T00:00:00Z", "yesterday", "2026-02-30T00:00:00Z"),
          { nil: undefined },
        ),
        extra: fc.option(fc.constant("1"), { nil: undefined }),
        auth: fc.constantFrom<Auth>("admin", "reader"),
      })
      .map(({ auth, ...q }) => {
        const query = new URLSearchParams(
          Object.entries(q).filter((e): e is [string, string] => e[1] !== undefined),
        ).toString();
        return {
          kind: "almost" as const,
          label: "list-keys",
          method: "GET",
          path: `/keys${query ? `?${query}` : ""}`,
          template: "/keys",
          auth,
        };
      }),
    fc
      .record({
        id: fc.oneof(realId(), hostileId),
        history: fc.boolean(),
        limit: fc.option(fc.integer({ min: -1, max: 150 }), { nil: undefined }),
        auth: fc.constantFrom<Auth>("admin", "reader"),
      })
      .map(({ id, history, limit, auth }) => ({
        kind: "almost" as const,
        label: history ? "history" : "show-key",
        method: "GET",
        path: `/keys/${id}${history ? "/history" : ""}${limit === undefined ? "" : `?limit=${limit}`}`,
        template: history ? "/keys/{id}/history" : "/keys/{id}",
        auth,
      })),
    fc.constantFrom("/health", "/openapi.json").map((path) => ({
      kind: "valid" as const,
      label: "public",
      method: "GET",
      path,
      template: path,
      auth: "none" as const,
    })),
    fc
      .record({
        w: writeAction.filter((w) => w.method !== "DELETE"),
        id: realId(),
        idem: fc.option(fc.oneof(fc.uuid(), fc.string({ maxLength: 300 })), { nil: undefined }),
      })
      .map(({ w, id, idem }) => ({
        kind: "valid" as const,
        label: `write-${w.suffix}`,
        method: w.method,
        path: `${pathOf("/keys/{id}", id)}/${w.suffix}`,
        template: w.template,
        body: w.good,
        ...(idem === undefined ? {} : { headers: { "idempotency-key": idem } }),
        auth: "admin" as const,
      })),
    fc.record({ id: realId(), raw: fc.constantFrom("", "\uFEFF{}") }).map(({ id, raw }) => ({
      kind: "almost" as const,
      label: "empty-or-bom-body",
      method: "POST",
      path: `/keys/${id}/reimport`,
      template: "/keys/{id}/reimport",
      rawBody: raw,
      auth: "admin" as const,
    })),
    // Duplicated JSON keys: JSON.parse keeps the last; the answer must still be clean.
    fc.record({ id: realId(), first: fc.constantFrom('""', '"ok"', "1", "null") }).map(({ id, first }) => ({
      kind: "almost" as const,
      label: "duplicated-keys",
      method: "POST",
      path: `/keys/${id}/revoke`,
      template: "/keys/{id}/revoke",
      rawBody: `{"reason":${first},"reason":"dup"}`,
      auth: "admin" as const,
    })),
  );

describe("the admin API under fuzzing", () => {
  it(
    `answers ${REQUESTS} generated requests with documented statuses and JSON errors, and hostile ones change nothing`,
    async () => {
      const requests = fc.sample(
        fc.oneof({ weight: 3, arbitrary: hostile() }, { weight: 2, arbitrary: validOrAlmost() }),
        { numRuns: REQUESTS, seed: Number(process.env.TETHER_FUZZ_SEED ?? Date.now() % 1_000_000) },
      );
      for (const request of requests) {
        const before = request.kind === "hostile" ? await snapshot() : "";
        const answer = await send(request);
        sent++;
        byKind[request.kind] = (byKind[request.kind] ?? 0) + 1;
        checkAnswer(request, answer);
        if (request.kind === "hostile") {
          expect(
            answer.status,
            `${request.label}: hostile request accepted: ${request.method} ${request.path.slice(0, 100)} ${(request.rawBody ?? JSON.stringify(request.body) ?? "").slice(0, 100)}`,
          ).toBeGreaterThanOrEqual(400);
          const after = await snapshot();
          expect(
            after === before,
            `${request.label} ${request.method} ${request.path.slice(0, 100)} changed state`,
          ).toBe(true);
        }
      }
      expect(fiveHundreds).toBe(0);
    },
    10 * 60_000,
  );

  it("holds up under a short load smoke (concurrent reads, writes, sweeps and KMS events, quotas on)", async () => {
    const report = await runLoad(stack, {
      seconds: Number(process.env.TETHER_LOAD_SECONDS ?? 3),
      keys: 4,
      concurrency: 8,
      log: (line) => console.log(`[load-smoke] ${line}`),
    });
    expect(report.requests).toBeGreaterThan(0);
    expect(report.unexpected, JSON.stringify(report.statuses)).toBe(0);
    expect(report.stuckLeases).toBe(0);
  }, 120_000);
});
