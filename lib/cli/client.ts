import { randomUUID } from "node:crypto";
import { Sha256 } from "@aws-crypto/sha256-js";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { ApiError, ApiUnreachableError, CredentialsError } from "./errors.js";

/** API Gateway's IAM authorization signs for this service name. */
export const SIGNING_SERVICE = "execute-api";
export const DEFAULT_TIMEOUT_MS = 60_000;
/** Error bodies longer than this are not worth showing; a proxy's HTML page is cut short. */
const MAX_MESSAGE_LENGTH = 300;

/** Static credentials or a provider (e.g. fromNodeProviderChain()), as the signer takes them. */
export type SigningCredentials = ConstructorParameters<typeof SignatureV4>[0]["credentials"];

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE";

export interface TetherClientOptions {
  /** Base URL, optionally with a stage path; routes are appended to it. */
  readonly apiUrl: string;
  /** The region the API lives in: part of the signature's scope. */
  readonly region: string;
  readonly credentials: SigningCredentials;
  readonly timeoutMs?: number | undefined;
  /** Injected in tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch | undefined;
  /** Makes Idempotency-Key values for POSTs that were not given one; defaults to a random UUID. */
  readonly newIdempotencyKey?: (() => string) | undefined;
}

export interface RequestOptions {
  readonly query?: Readonly<Record<string, string | undefined>> | undefined;
  readonly body?: unknown;
  /**
   * For POSTs: replaces the random key, so a script can retry a request safely; `false` sends none (a POST
   * that only reads, such as POST /keys/check, and routes that refuse one: POST /operations/{id}/approve
   * and /deny, where a person counts once anyway).
   */
  readonly idempotencyKey?: string | false | undefined;
}

/** Joins route segments, each encoded with encodeURIComponent (an alias such as alias/a/b stays one segment). */
export function route(...segments: readonly string[]): string {
  return `/${segments.map((segment) => encodeURIComponent(segment)).join("/")}`;
}

/**
 * A SigV4-signing JSON client for Tether's admin API. Stateless apart from its options; safe to reuse.
 */
export class TetherApiClient {
  readonly apiUrl: string;
  private readonly base: URL;
  private readonly signer: SignatureV4;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly newIdempotencyKey: () => string;

