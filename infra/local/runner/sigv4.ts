/**
 * Verifies AWS Signature Version 4 on requests to IAM-authorized routes, as API Gateway does before it
 * invokes the function: the request is signed again with the secret of the access key it names (same
 * method, path, query, the headers listed in SignedHeaders, the same x-amz-date) and the two signatures are
 * compared in constant time. Header-signed requests only; presigned URLs are refused.
 * Signature format: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-signing-elements.html
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { Sha256 } from "@aws-crypto/sha256-js";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import type { LocalIdentity } from "./identities.js";

/** "The signature ... expires 15 minutes after its timestamp" (Elements of a SigV4 request signature). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const ALGORITHM = "AWS4-HMAC-SHA256";
const SERVICE = "execute-api";
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;._-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

export interface SignedRequest {
  readonly method: string;
  /** The path exactly as received (still percent-encoded), without the query string. */
  readonly rawPath: string;
  readonly rawQueryString: string;
  /** Lower-case names; repeated headers joined with commas. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export type Verification =
  | { readonly ok: true; readonly identity: LocalIdentity }
  | { readonly ok: false; readonly reason: string };

/** Verifies the request's signature against `identities` in `region` at `now`. Never throws for bad input. */
export async function verifySigV4(
  request: SignedRequest,
  identities: readonly LocalIdentity[],
  region: string,
  now: Date,
): Promise<Verification> {
  const authorization = request.headers.authorization;
  if (authorization === undefined) return refuse("unsigned (no Authorization header)");
  if (!authorization.startsWith(`${ALGORITHM} `)) return refuse(`not ${ALGORITHM}`);
  const match = AUTHORIZATION.exec(authorization.trim());
  if (match === null) return refuse("malformed Authorization header");
  const [, accessKeyId, scopeDate, scopeRegion, scopeService, signedHeaderList, signature] =
    match as unknown as [string, string, string, string, string, string, string];
  const identity = identities.find((candidate) => candidate.accessKeyId === accessKeyId);
  if (identity === undefined) return refuse("unknown access key");
  if (scopeRegion !== region || scopeService !== SERVICE) {
    return refuse(`credential scope is ${scopeRegion}/${scopeService}, not ${region}/${SERVICE}`);
  }
  const amzDate = request.headers["x-amz-date"];
  const signingDate = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (signingDate === undefined) return refuse("missing or malformed x-amz-date");
  if (amzDate?.slice(0, 8) !== scopeDate) return refuse("credential scope date differs from x-amz-date");
  if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) {
    return refuse("signature date more than 15 minutes from now");
  }
  const signedHeaders = signedHeaderList.split(";");
  if (!signedHeaders.includes("host")) return refuse("host is not signed");
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) return refuse(`signed header ${name} is missing`);
    headers[name] = value;
  }
  // A client may send the payload hash itself; it must be the body's, or a tampered body would pass.
  const declaredHash = request.headers["x-amz-content-sha256"];
  if (
    declaredHash !== undefined &&
    declaredHash !== createHash("sha256").update(request.body).digest("hex")
  ) {
    return refuse("x-amz-content-sha256 is not the body's hash");
  }

  const signer = new SignatureV4({
    service: SERVICE,
    region,
    credentials: { accessKeyId: identity.accessKeyId, secretAccessKey: identity.secretAccessKey },
    sha256: Sha256,
    applyChecksum: false,
  });
  const resigned = await signer.sign(
    new HttpRequest({
      method: request.method,
      hostname: headers.host ?? "",
      path: request.rawPath,
      query: parseQuery(request.rawQueryString),
      headers,
      body: request.body.length === 0 ? undefined : request.body,
    }),
    { signingDate, signableHeaders: new Set(signedHeaders) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(resigned.headers.authorization ?? ""))?.[1];
  const expectedHeaders = /SignedHeaders=([^,]+)/.exec(String(resigned.headers.authorization ?? ""))?.[1];
  if (expected === undefined || expectedHeaders !== signedHeaderList)
    return refuse("signature does not match");
  const equal = timingSafeEqual(Buffer.from(expected, "hex"), Buffer.from(signature, "hex"));
  return equal ? { ok: true, identity } : refuse("signature does not match");
}

function refuse(reason: string): Verification {
  return { ok: false, reason };
}

function parseAmzDate(text: string): Date | undefined {
  const m = AMZ_DATE.exec(text);
  if (m === null) return undefined;
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0] = m.slice(1).map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, sec));
  // Date.UTC rolls 2024-13-40 over into a valid date; a real timestamp formats back to itself.
  return !Number.isNaN(date.getTime()) && date.toISOString().replace(/[-:]|\.\d{3}/g, "") === text
    ? date
    : undefined;
}

/** The signer re-encodes names and values, so they are decoded here; repeated names keep every value. */
function parseQuery(raw: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  if (raw === "") return query;
  for (const pair of raw.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? "" : decode(pair.slice(eq + 1));
    const existing = query[name];
    if (existing === undefined) query[name] = value;
    else query[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, "%20"));
  } catch {
    return text;
  }
}
