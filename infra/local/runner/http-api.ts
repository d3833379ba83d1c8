/**
 * The local stand-in for API Gateway's HTTP API: matches each request to a route read from serverless.yml,
 * checks SigV4 on `aws_iam` routes (filling the IAM authorizer context API Gateway would), builds the
 * payload format 2.0 event and maps the function's answer back to HTTP.
 * Event and response formats: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 */
import { isUtf8 } from "node:buffer";
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2WithIAMAuthorizer, Context } from "aws-lambda";
import type { LocalIdentity } from "./identities.js";
import type { HttpRoute } from "./serverless-definition.js";
import { verifySigV4 } from "./sigv4.js";

/** API Gateway HTTP API's request payload quota (10 MB): https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html */
export const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

export interface RouteTarget {
  readonly route: HttpRoute;
  /** Invokes the function with the event and a fresh Lambda context. */
  readonly invoke: (event: APIGatewayProxyEventV2WithIAMAuthorizer, context: Context) => Promise<unknown>;
  readonly context: () => Context;
}

export interface HttpApiOptions {
  readonly host: string;
  readonly port: number;
  readonly region: string;
  readonly accountId: string;
  readonly identities: readonly LocalIdentity[];
  readonly targets: readonly RouteTarget[];
  readonly log: (line: string) => void;
  /** The instant signatures are checked against; the system clock unless a test moves it. */
  readonly now?: () => Date;
}

