import type { SettingsReader } from "../../domain/settings.js";
import { VAULT_SECRET_REF, type VaultAdapter } from "../adapter.js";

/** Environment variables of the HashiCorp Vault (KV version 2) vault. */
export const HashiCorpVaultEnv = {
  Address: "TETHER_HCV_ADDR",
  Namespace: "TETHER_HCV_NAMESPACE",
  KvMount: "TETHER_HCV_KV_MOUNT",
  PathPrefix: "TETHER_HCV_PATH_PREFIX",
  KvVersion: "TETHER_HCV_KV_VERSION",
  AuthMethod: "TETHER_HCV_AUTH_METHOD",
  /** The token itself (token auth). A secret: read by the adapter, never kept in the configuration. */
  Token: "TETHER_HCV_TOKEN",
  AwsRole: "TETHER_HCV_AWS_ROLE",
  AwsAuthMount: "TETHER_HCV_AWS_AUTH_MOUNT",
  AwsServerId: "TETHER_HCV_AWS_SERVER_ID",
  AwsStsRegion: "TETHER_HCV_AWS_STS_REGION",
  AwsStsEndpoint: "TETHER_HCV_AWS_STS_ENDPOINT",
} as const;

export type HashiCorpAuthSettings =
  | { readonly method: "token" }
  | {
      readonly method: "aws";
      readonly role: string;
      readonly mount: string;
      /** X-Vault-AWS-IAM-Server-ID: binds a signed login to this Vault server, so it cannot be replayed to another. */
      readonly serverId: string;
      readonly stsRegion: string;
      readonly stsEndpoint?: string;
    };

export interface HashiCorpVaultSettings {
  readonly provider: "hashicorp";
  readonly address: string;
  readonly namespace?: string;
  readonly kvMount: string;
  readonly pathPrefix: string;
  /** The KV v2 version read: material is written once, with check-and-set 0, so it is version 1. */
  readonly kvVersion: number;
  readonly auth: HashiCorpAuthSettings;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const KV_PATH = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** `https:`, or `http:` to this machine itself (127.0.0.0/8, ::1, localhost): nothing crosses a network in clear. */
function isHttpsOrLoopback(address: string): boolean {
  if (!URL.canParse(address.trim())) return false;
  const url = new URL(address.trim());
  if (url.protocol === "https:") return true;
  if (url.protocol !== "http:") return false;
  const host = url.hostname;
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The settings of TETHER_VAULT=hashicorp, checked without reading the token or calling Vault. */
function hashiCorpVaultSettings(r: SettingsReader): HashiCorpVaultSettings {
  const h = HashiCorpVaultEnv;
  const env = r.env;
  const address = r.url(h.Address, true) ?? "";
  if (address !== "" && !isHttpsOrLoopback(address)) {
    r.problem(
      `${h.Address}: must be an https:// URL (http:// only to a loopback address): the token and the material cross this connection`,
    );
  }
  const namespace = r.optional(h.Namespace, KV_PATH, "a namespace path");
  const kvMount = r.read(h.KvMount, KV_PATH, "a mount path", "secret");
  const rawPrefix = env[h.PathPrefix] ?? "tether";
  const pathPrefix = rawPrefix === "" ? "" : r.read(h.PathPrefix, KV_PATH, "a path prefix", "tether");
  const versionText = env[h.KvVersion] ?? "1";
  const kvVersion = Number(versionText);
  if (!/^\d+$/.test(versionText) || !Number.isSafeInteger(kvVersion) || kvVersion < 1) {
    r.problem(`${h.KvVersion}: not a positive integer`);
  }
  const method = env[h.AuthMethod] ?? "token";
  let auth: HashiCorpAuthSettings = { method: "token" };
  if (method === "token") {
    const byReference = env[VAULT_SECRET_REF] !== undefined && env[VAULT_SECRET_REF] !== "";
    if ((env[h.Token] === undefined || env[h.Token] === "") && !byReference) {
      r.problem(`${h.Token} is not set, nor ${VAULT_SECRET_REF} (token auth needs a Vault token)`);
    }
  } else if (method === "aws") {
    const serverId = r.read(
      h.AwsServerId,
      /^[\x21-\x7e]{1,255}$/,
      "the X-Vault-AWS-IAM-Server-ID value, required with AWS IAM auth (the role's iam_server_id_header_value)",
    );
    const stsEndpoint = r.url(h.AwsStsEndpoint, false);
    auth = {
      method,
      role: r.read(h.AwsRole, /^[\w.@-]{1,128}$/, "a Vault role name"),
      mount: r.read(h.AwsAuthMount, KV_PATH, "a mount path", "aws"),
      stsRegion: r.read(h.AwsStsRegion, REGION, "an AWS Region", "us-east-1"),
      serverId,
      ...(stsEndpoint === undefined ? {} : { stsEndpoint }),
    };
  } else {
    r.problem(`${h.AuthMethod}: must be "token" or "aws"`);
  }
  return {
    provider: "hashicorp",
    address,
    ...(namespace === undefined ? {} : { namespace }),
    kvMount,
    pathPrefix,
    kvVersion,
    auth,
  };
}

export const hashiCorpVaultAdapter: VaultAdapter<HashiCorpVaultSettings> = {
  provider: "hashicorp",
  secretVariable: HashiCorpVaultEnv.Token,
  plainSecrets: [HashiCorpVaultEnv.Token],
  endpointOverrides: [HashiCorpVaultEnv.AwsStsEndpoint],
  settings: hashiCorpVaultSettings,
};