  constructor(options: TetherClientOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, "");
    this.base = new URL(this.apiUrl);
    this.signer = new SignatureV4({
      service: SIGNING_SERVICE,
      region: options.region,
      credentials: options.credentials,
      sha256: Sha256,
    });
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetchImpl = options.fetch ?? fetch;
    this.newIdempotencyKey = options.newIdempotencyKey ?? randomUUID;
  }

  /**
   * Sends one signed request and returns the parsed JSON body of a 2xx answer ({} when empty).
   * @param path the route, already encoded (see `route`), e.g. `/keys/tk_01...`
   * @throws ApiError for an error status (with the API's code, message, field and request id);
   *   ApiUnreachableError when there is no answer; CredentialsError when no credentials can be found
   */
  async request(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<unknown> {
    const { status, text } = await this.send(method, path, options);
    if (status >= 200 && status < 300) return text.length === 0 ? {} : parseJson(text, status);
    throw errorFromResponse(status, text);
  }

  /**
   * Sends one signed request and returns the status and body as the API gave them, error or not (the
   * console passes them on unchanged).
   * @throws ApiUnreachableError when there is no answer; CredentialsError when no credentials can be found
   */
  async send(
    method: HttpMethod,
    path: string,
    options: RequestOptions = {},
  ): Promise<{ status: number; text: string; contentType: string | undefined }> {
    const basePath = this.base.pathname.replace(/\/+$/, "");
    const query: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) query[name] = value;
    }
    const headers: Record<string, string> = { host: this.base.host, accept: "application/json" };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers["content-type"] = "application/json";
    }
    if (method === "POST" && options.idempotencyKey !== false) {
      headers["idempotency-key"] = options.idempotencyKey ?? this.newIdempotencyKey();
    }

    const unsigned = new HttpRequest({
      method,
      protocol: this.base.protocol,
      hostname: this.base.hostname,
      port: this.base.port ? Number(this.base.port) : undefined,
      path: `${basePath}${path}`,
      query,
      headers,
      body,
    });
    const signed = await this.sign(unsigned);

    const search = new URLSearchParams(query).toString();
    const url = `${this.base.origin}${basePath}${path}${search ? `?${search}` : ""}`;
    // fetch sets Host itself (and refuses to be told); the signed value is the same host:port.
    const { host: _host, ...sendHeaders } = signed.headers;
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers: sendHeaders,
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw this.unreachable(error);
    }
    const text = await response.text();
    return { status: response.status, text, contentType: response.headers.get("content-type") ?? undefined };
  }

  private async sign(request: HttpRequest): Promise<HttpRequest> {
    try {
      return (await this.signer.sign(request)) as HttpRequest;
    } catch (error) {
      // The provider chain's messages name where it looked, never a secret.
      throw new CredentialsError(
        "no AWS credentials to sign with: set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and " +
          "AWS_SECRET_ACCESS_KEY (npm start prints the local ones)",
        { cause: error },
      );
    }
  }

  private unreachable(error: unknown): ApiUnreachableError {
    const name = (error as Error | undefined)?.name;
    const local = ["127.0.0.1", "localhost", "[::1]"].includes(this.base.hostname);
    const hint = local ? " — is `npm start` running?" : " — check --api-url / TETHER_API_URL";
    if (name === "TimeoutError" || name === "AbortError") {
      return new ApiUnreachableError(
        `no answer from the Tether API at ${this.apiUrl} within ${this.timeoutMs < 1000 ? `${this.timeoutMs}ms` : `${Math.round(this.timeoutMs / 1000)}s`}${hint}`,
        this.apiUrl,
        { cause: error },
      );
    }
    const code = networkErrorCode(error);
    return new ApiUnreachableError(
      `cannot reach the Tether API at ${this.apiUrl}${code ? ` (${code})` : ""}${hint}`,
      this.apiUrl,
      { cause: error },
    );
  }
}

/**
 * undici wraps the socket error: TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } }); some
 * causes have only a message ("bad port"). Socket errors name no secrets: the request is not in them.
 */
function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  let innermost: string | undefined;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === "string") return code;
    if (depth > 0) innermost = current.message;
    current = current.cause;
  }
  return innermost === undefined ? undefined : innermost.slice(0, 80);
}

function parseJson(text: string, status: number): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(
      status,
      { code: "BadResponse", message: `the API answered ${status} with a body that is not JSON` },
      { cause: error },
    );
  }
}

/**
 * Reads Tether's error body `{"error":{"code","message","field"?,"requestId"}}`, or API Gateway's own
 * `{"message":"Forbidden"}` (missing or bad signature, unknown route), or anything else a proxy may send.
 */
export function errorFromResponse(status: number, text: string): ApiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const error = (parsed as { error?: unknown } | undefined)?.error;
  if (isRecord(error) && typeof error.message === "string") {
    return new ApiError(status, {
      code: typeof error.code === "string" ? error.code : `Http${status}`,
      message: oneLine(error.message),
      field: typeof error.field === "string" ? error.field : undefined,
      requestId: typeof error.requestId === "string" ? error.requestId : undefined,
    });
  }
  const gatewayMessage = (parsed as { message?: unknown } | undefined)?.message;
  if (typeof gatewayMessage === "string") {
    return new ApiError(status, { code: `Http${status}`, message: oneLine(gatewayMessage) });
  }
  return new ApiError(status, { code: `Http${status}`, message: `the API answered HTTP ${status}` });
}

function oneLine(message: string): string {
  const line = message.replace(/\s+/g, " ").trim();
  return line.length > MAX_MESSAGE_LENGTH ? `${line.slice(0, MAX_MESSAGE_LENGTH)}…` : line;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
