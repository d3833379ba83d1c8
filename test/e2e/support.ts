/** Raw SigV4-signed requests to the local API, with ways to spoil them (for the authorizer's tests). */
import { Sha256 } from "@aws-crypto/sha256-js";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { LOCAL_REGION } from "../../infra/local/runner/identities.js";

export interface SignedCall {
  readonly method: string;
  /** Encoded path, e.g. `/keys/alias%2Fx`. */
  readonly path: string;
  readonly body?: unknown;
  /** Sent as is instead of JSON.stringify(body) (malformed JSON, other media types, bytes that are not UTF-8). */
  readonly rawBody?: string | Uint8Array;
  /** Extra headers, signed with the rest (content-type overrides the JSON default). */
  readonly headers?: Record<string, string>;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  readonly signingDate?: Date;
  /** Changes the signed request before it is sent. */
  readonly spoil?: (headers: Record<string, string>) => { headers: Record<string, string>; body?: string };
}

export async function signedFetch(
  apiUrl: string,
  call: SignedCall,
): Promise<{ status: number; body: unknown }> {
  const url = new URL(apiUrl);
  const body = call.rawBody ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
  const signer = new SignatureV4({
    service: "execute-api",
    region: LOCAL_REGION,
    credentials: call.credentials,
    sha256: Sha256,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: call.method,
      hostname: url.hostname,
      port: Number(url.port),
      path: call.path.split("?")[0] ?? call.path,
      query: Object.fromEntries(new URLSearchParams(call.path.split("?")[1] ?? "")),
      headers: {
        host: url.host,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...call.headers,
      },
      ...(body === undefined ? {} : { body }),
    }),
    call.signingDate === undefined ? {} : { signingDate: call.signingDate },
  );
  let headers = { ...(signed.headers as Record<string, string>) };
  let sentBody: string | Uint8Array | undefined = body;
  if (call.spoil) {
    const spoiled = call.spoil(headers);
    headers = spoiled.headers;
    if (spoiled.body !== undefined) sentBody = spoiled.body;
  }
  const { host: _host, ...sendHeaders } = headers;
  const res = await fetch(`${url.origin}${call.path}`, {
    method: call.method,
    headers: sendHeaders,
    body: sentBody,
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text.length === 0 ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}
