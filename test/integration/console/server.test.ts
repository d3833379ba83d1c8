import { request as httpRequest } from "node:http";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpMethod, RequestOptions } from "../../../lib/cli/client.js";
import {
  CONTENT_SECURITY_POLICY,
  type ConsoleServer,
  startConsoleServer,
} from "../../../lib/console/server.js";

/**
 * The console's guard (lib/console/guard.ts): loopback only, the token, Host, Origin and the API header.
 * The API client here only records what reaches it: a refused request must never be signed and sent.
 */
const TOKEN = "test-token-0123456789abcdefghijklmnopqrstuv";
const calls: { method: HttpMethod; path: string; options: RequestOptions }[] = [];
let server: ConsoleServer;

const client = {
  apiUrl: "http://127.0.0.1:1",
  async send(method: HttpMethod, path: string, options: RequestOptions = {}) {
    calls.push({ method, path, options });
    return {
      status: 409,
      text: '{"error":{"code":"Conflict","message":"the key is revoked","requestId":"r-1"}}',
      contentType: "application/json",
    };
  },
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
  body?: string,
  host = "127.0.0.1",
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host, port: server.port, path, method, headers: { host: `127.0.0.1:${server.port}`, ...headers } },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const cookie = () => `tether_console_${server.port}=${TOKEN}`;

beforeAll(async () => {
  server = await startConsoleServer({
    port: 0,
    client,
    assets: { js: "console.log(1)", css: "body{}" },
    token: TOKEN,
  });
});

afterAll(async () => {
  await server.close();
});

describe("the console's server", () => {
  it("listens on 127.0.0.1 only", async () => {
    expect(server.address.address).toBe("127.0.0.1");
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${TOKEN}`);
    const external = Object.values(networkInterfaces())
      .flat()
      .find((net) => net !== undefined && net.family === "IPv4" && !net.internal);
    if (external === undefined) {
      console.log("skipped the non-loopback connect: this machine has no external IPv4 address");
      return;
    }
    await expect(call("/", {}, "GET", undefined, external.address)).rejects.toMatchObject({
      code: "ECONNREFUSED",
    });
  });

  it("refuses a request without its token, or with another token", async () => {
    const none = await call("/");
    expect(none.status).toBe(403);
    expect(none.body).toContain("no valid console token");
    expect((await call("/?token=wrong")).status).toBe(403);
    expect((await call("/app.js")).status).toBe(403);
    expect((await call("/api/keys", { "x-tether-console": "1" })).status).toBe(403);
    expect((await call("/", { cookie: `tether_console_1=${TOKEN}` })).status).toBe(403);
    expect(calls).toEqual([]);
  });

  it("trades the token in the URL for an HttpOnly SameSite=Strict cookie, then serves the page with a strict CSP", async () => {
    const first = await call(`/?token=${TOKEN}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe("/");
    expect(String(first.headers["set-cookie"])).toBe(`${cookie()}; HttpOnly; SameSite=Strict; Path=/`);
    const page = await call("/", { cookie: cookie() });
    expect(page.status).toBe(200);
    expect(page.headers["content-security-policy"]).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe");
    expect(page.body).toContain('<script type="module" src="/app.js">');
    expect(page.body).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    expect((await call("/app.js", { cookie: cookie() })).body).toBe("console.log(1)");
  });

  it("refuses other origins, other sites and other Host names, token or not", async () => {
    const evilOrigin = await call("/api/keys", {
      cookie: cookie(),
      "x-tether-console": "1",
      origin: "http://evil.example",
    });
    expect(evilOrigin.status).toBe(403);
    expect(evilOrigin.body).toContain("other origins");
    const otherPort = await call("/", { cookie: cookie(), origin: "http://127.0.0.1:1" });
    expect(otherPort.status).toBe(403);
    const crossSite = await call("/", { cookie: cookie(), "sec-fetch-site": "cross-site" });
    expect(crossSite.status).toBe(403);
    const rebinding = await call("/", { cookie: cookie(), host: `evil.example:${server.port}` });
    expect(rebinding.status).toBe(403);
    expect(rebinding.body).toContain("Host");
    expect(calls).toEqual([]);
  });

  it("passes API calls only from its own page: the header, and the Origin for changes", async () => {
    const noHeader = await call("/api/keys", { cookie: cookie() });
    expect(noHeader.status).toBe(403);
    const postWithoutOrigin = await call(
      "/api/keys/k/revoke",
      { cookie: cookie(), "x-tether-console": "1", "content-type": "application/json" },
      "POST",
      '{"reason":"x"}',
    );
    expect(postWithoutOrigin.status).toBe(403);
    expect(calls).toEqual([]);
    const ok = await call(
      "/api/keys/k/revoke?x=1",
      {
        cookie: cookie(),
        "x-tether-console": "1",
        origin: server.origin,
        "content-type": "application/json",
        "idempotency-key": "idem-1",
      },
      "POST",
      '{"reason":"compromised"}',
    );
    // The API's answer as it gave it: status and body unchanged.
    expect(ok.status).toBe(409);
    expect(JSON.parse(ok.body)).toEqual({
      error: { code: "Conflict", message: "the key is revoked", requestId: "r-1" },
    });
    expect(calls).toEqual([
      {
        method: "POST",
        path: "/keys/k/revoke",
        options: { query: { x: "1" }, body: { reason: "compromised" }, idempotencyKey: "idem-1" },
      },
    ]);
    const notAnApiPath = await call("/api/../etc/passwd", { cookie: cookie(), "x-tether-console": "1" });
    expect(notAnApiPath.status).not.toBe(200);
    expect(calls).toHaveLength(1);
  });

  it("passes dual control's operations, and member accounts only to read", async () => {
    calls.length = 0;
    const page = { cookie: cookie(), "x-tether-console": "1" };
    const change = { ...page, origin: server.origin, "content-type": "application/json" };
    expect((await call("/api/operations?state=pending", page)).status).toBe(409); // the stub API's answer
    expect((await call("/api/operations/op-1/approve", change, "POST", '{"reason":"ok"}')).status).toBe(409);
    expect((await call("/api/accounts", page)).status).toBe(409);
    expect((await call("/api/accounts", change, "POST", '{"accountId":"1"}')).status).toBe(404);
    expect((await call("/api/accounts/123456789012", change, "DELETE")).status).toBe(404);
    expect(calls.map(({ method, path }) => `${method} ${path}`)).toEqual([
      "GET /operations",
      "POST /operations/op-1/approve",
      "GET /accounts",
    ]);
  });
});
