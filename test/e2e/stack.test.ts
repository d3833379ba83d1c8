import { readFileSync } from "node:fs";
import { DescribeKeyCommand, type KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { LOCAL_ADMIN, type LocalStack } from "../../infra/local/runner/index.js";
import { GatewayErrorResponse } from "../../lib/api/schemas.js";
import { ADMIN, E2E_STACK_START_MS, READER, stackKmsClient, startE2eStack } from "../support/e2e-stack.js";
import { signedFetch } from "./support.js";

/**
 * The running system over real HTTP: the runner's API Gateway stand-in (routes from serverless.yml, SigV4),
 * the sweep schedule, and a KMS event travelling emulator → bus → rule from serverless.yml → kms-events.
 */
let stack: LocalStack;
const lines: string[] = [];
let kms: KMSClient;

beforeAll(async () => {
  stack = await startE2eStack({ sweepIntervalMs: 100, log: (line) => lines.push(line) });
  kms = stackKmsClient(stack);
}, E2E_STACK_START_MS);

afterAll(async () => {
  vi.useRealTimers();
  kms?.destroy();
  await stack?.close();
});

describe("API Gateway stand-in", () => {
  it("answers the open health route without a signature", async () => {
    const res = await fetch(`${stack.apiUrl}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    expect(res.headers.get("apigw-requestid")).toBeTruthy();
  });

  it("lets a signed admin request reach the route, with the caller's identity", async () => {
    const res = await signedFetch(stack.apiUrl, { method: "GET", path: "/keys", credentials: ADMIN });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ items: expect.any(Array) });
  });

  it("passes the reader's identity through: the API lets it read and refuses it a change", async () => {
    expect(
      (await signedFetch(stack.apiUrl, { method: "GET", path: "/keys", credentials: READER })).status,
    ).toBe(200);
    const change = await signedFetch(stack.apiUrl, {
      method: "POST",
      path: "/keys/tk_01M8J44D9A56QGQJC6WDBNE4S9/revoke",
      body: { reason: "not allowed" },
      credentials: READER,
    });
    expect(change.status).toBe(403);
    // Tether's own error body, not the gateway's: the request got through the signature check.
    expect(change.body).toMatchObject({ error: { code: "Forbidden" } });
  });

  it("refuses an unsigned request to an IAM route with 403, as API Gateway does", async () => {
    const res = await fetch(`${stack.apiUrl}/keys`);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ message: "Forbidden" });
  });

  it("refuses an unknown access key", async () => {
    const res = await signedFetch(stack.apiUrl, {
      method: "GET",
      path: "/keys",
      credentials: { accessKeyId: "AKIAUNKNOWN000000001", secretAccessKey: LOCAL_ADMIN.secretAccessKey },
    });
    expect(res).toEqual({ status: 403, body: { message: "Forbidden" } });
  });

  it("refuses a signature made with the wrong secret", async () => {
    const res = await signedFetch(stack.apiUrl, {
      method: "GET",
      path: "/keys",
      credentials: { accessKeyId: LOCAL_ADMIN.accessKeyId, secretAccessKey: "not-the-secret" },
    });
    expect(res).toEqual({ status: 403, body: { message: "Forbidden" } });
  });

  it("refuses a tampered signature", async () => {
    const res = await signedFetch(stack.apiUrl, {
      method: "GET",
      path: "/keys",
      credentials: ADMIN,
      spoil: (headers) => ({
        headers: {
          ...headers,
          authorization:
            headers.authorization?.replace(
              /Signature=(.)/,
              (_m, c: string) => `Signature=${c === "0" ? "1" : "0"}`,
            ) ?? "",
        },
      }),
    });
    expect(res).toEqual({ status: 403, body: { message: "Forbidden" } });
  });

  it("refuses a body changed after signing", async () => {
    const res = await signedFetch(stack.apiUrl, {
      method: "POST",
      path: "/keys/tk_01M8J44D9A56QGQJC6WDBNE4S9/revoke",
      body: { reason: "signed" },
      credentials: ADMIN,
      spoil: (headers) => ({ headers, body: JSON.stringify({ reason: "swapped" }) }),
    });
    expect(res).toEqual({ status: 403, body: { message: "Forbidden" } });
  });

  it("refuses a request whose x-amz-date was changed after signing", async () => {
    const res = await signedFetch(stack.apiUrl, {
      method: "GET",
      path: "/keys",
      credentials: ADMIN,
      spoil: (headers) => ({
        headers: {
          ...headers,
          "x-amz-date":
            headers["x-amz-date"]?.replace(/(\d)Z$/, (_m, d: string) => `${(Number(d) + 1) % 10}Z`) ?? "",
        },
      }),
    });
    expect(res.status).toBe(403);
  });

  it("refuses a signature dated more than 15 minutes away, and accepts one 10 minutes old", async () => {
    const stale = await signedFetch(stack.apiUrl, {
      method: "GET",
      path: "/keys",
      credentials: ADMIN,
      signingDate: new Date(Date.now() - 16 * 60 * 1000),
    });
    expect(stale).toEqual({ status: 403, body: { message: "Forbidden" } });
    const ahead = await signedFetch(stack.apiUrl, {
      method: "GET",
      path: "/keys",
      credentials: ADMIN,
      signingDate: new Date(Date.now() + 16 * 60 * 1000),
    });
    expect(ahead.status).toBe(403);
    const recent = await signedFetch(stack.apiUrl, {
      method: "GET",
      path: "/keys",
      credentials: ADMIN,
      signingDate: new Date(Date.now() - 10 * 60 * 1000),
    });
    expect(recent.status).toBe(200);
  });

  it("answers 404 Not Found for an unknown route or a method the route lacks, signed or not", async () => {
    for (const [method, path] of [
      ["GET", "/nope"],
      ["PUT", "/keys"],
      ["GET", "/keys/x/y/z"],
      ["GET", "/keys/"],
    ] as const) {
      const res = await signedFetch(stack.apiUrl, { method, path, credentials: ADMIN });
      expect(res, `${method} ${path}`).toEqual({ status: 404, body: { message: "Not Found" } });
    }
  });

  it("decodes the {id} path parameter (an alias with a slash stays one segment)", async () => {
    const res = await signedFetch(stack.apiUrl, {
      method: "GET",
      path: `/keys/${encodeURIComponent("alias/does-not-exist")}`,
      credentials: ADMIN,
    });
    // The API looked the alias up: a clean 404 from Tether, not the gateway's.
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: { code: "NotFound" } });
  });
});

describe("answers the gateway gives itself have the shape the OpenAPI document gives them", () => {
  // The committed document (test/integration/api/edges.test.ts checks it is what `npm run openapi` writes).
  const doc = JSON.parse(readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8")) as {
    paths: Record<string, Record<string, { responses: Record<string, { $ref: string }> }>>;
    components: { responses: Record<string, { content: { "application/json": { schema: unknown } } }> };
  };
  /** The schemas the document allows for `status` of the operation (or the component, for an unknown route). */
  const documentedSchemas = (component: string): string[] => {
    const schema = doc.components.responses[component]?.content["application/json"].schema as {
      $ref?: string;
      oneOf?: Array<{ $ref: string }>;
    };
    return (schema.oneOf ?? [schema]).map((s) => s.$ref?.split("/").pop() ?? "?");
  };
  const componentOf = (method: string, path: string, status: number): string =>
    doc.paths[path]?.[method]?.responses[String(status)]?.$ref.split("/").pop() ?? "(none)";

  it.each([
    ["unsigned", 403, "get", "/keys", () => fetch(`${stack.apiUrl}/keys`)],
    [
      "signed with the wrong secret",
      403,
      "post",
      "/keys/{id}/revoke",
      () =>
        signedFetch(stack.apiUrl, {
          method: "POST",
          path: "/keys/tk_01M8J44D9A56QGQJC6WDBNE4S9/revoke",
          body: { reason: "x" },
          credentials: { accessKeyId: LOCAL_ADMIN.accessKeyId, secretAccessKey: "not-the-secret" },
        }),
    ],
    [
      "a body over the gateway's 10 MB",
      413,
      "post",
      "/keys",
      () =>
        fetch(`${stack.apiUrl}/keys`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: `{"pad":"${"x".repeat(10 * 1024 * 1024)}"}`,
        }),
    ],
  ] as const)(
    "%s: %i with {message}, documented as GatewayError",
    async (_what, status, method, path, send) => {
      const res = await send();
      const body = res instanceof Response ? await res.json() : res.body;
      const got = res.status;
      expect(got).toBe(status);
      expect(GatewayErrorResponse.safeParse(body).success, JSON.stringify(body)).toBe(true);
      expect(documentedSchemas(componentOf(method, path, status))).toContain("GatewayError");
    },
  );

  it("an unknown route: 404 with {message}, the GatewayError404 response of the document", async () => {
    const res = await fetch(`${stack.apiUrl}/no-such-route`);
    expect(res.status).toBe(404);
    expect(GatewayErrorResponse.safeParse(await res.json()).success).toBe(true);
    expect(documentedSchemas("GatewayError404")).toEqual(["GatewayError"]);
  });

  it("Tether's own refusal on the same statuses keeps the Error shape, also documented", async () => {
    const res = await signedFetch(stack.apiUrl, {
      method: "POST",
      path: "/keys/tk_01M8J44D9A56QGQJC6WDBNE4S9/revoke",
      body: { reason: "x" },
      credentials: READER,
    });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: { code: "Forbidden" } });
    expect(documentedSchemas(componentOf("post", "/keys/{id}/revoke", 403))).toEqual([
      "Error",
      "GatewayError",
    ]);
  });
});

describe("a body that is not UTF-8", () => {
  it("reaches the API as the bytes sent, and the API refuses it as not JSON (400 naming body)", async () => {
    // {"reason":"<0xff>"}: JSON around one byte that is never valid UTF-8. Decoded with U+FFFD it would be
    // a valid reason, and the unknown key a 404.
    const bytes = Buffer.concat([Buffer.from('{"reason":"'), Buffer.from([0xff]), Buffer.from('"}')]);
    const res = await signedFetch(stack.apiUrl, {
      method: "POST",
      path: "/keys/tk_01M8J44D9A56QGQJC6WDBNE4S9/revoke",
      rawBody: bytes,
      credentials: ADMIN,
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: "ValidationError", field: "body" } });
  });
});

describe("schedules and event rules from serverless.yml", () => {
  it("runs the sweep on its schedule", async () => {
    await vi.waitFor(() => expect(lines.some((line) => line.startsWith("sweep: due"))).toBe(true), {
      timeout: 10_000,
      interval: 50,
    });
    const report = await stack.sweepNow();
    expect(report).toMatchObject({ due: expect.any(Number), processed: expect.any(Number) });
  });

  it("delivers KMS's expiry event through the bus rule to kms-events, which restores the key", async () => {
    const registered = await signedFetch(stack.apiUrl, {
      method: "POST",
      path: "/keys",
      credentials: ADMIN,
      body: {
        mode: "create",
        region: stack.region,
        keySpec: "SYMMETRIC_DEFAULT",
        materialRef: "e2e/expiry",
        generateMaterial: true,
        policy: { validityPeriod: "PT1H" },
      },
    });
    expect(registered.status).toBe(201);
    const keyArn = (registered.body as { key: { keyArn: string; id: string } }).key.keyArn;
    // The sweep runs every 100 ms here and may hold the new region's lease, finishing the first import itself.
    const validTo = await vi.waitFor(
      async () => {
        const imported = (await kms.send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata?.ValidTo;
        expect(imported).toBeInstanceOf(Date);
        return imported as Date;
      },
      { timeout: 10_000, interval: 50 },
    );
    // The stack's one clock (Tether's functions run on the emulator's) jumps just past ValidTo, and stays:
    // the material expires and KMS sends its event. The sweep, due too from then on, is held so that the
    // event's path is what restores.
    const resumeSchedules = await stack.pauseSchedules();
    onTestFinished(resumeSchedules);
    await stack.localAws.kms.admin.setClock(new Date(validTo.getTime() + 1_000));

    // The runner logs the handler's outcome once it has returned (after KMS shows the new material).
    await vi.waitFor(
      () => expect(lines).toContain("kms-events: KMS Imported Key Material Expiration → handled → restored"),
      { timeout: 15_000, interval: 100 },
    );
    const metadata = (await kms.send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata;
    expect(metadata?.KeyState).toBe("Enabled");
    expect(metadata?.ValidTo?.getTime()).toBeGreaterThan(validTo.getTime());
    const delivered = stack.localAws.events
      .events("default")
      .filter((e) => e["detail-type"] === "KMS Imported Key Material Expiration");
    expect(delivered.map((e) => e.resources)).toContainEqual([keyArn]);
    const history = await signedFetch(stack.apiUrl, {
      method: "GET",
      path: `/keys/${encodeURIComponent(keyArn)}/history`,
      credentials: ADMIN,
    });
    expect((history.body as { items: Array<{ actor: string }> }).items.map((e) => e.actor)).toContain(
      "tether:kms-events",
    );
  });
});