export interface HttpApi {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

interface CompiledRoute {
  readonly target: RouteTarget;
  readonly segments: readonly Segment[];
  readonly staticCount: number;
  readonly routeKey: string;
}

type Segment =
  | { readonly kind: "static"; readonly text: string }
  | { readonly kind: "param"; readonly name: string; readonly greedy: boolean };

/** Compiles the routes; the more static segments a route has, the earlier it is tried (API Gateway's precedence). */
export function compileRoutes(targets: readonly RouteTarget[]): CompiledRoute[] {
  return targets
    .map((target) => {
      const segments: Segment[] = target.route.path
        .split("/")
        .slice(1)
        .map((part) => {
          const param = /^\{([A-Za-z0-9_.-]+)(\+?)\}$/.exec(part);
          return param
            ? { kind: "param" as const, name: param[1] as string, greedy: param[2] === "+" }
            : { kind: "static" as const, text: part };
        });
      return {
        target,
        segments,
        staticCount: segments.filter((s) => s.kind === "static").length,
        routeKey: `${target.route.method} ${target.route.path}`,
      };
    })
    .sort((a, b) => b.staticCount - a.staticCount || b.segments.length - a.segments.length);
}

/** Matches a raw path; path parameters come back decoded, as API Gateway passes them. */
export function matchRoute(
  routes: readonly CompiledRoute[],
  method: string,
  rawPath: string,
): { route: CompiledRoute; pathParameters: Record<string, string> } | undefined {
  const parts = rawPath.split("/").slice(1);
  for (const route of routes) {
    if (route.target.route.method !== "ANY" && route.target.route.method !== method) continue;
    const params: Record<string, string> = {};
    let matched = true;
    for (let i = 0; i < route.segments.length && matched; i++) {
      const segment = route.segments[i] as Segment;
      const part = parts[i];
      if (segment.kind === "static") matched = part === segment.text;
      else if (segment.greedy) {
        const rest = parts.slice(i).join("/");
        matched = rest.length > 0;
        params[segment.name] = safeDecode(rest);
        i = parts.length;
      } else {
        matched = part !== undefined && part.length > 0;
        if (matched) params[segment.name] = safeDecode(part as string);
      }
    }
    const greedy = route.segments.some((s) => s.kind === "param" && s.greedy);
    if (matched && (greedy || parts.length === route.segments.length))
      return { route, pathParameters: params };
  }
  return undefined;
}

/**
 * Starts the HTTP API.
 * @throws Error when the port cannot be bound
 */
export async function startHttpApi(options: HttpApiOptions): Promise<HttpApi> {
  const routes = compileRoutes(options.targets);
  const now = options.now ?? (() => new Date());
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.log(
        `api: request failed in the runner: ${error instanceof Error ? error.message : String(error)}`,
      );
      if (!res.headersSent) gatewayError(res, 500, "Internal Server Error", newRequestId());
      else res.end();
    });
  });

  // Requests Node refuses before any handler runs (a request line or headers over its limit) get the
  // gateway's JSON body too, not Node's bare status line. API Gateway's own limit is 10,240 bytes for the
  // request line and each header (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html).
  server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
    const [status, reason] = tooLarge ? [431, "Request Header Fields Too Large"] : [400, "Bad Request"];
    const body = JSON.stringify({ message: reason });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const requestId = newRequestId();
    const method = (req.method ?? "GET").toUpperCase();
    const target = req.url ?? "/";
    const q = target.indexOf("?");
    const rawPath = q < 0 ? target : target.slice(0, q);
    const rawQueryString = q < 0 ? "" : target.slice(q + 1);
    const logLine = (status: number, who = "") =>
      options.log(`api ${method} ${rawPath} ${status} ${Date.now() - started}ms${who}`);

    const body = await readBody(req, MAX_PAYLOAD_BYTES);
    if (body === "too-large") {
      gatewayError(res, 413, "Request Entity Too Large", requestId);
      return logLine(413);
    }
    const found = matchRoute(routes, method, rawPath);
    if (found === undefined) {
      gatewayError(res, 404, "Not Found", requestId);
      return logLine(404);
    }
    const headers = lowerCaseHeaders(req);
    let identity: LocalIdentity | undefined;
    if (found.route.target.route.auth === "aws_iam") {
      const verdict = await verifySigV4(
        { method, rawPath, rawQueryString, headers, body },
        options.identities,
        options.region,
        now(),
      );
      if (!verdict.ok) {
        // API Gateway's messages differ by cause (https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden);
        // the cause is logged here and the caller gets one uniform answer.
        gatewayError(res, 403, "Forbidden", requestId);
        return logLine(403, ` (refused: ${verdict.reason})`);
      }
      identity = verdict.identity;
    }

    const event = buildEvent({
      method,
      rawPath,
      rawQueryString,
      headers,
      body,
      routeKey: found.route.routeKey,
      pathParameters: found.pathParameters,
      requestId,
      sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
      accountId: options.accountId,
      identity,
    });
    let result: unknown;
    try {
      result = await found.route.target.invoke(event, found.route.target.context());
    } catch (error) {
      // Lambda failed: API Gateway answers 500 with its own body and never shows the function's error.
      options.log(
        `api: the function failed: ${error instanceof Error ? `${error.name}: ${error.message}` : "?"}`,
      );
      gatewayError(res, 500, "Internal Server Error", requestId);
      return logLine(500);
    }
    const status = sendResult(res, result, requestId);
    logLine(status, identity === undefined ? "" : ` (${identity.name})`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

interface EventParts {
  readonly method: string;
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly routeKey: string;
  readonly pathParameters: Record<string, string>;
  readonly requestId: string;
  readonly sourceIp: string;
  readonly accountId: string;
  readonly identity: LocalIdentity | undefined;
}

/** The payload format 2.0 event API Gateway sends the function. */
export function buildEvent(parts: EventParts): APIGatewayProxyEventV2WithIAMAuthorizer {
  const { cookie, ...headers } = parts.headers;
  const time = new Date();
  // A textual body that is not valid UTF-8 cannot be a JSON string without changing its bytes (Node would
  // turn each bad sequence into U+FFFD); it goes base64-encoded, as API Gateway passes bodies it does not
  // treat as text (isBase64Encoded, https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html),
  // so the function sees the bytes that were sent and refuses them itself.
  const text = isTextual(headers["content-type"]) && isUtf8(parts.body);
  const event = {
    version: "2.0",
    routeKey: parts.routeKey,
    rawPath: parts.rawPath,
    rawQueryString: parts.rawQueryString,
    ...(cookie === undefined ? {} : { cookies: cookie.split(/;\s*/).filter((c) => c.length > 0) }),
    headers,
    ...(parts.rawQueryString === "" ? {} : { queryStringParameters: queryParameters(parts.rawQueryString) }),
    ...(Object.keys(parts.pathParameters).length === 0 ? {} : { pathParameters: parts.pathParameters }),
    requestContext: {
      accountId: parts.accountId,
      apiId: "local",
      ...(parts.identity === undefined
        ? {}
        : {
            authorizer: {
              iam: {
                accessKey: parts.identity.accessKeyId,
                accountId: parts.accountId,
                callerId: parts.identity.userId,
                cognitoIdentity: null,
                principalOrgId: null,
                userArn: parts.identity.principalArn,
                userId: parts.identity.userId,
              },
            },
          }),
      domainName: headers.host ?? "localhost",
      domainPrefix: (headers.host ?? "localhost").split(".")[0] as string,
      http: {
        method: parts.method,
        path: parts.rawPath,
        protocol: "HTTP/1.1",
        sourceIp: parts.sourceIp.replace(/^::ffff:/, ""),
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: parts.requestId,
      routeKey: parts.routeKey,
      stage: "$default",
      time: clfTime(time),
      timeEpoch: time.getTime(),
    },
    ...(parts.body.length === 0
      ? { isBase64Encoded: false }
      : text
        ? { body: parts.body.toString("utf8"), isBase64Encoded: false }
        : { body: parts.body.toString("base64"), isBase64Encoded: true }),
  };
  return event as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
}

/**
 * Maps the function's answer as API Gateway does for format 2.0: a structured result is used as is; any
 * other JSON value becomes a 200 with that value as the JSON body.
 */
function sendResult(res: ServerResponse, result: unknown, requestId: string): number {
  const structured =
    result !== null && typeof result === "object" && "statusCode" in (result as Record<string, unknown>);
  if (!structured) {
    const body = typeof result === "string" ? result : JSON.stringify(result ?? null);
    res.writeHead(200, { "content-type": "application/json", "apigw-requestid": requestId });
    res.end(body);
    return 200;
  }
  const r = result as {
    statusCode: number;
    headers?: Record<string, string | number | boolean>;
    cookies?: string[];
    body?: string;
    isBase64Encoded?: boolean;
  };
  const headers: Record<string, string | string[]> = { "apigw-requestid": requestId };
  for (const [name, value] of Object.entries(r.headers ?? {})) headers[name.toLowerCase()] = String(value);
  if (r.cookies !== undefined && r.cookies.length > 0) headers["set-cookie"] = r.cookies;
  const body = r.body === undefined ? "" : r.isBase64Encoded ? Buffer.from(r.body, "base64") : r.body;
  res.writeHead(r.statusCode, headers);
  res.end(body);
  return r.statusCode;
}

function gatewayError(res: ServerResponse, status: number, message: string, requestId: string): void {
  res.writeHead(status, { "content-type": "application/json", "apigw-requestid": requestId });
  res.end(JSON.stringify({ message }));
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | "too-large"> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) tooLarge = true;
    else chunks.push(chunk as Buffer);
  }
  return tooLarge ? "too-large" : Buffer.concat(chunks);
}

/** Node lower-cases names; API Gateway joins repeated headers with commas. */
function lowerCaseHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    const value = req.rawHeaders[i + 1] as string;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return headers;
}

/** Repeated names are joined with commas, as in format 2.0. */
function queryParameters(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(raw)) {
    out[name] = out[name] === undefined ? value : `${out[name]},${value}`;
  }
  return out;
}

function isTextual(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return (
    type.startsWith("text/") ||
    type === "application/json" ||
    type.endsWith("+json") ||
    type === "application/xml" ||
    type === "application/x-www-form-urlencoded" ||
    type === "application/javascript"
  );
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `12/Mar/2020:19:03:58 +0000`, the format of requestContext.time. */
function clfTime(date: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

function newRequestId(): string {
  return randomBytes(12).toString("base64").replace(/[+/]/g, "A");
}
