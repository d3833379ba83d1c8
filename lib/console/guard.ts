import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/**
 * Who may use the console: only a page the console served itself, in a browser that was given the URL
 * with its token. The server listens on 127.0.0.1 only; on top of that each request must
 *  - name the console in Host (127.0.0.1:port or localhost:port), so a DNS-rebinding page cannot reach it;
 *  - carry no Origin but the console's own, and no Sec-Fetch-Site but same-origin or none (a typed URL);
 *  - carry the token: in `?token=` on the first visit (answered with an HttpOnly SameSite=Strict cookie),
 *    in that cookie afterwards;
 *  - for the API (/api/...), carry `X-Tether-Console: 1`, a header no other origin can add without a
 *    preflight, which this server never grants; and a POST, PATCH or DELETE must carry the console's Origin.
 */
export interface GuardSettings {
  readonly port: number;
  readonly token: string;
}

export type GuardVerdict =
  | { readonly ok: true; readonly tokenInQuery: boolean }
  | { readonly ok: false; readonly status: 400 | 403; readonly reason: string };

/** The cookie that carries the token; named per port, as cookies do not keep ports apart. */
export function cookieName(port: number): string {
  return `tether_console_${port}`;
}

export function allowedOrigins(port: number): readonly string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}

/** Checks one request against the rules above; says why it refuses, never echoing the token. */
export function checkRequest(request: IncomingMessage, url: URL, settings: GuardSettings): GuardVerdict {
  const origins = allowedOrigins(settings.port);
  const host = request.headers.host;
  if (host === undefined || !origins.includes(`http://${host}`)) {
    return { ok: false, status: 403, reason: "the Host header does not name this console" };
  }
  const origin = request.headers.origin;
  if (origin !== undefined && !origins.includes(origin)) {
    return { ok: false, status: 403, reason: "requests from other origins are refused" };
  }
  const fetchSite = request.headers["sec-fetch-site"];
  if (fetchSite !== undefined && fetchSite !== "same-origin" && fetchSite !== "none") {
    return { ok: false, status: 403, reason: "requests from other sites are refused" };
  }
  const queryToken = url.searchParams.get("token");
  const tokenInQuery = queryToken !== null && sameSecret(queryToken, settings.token);
  if (!tokenInQuery && !sameSecret(readCookie(request, cookieName(settings.port)), settings.token)) {
    return {
      ok: false,
      status: 403,
      reason: "no valid console token: open the URL `tether console` printed",
    };
  }
  if (url.pathname.startsWith("/api/")) {
    if (request.headers["x-tether-console"] !== "1") {
      return { ok: false, status: 403, reason: "API calls must come from the console's page" };
    }
    if (request.method !== "GET" && (origin === undefined || !origins.includes(origin))) {
      return { ok: false, status: 403, reason: "changes must come from the console's page (Origin)" };
    }
  }
  return { ok: true, tokenInQuery };
}

function readCookie(request: IncomingMessage, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=");
  }
  return undefined;
}

function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
