/**
 * An independent SigV4 verifier for the CLI's tests, written from AWS's documentation with node:crypto
 * only — not with @smithy/signature-v4, which the CLI signs with, so a bug there cannot hide itself.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 * Canonical URI: "each path segment must be URI-encoded twice (except for Amazon S3 which only gets
 * URI-encoded once)" — the received path is already encoded once, so it is encoded once more here.
 */
import { createHash, createHmac } from "node:crypto";

export interface ReceivedRequest {
  readonly method: string;
  /** The request target as received: still percent-encoded path, then `?query`. */
  readonly url: string;
  /** Lower-case names (as node:http gives them). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export interface ReferenceResult {
  readonly valid: boolean;
  readonly accessKeyId: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly canonicalRequest: string;
}

/** RFC 3986: everything but A-Z a-z 0-9 - _ . ~ is percent-encoded, hex in upper case. */
function uriEncode(text: string): string {
  return Array.from(Buffer.from(text, "utf8"))
    .map((byte) => {
      const char = String.fromCharCode(byte);
      return /[A-Za-z0-9\-_.~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    })
    .join("");
}

const sha256Hex = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data, "utf8").digest();

/** Re-computes the signature of a received request with the given secret and compares. */
export function verifyWithSecret(request: ReceivedRequest, secretAccessKey: string): ReferenceResult {
  const authorization = String(request.headers.authorization ?? "");
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (match === null) throw new Error(`not a SigV4 Authorization header: ${authorization.slice(0, 40)}`);
  const [, accessKeyId = "", date = "", region = "", service = "", signedHeaderList = "", signature = ""] =
    match;
  const amzDate = String(request.headers["x-amz-date"] ?? "");

  const [rawPath = "", rawQuery = ""] = request.url.split("?", 2);
  const canonicalUri = rawPath
    .split("/")
    .map((segment) => uriEncode(segment))
    .join("/");
  const canonicalQuery = rawQuery
    .split("&")
    .filter((pair) => pair.length > 0)
    .map((pair) => {
      const [name = "", value = ""] = pair.split("=", 2);
      const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, "%20"));
      return [uriEncode(decode(name)), uriEncode(decode(value))] as const;
    })
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
  const signedHeaders = signedHeaderList.split(";");
  const canonicalHeaders = signedHeaders
    .map((name) => {
      const value = request.headers[name];
      const text = Array.isArray(value) ? value.join(",") : String(value ?? "");
      return `${name}:${text.trim().replace(/\s+/g, " ")}\n`;
    })
    .join("");
  const canonicalRequest = [
    request.method,
    canonicalUri,
    canonicalQuery,
    canonicalHeaders,
    signedHeaderList,
    sha256Hex(request.body),
  ].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), "aws4_request");
  const expected = createHmac("sha256", signingKey).update(stringToSign, "utf8").digest("hex");
  return {
    valid: expected === signature && amzDate.startsWith(date),
    accessKeyId,
    region,
    service,
    signedHeaders,
    canonicalRequest,
  };
}
