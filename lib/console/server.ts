import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { HttpMethod, TetherApiClient } from "../cli/client.js";
import { ApiUnreachableError, CredentialsError } from "../cli/errors.js";
import { checkRequest, cookieName } from "./guard.js";

/** The page's script and stylesheet (lib/console/page, bundled by esbuild). */
export interface ConsoleAssets {
  readonly js: string;
  readonly css: string;
}

export interface ConsoleServerOptions {
  /** 0 for an ephemeral port. */
  readonly port: number;
  /** Signs every API call with the operator's credentials, as the CLI does. */
  readonly client: Pick<TetherApiClient, "send" | "apiUrl">;
  readonly assets: ConsoleAssets;
  /** Default: 32 random bytes, base64url. */
  readonly token?: string | undefined;
}

export interface ConsoleServer {
  /** The URL to open, with the token: http://127.0.0.1:PORT/?token=... */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/** Loopback only: the console is one operator's, on their own machine. */
export const CONSOLE_HOST = "127.0.0.1";
const MAX_BODY_BYTES = 1_000_000;
const API_METHODS: readonly HttpMethod[] = ["GET", "POST", "PATCH", "DELETE"];
/** The API's paths the page uses, and nothing else (a route, then segments of safe characters). */
const API_PATH = /^\/(keys|sentinels|health|operations|accounts)(\/[A-Za-z0-9._~%-]+)*$/;
/** Paths the console only reads: member accounts are added and removed with the CLI (`tether accounts`). */
const READ_ONLY_PATH = /^\/accounts(\/|$)/;

/**
 * Everything the page needs comes from here; it may load nothing and talk to nothing else.
 * https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "cache-control": "no-store",
};

/** Starts the console's server on 127.0.0.1. */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const token = options.token ?? randomBytes(32).toString("base64url");
  let port = options.port;
  const server: Server = createServer((request, response) => {
    handle(request, response, { ...options, port, token }).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, "application/json", errorBody("ConsoleError", error));
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, CONSOLE_HOST, () => resolve());
  });
  const address = server.address() as AddressInfo;
  port = address.port;
  const origin = `http://${CONSOLE_HOST}:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    address,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

interface HandlerSettings extends ConsoleServerOptions {
  readonly port: number;
  readonly token: string;
}

async function handle(request: IncomingMessage, response: ServerResponse, settings: HandlerSettings) {
  const url = new URL(request.url ?? "/", `http://${CONSOLE_HOST}:${settings.port}`);
  const verdict = checkRequest(request, url, settings);
  if (!verdict.ok) {
    send(response, verdict.status, "text/plain; charset=utf-8", `tether console: ${verdict.reason}\n`);
    return;
  }
  if (verdict.tokenInQuery) {
    // Keep the token out of the address bar and history: it lives in the cookie from here on.
    response.writeHead(303, {
      ...SECURITY_HEADERS,
      location: "/",
      "set-cookie": `${cookieName(settings.port)}=${settings.token}; HttpOnly; SameSite=Strict; Path=/`,
    });
    response.end();
    return;
  }
  if (url.pathname.startsWith("/api/")) {
    await proxy(request, response, url, settings);
    return;
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    send(response, 405, "text/plain; charset=utf-8", "tether console: method not allowed\n");
    return;
  }
  if (url.pathname === "/") send(response, 200, "text/html; charset=utf-8", pageHtml(settings.client.apiUrl));
  else if (url.pathname === "/app.js")
    send(response, 200, "text/javascript; charset=utf-8", settings.assets.js);
  else if (url.pathname === "/app.css") send(response, 200, "text/css; charset=utf-8", settings.assets.css);
  else if (url.pathname === "/favicon.ico") send(response, 204, "image/x-icon", "");
  else send(response, 404, "text/plain; charset=utf-8", "tether console: not found\n");
}

/** Passes one call to the Tether API, signed, and its answer back as the API gave it. */
async function proxy(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  settings: HandlerSettings,
) {
  const method = request.method as HttpMethod;
  const path = url.pathname.slice("/api".length);
  const allowed =
    API_METHODS.includes(method) && API_PATH.test(path) && (method === "GET" || !READ_ONLY_PATH.test(path));
  if (!allowed) {
    send(
      response,
      404,
      "application/json",
      JSON.stringify({ error: { code: "NotFound", message: "no such API call" } }),
    );
    return;
  }
  const text = await readBody(request);
  let body: unknown;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      send(
        response,
        400,
        "application/json",
        JSON.stringify({ error: { code: "BadRequest", message: "body is not JSON" } }),
      );
      return;
    }
  }
  const idempotencyKey = request.headers["idempotency-key"];
  try {
    const answer = await settings.client.send(method, path, {
      query: Object.fromEntries(url.searchParams),
      body,
      // The page's own choice: none where the route refuses one (approve, deny).
      idempotencyKey: typeof idempotencyKey === "string" ? idempotencyKey : false,
    });
    send(response, answer.status, answer.contentType ?? "application/json", answer.text);
  } catch (error) {
    const code =
      error instanceof CredentialsError
        ? "NoCredentials"
        : error instanceof ApiUnreachableError
          ? "ApiUnreachable"
          : "ConsoleError";
    send(response, 502, "application/json", errorBody(code, error));
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error("request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function errorBody(code: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return JSON.stringify({ error: { code, message } });
}

function send(response: ServerResponse, status: number, contentType: string, body: string) {
  response.writeHead(status, { ...SECURITY_HEADERS, "content-type": contentType });
  response.end(body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page's shell; lib/console/page/main.ts fills <main>. */
function pageHtml(apiUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tether console</title>
<link rel="stylesheet" href="/app.css">
<script type="module" src="/app.js"></script>
</head>
<body>
<header>
<a class="skip" href="#main">Skip to content</a>
<strong>Tether</strong>
<nav aria-label="Views"><a href="#/">Fleet</a> <a href="#/timeline">Expiry timeline</a> <a href="#/approvals">Approvals</a> <a href="#/accounts">Accounts</a></nav>
<span class="api" title="Every call is signed by the console's server with your AWS credentials">API: ${escapeHtml(apiUrl)}</span>
</header>
<main id="main" tabindex="-1"><p>Loading…</p></main>
</body>
</html>
`;
}
