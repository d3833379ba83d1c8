/**
 * A small stand-in for HashiCorp Vault that follows its documented HTTP API, for tests only (no Vault
 * server can be installed here). What it implements, and nothing more:
 * - KV secrets engine v2 read and create/update, with `?version=` and `options.cas`:
 *   https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2
 * - the AWS auth method's iam login (checks the shape of the signed GetCallerIdentity request; it
 *   cannot verify the signature with STS): https://developer.hashicorp.com/vault/api-docs/auth/aws#login
 * - status codes: 403 for a missing or unknown token, 404 for a missing path or version, 400 for a failed
 *   check-and-set, 503 while sealed: https://developer.hashicorp.com/vault/api-docs#http-status-codes
 * Error bodies are `{"errors": [...]}` as Vault's are.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

interface Version {
  readonly data: Record<string, unknown>;
  readonly created_time: string;
  deletion_time: string;
  destroyed: boolean;
}

export interface VaultLogin {
  readonly role: string;
  readonly headers: Record<string, string[]>;
  readonly url: string;
  readonly body: string;
}

export interface HashiCorpVaultServer {
  readonly url: string;
  /** Tokens Vault accepts; add or remove to simulate revocation. */
  readonly tokens: Set<string>;
  /** Every response body sent, for leak searches. */
  readonly responses: string[];
  /** Every accepted AWS IAM login. */
  readonly logins: VaultLogin[];
  sealed: boolean;
  /** When set, every request is answered 307 Temporary Redirect to this origin (same path and query). */
  redirectTo: string | undefined;
  /** When set, every request is answered 200 with this text as its body (not JSON). */
  notJson: string | undefined;
  /** Lease of tokens issued by the AWS login, seconds. */
  loginLeaseSeconds: number;
  /** Soft-deletes one version (KV v2 DELETE of a version). */
  deleteVersion(mount: string, path: string, version: number): void;
  /** Writes a version directly, as an operator would, bypassing Tether. */
  write(mount: string, path: string, data: Record<string, unknown>): number;
  close(): Promise<void>;
}

