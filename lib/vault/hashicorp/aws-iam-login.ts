import { Sha256 } from "@aws-crypto/sha256-js";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";

/** The body of STS GetCallerIdentity in the Query protocol, the request Vault replays to learn who we are. */
export const GET_CALLER_IDENTITY_BODY = "Action=GetCallerIdentity&Version=2011-06-15";
/** Header binding a login to one Vault server (the role's iam_server_id_header_value). */
export const VAULT_SERVER_ID_HEADER = "X-Vault-AWS-IAM-Server-ID";

export interface AwsIamLoginOptions {
  readonly role: string;
  /** The Region Vault's aws auth method is configured to verify signatures for (sts_region; default us-east-1). */
  readonly stsRegion: string;
  /** The STS URL signed for; Vault's default sts_endpoint is https://sts.amazonaws.com. */
  readonly stsEndpoint?: string;
  /** Signed with the request, so Vault accepts the login only where iam_server_id_header_value matches. */
  readonly serverId: string;
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

/**
 * The body of `POST /v1/auth/<mount>/login` for the iam method: a SigV4-signed sts:GetCallerIdentity
 * request that Vault forwards to STS, each part base64-encoded, the headers as a JSON map of name to
 * list of values. Nothing secret leaves this process: the signature proves the caller without the key.
 * https://developer.hashicorp.com/vault/api-docs/auth/aws#login
 * https://developer.hashicorp.com/vault/docs/auth/aws#iam-auth-method
 */
export async function awsIamLoginBody(options: AwsIamLoginOptions): Promise<Record<string, string>> {
  const url = new URL(options.stsEndpoint ?? "https://sts.amazonaws.com/");
  const headers: Record<string, string> = {
    host: url.host,
    "content-type": "application/x-www-form-urlencoded; charset=utf-8",
    "content-length": String(Buffer.byteLength(GET_CALLER_IDENTITY_BODY)),
  };
  headers[VAULT_SERVER_ID_HEADER] = options.serverId;
  const request = new HttpRequest({
    method: "POST",
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port === "" ? {} : { port: Number(url.port) }),
    path: url.pathname,
    headers,
    body: GET_CALLER_IDENTITY_BODY,
  });
  const signer = new SignatureV4({
    service: "sts",
    region: options.stsRegion,
    credentials: options.credentials ?? fromNodeProviderChain(),
    sha256: Sha256,
  });
  const signed = await signer.sign(request);
  const goStyle = Object.fromEntries(Object.entries(signed.headers).map(([name, value]) => [name, [value]]));
  const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
  return {
    role: options.role,
    iam_http_request_method: "POST",
    iam_request_url: b64(url.toString()),
    iam_request_body: b64(GET_CALLER_IDENTITY_BODY),
    iam_request_headers: b64(JSON.stringify(goStyle)),
  };
}
