/**
 * The awsJson1_1 wire protocol of KMS: `POST /` with `X-Amz-Target: TrentService.<Operation>`,
 * JSON bodies (blobs base64, timestamps epoch seconds), errors as `{"__type", "message"}` and an
 * `x-amzn-RequestId` header on every answer. The Region is the one the request was signed for
 * (SigV4 credential scope), so one emulator serves every Region.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { KmsApiError, KmsErrorType, kmsError } from "./errors.js";

export const TARGET_PREFIX = "TrentService.";
const CREDENTIAL_SCOPE = /Credential=[^/,\s]+\/\d{8}\/([a-z0-9-]+)\/kms\/aws4_request/;
/** Any service's scope: access key id, Region, service. */
const ANY_CREDENTIAL_SCOPE = /Credential=([^/,\s]+)\/\d{8}\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request/;

/** Who signed a request and for which Region and service (from the SigV4 credential scope). */
export interface SignedScope {
  accessKeyId: string;
  region: string;
  service: string;
}

/**
 * The access key id, Region and service of `Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request`.
 * @throws KmsApiError MissingAuthenticationTokenException for unsigned requests.
 */
export function scopeOf(req: IncomingMessage): SignedScope {
  const match = ANY_CREDENTIAL_SCOPE.exec(req.headers.authorization ?? "");
  if (!match?.[1] || !match[2] || !match[3]) {
    throw kmsError(KmsErrorType.MissingAuthenticationToken, "Missing Authentication Token");
  }
  return { accessKeyId: match[1], region: match[2], service: match[3] };
}

/** The caller's address as CloudTrail records it in `sourceIPAddress`. */
export function sourceIpOf(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? "127.0.0.1";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

/**
 * The Region from `Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261128/eu-west-1/kms/aws4_request, ...`.
 * The signature itself is not checked (the emulator knows no secrets).
 * @throws KmsApiError MissingAuthenticationTokenException for unsigned requests, as AWS answers them.
 */
export function regionOf(req: IncomingMessage): string {
  const auth = req.headers.authorization ?? "";
  const match = CREDENTIAL_SCOPE.exec(auth);
  if (!match?.[1]) throw kmsError(KmsErrorType.MissingAuthenticationToken, "Missing Authentication Token");
  return match[1];
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** @throws KmsApiError SerializationException when the body is not a JSON object. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (cause) {
    throw kmsError(KmsErrorType.SerializationException, "Request body is not valid JSON.", { cause });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw kmsError(KmsErrorType.SerializationException, "Request body must be a JSON object.");
  }
  return parsed as Record<string, unknown>;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  requestId: string,
  contentType = "application/x-amz-json-1.1",
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": requestId,
  });
  res.end(text);
}

export function sendKmsError(res: ServerResponse, error: KmsApiError, requestId: string): void {
  const headers = { "x-amzn-errortype": error.awsType };
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  sendJson(res, error.status, { __type: error.awsType, message: error.message }, requestId);
}

export { KmsApiError };