/** Starts the stand-in on 127.0.0.1 with an ephemeral port, with KV v2 mounted at `mounts`. */
export async function startHashiCorpVaultServer(
  options: { mounts?: string[]; awsAuthMount?: string; awsRoles?: string[]; serverId?: string } = {},
): Promise<HashiCorpVaultServer> {
  const mounts = new Map<string, Map<string, Version[]>>(
    (options.mounts ?? ["secret"]).map((m) => [m, new Map()]),
  );
  const awsMount = options.awsAuthMount ?? "aws";
  const roles = new Set(options.awsRoles ?? ["tether"]);
  const state = {
    tokens: new Set<string>(),
    responses: [] as string[],
    logins: [] as VaultLogin[],
    sealed: false,
    redirectTo: undefined as string | undefined,
    notJson: undefined as string | undefined,
    loginLeaseSeconds: 3600,
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = body === undefined ? "" : JSON.stringify(body);
    state.responses.push(text);
    res.writeHead(status, text === "" ? {} : { "content-type": "application/json" });
    res.end(text);
  };
  const errors = (res: ServerResponse, status: number, ...messages: string[]) =>
    send(res, status, { errors: messages });
  const metadata = (v: Version, version: number) => ({
    created_time: v.created_time,
    custom_metadata: null,
    deletion_time: v.deletion_time,
    destroyed: v.destroyed,
    version,
  });
  const envelope = (data: unknown, auth: unknown = null) => ({
    request_id: randomUUID(),
    lease_id: "",
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings: null,
    auth,
  });
  const write = (mount: string, path: string, data: Record<string, unknown>): number => {
    const store = mounts.get(mount) as Map<string, Version[]>;
    const versions = store.get(path) ?? [];
    versions.push({ data, created_time: new Date().toISOString(), deletion_time: "", destroyed: false });
    store.set(path, versions);
    return versions.length;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://vault");
    if (state.redirectTo !== undefined) {
      res.writeHead(307, { location: `${state.redirectTo}${req.url ?? "/"}` });
      return res.end();
    }
    if (state.notJson !== undefined) {
      state.responses.push(state.notJson);
      res.writeHead(200, { "content-type": "text/html" });
      return res.end(state.notJson);
    }
    if (state.sealed) return errors(res, 503, "Vault is sealed");
    const parts = url.pathname.split("/").filter((p) => p !== "");
    if (parts[0] !== "v1") return errors(res, 404);

    if (req.method === "POST" && parts[1] === "auth" && parts[2] === awsMount && parts[3] === "login") {
      let body: Record<string, string>;
      try {
        body = JSON.parse(raw) as Record<string, string>;
      } catch {
        return errors(res, 400, "failed to parse JSON input");
      }
      const decode = (field: string) => Buffer.from(body[field] ?? "", "base64").toString("utf8");
      let headers: Record<string, string[]>;
      try {
        headers = JSON.parse(decode("iam_request_headers")) as Record<string, string[]>;
      } catch {
        return errors(res, 400, "failed to parse iam_request_headers");
      }
      const header = (name: string) =>
        Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1]?.[0];
      const authorization = header("authorization") ?? "";
      if (
        body.iam_http_request_method !== "POST" ||
        decode("iam_request_body") !== "Action=GetCallerIdentity&Version=2011-06-15" ||
        !/^AWS4-HMAC-SHA256 Credential=\S+\/\d{8}\/[a-z0-9-]+\/sts\/aws4_request, SignedHeaders=\S+, Signature=[0-9a-f]{64}$/.test(
          authorization,
        )
      ) {
        return errors(res, 400, "error making upstream request: invalid signed request");
      }
      if (options.serverId !== undefined) {
        const signed = /SignedHeaders=(\S+),/.exec(authorization)?.[1]?.split(";") ?? [];
        if (
          header("x-vault-aws-iam-server-id") !== options.serverId ||
          !signed.includes("x-vault-aws-iam-server-id")
        ) {
          return errors(res, 400, "expected X-Vault-AWS-IAM-Server-ID header value");
        }
      }
      if (!roles.has(body.role ?? "")) return errors(res, 400, `entry for role ${body.role} not found`);
      const token = `hvs.${randomUUID().replaceAll("-", "")}`;
      state.tokens.add(token);
      state.logins.push({
        role: body.role as string,
        headers,
        url: decode("iam_request_url"),
        body: decode("iam_request_body"),
      });
      return send(
        res,
        200,
        envelope(null, {
          client_token: token,
          accessor: randomUUID(),
          policies: ["default", "tether"],
          lease_duration: state.loginLeaseSeconds,
          renewable: true,
        }),
      );
    }

    const token = req.headers["x-vault-token"];
    if (typeof token !== "string" || !state.tokens.has(token)) return errors(res, 403, "permission denied");

    const mount = parts[1] ?? "";
    const store = mounts.get(mount);
    if (store === undefined || parts[2] !== "data" || parts.length < 4) {
      return errors(res, 404, `no handler for route "${parts.slice(1).join("/")}"`);
    }
    const path = parts.slice(3).join("/");
    if (req.method === "GET") {
      const versions = store.get(path);
      if (versions === undefined || versions.length === 0) return errors(res, 404);
      const wanted = url.searchParams.has("version") ? Number(url.searchParams.get("version")) : 0;
      const number = wanted === 0 ? versions.length : wanted;
      const v = versions[number - 1];
      if (v === undefined) return errors(res, 404);
      // A deleted or destroyed version: 404, with its metadata and no data.
      if (v.deletion_time !== "" || v.destroyed)
        return send(res, 404, envelope({ data: null, metadata: metadata(v, number) }));
      return send(res, 200, envelope({ data: v.data, metadata: metadata(v, number) }));
    }
    if (req.method === "POST" || req.method === "PUT") {
      let body: { options?: { cas?: number }; data?: Record<string, unknown> };
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        return errors(res, 400, "failed to parse JSON input");
      }
      if (typeof body.data !== "object" || body.data === null) return errors(res, 400, "no data provided");
      const current = store.get(path)?.length ?? 0;
      if (body.options?.cas !== undefined && body.options.cas !== current) {
        return errors(res, 400, "check-and-set parameter did not match the current version");
      }
      const version = write(mount, path, body.data);
      const v = (store.get(path) as Version[])[version - 1] as Version;
      return send(res, 200, envelope(metadata(v, version)));
    }
    return errors(res, 405);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => errors(res, 500, "internal error"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    deleteVersion(mount: string, path: string, version: number) {
      const v = mounts.get(mount)?.get(path)?.[version - 1];
      if (v !== undefined) v.deletion_time = new Date().toISOString();
    },
    write,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  });
}
