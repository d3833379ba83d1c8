import type { KeySpec } from "../../domain/kms-constants.js";
import { InvalidMaterialError, VaultError, VaultLockedError } from "../errors.js";
import { isKeySpec } from "../material.js";
import { type MaterialRecord, type StoredMaterial, StoredMaterialVault } from "../stored-material-vault.js";
import { type AwsIamLoginOptions, awsIamLoginBody } from "./aws-iam-login.js";
import type { HashiCorpAuthSettings, HashiCorpVaultSettings } from "./settings.js";

/**
 * Material in HashiCorp Vault's KV secrets engine, version 2: one secret per material reference at
 * `<mount>/data/<prefix>/<ref>`, whose data is `{ material (base64), keySpec, checkValue }`. Tether writes
 * with check-and-set 0 (create only), so its material is version 1 of its secret, and it always reads one
 * pinned version: a later version written by someone else is never imported in its place.
 *
 * API: https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2 (read version, create/update, cas)
 * Status codes: https://developer.hashicorp.com/vault/api-docs#http-status-codes (403 permission denied
 * or bad token, 404 unknown path, 503 sealed or in maintenance).
 */
export class HashiCorpVault extends StoredMaterialVault {
  readonly kind = "hashicorp";
  readonly #settings: HashiCorpVaultSettings;
  readonly #auth: VaultTokenSource;
  readonly #fetch: typeof fetch;

  constructor(
    settings: HashiCorpVaultSettings,
    auth: VaultTokenSource,
    options: { fetch?: typeof fetch } = {},
  ) {
    super();
    this.#settings = settings;
    this.#auth = auth;
    this.#fetch = options.fetch ?? fetch;
  }

  /** The secret's path below the mount for a material reference. */
  secretPath(materialRef: string): string {
    return this.#settings.pathPrefix === "" ? materialRef : `${this.#settings.pathPrefix}/${materialRef}`;
  }

  /**
   * Stores existing material (checked against the key spec) as version 1 of a new secret. The caller's
   * buffer is read, not kept, and not zeroed.
   * @throws InvalidMaterialRefError, InvalidMaterialError, MaterialAlreadyExistsError, VaultError
   */
  async put(materialRef: string, material: Uint8Array, keySpec: KeySpec): Promise<{ checkValue: string }> {
    return this.putMaterial(materialRef, material, keySpec);
  }

  protected async loadMaterial(materialRef: string): Promise<StoredMaterial | undefined> {
    const body = await this.#readVersion(materialRef);
    if (body === undefined) return undefined;
    const data = (body as { data?: { data?: Record<string, unknown> | null } }).data?.data;
    const keySpec = data?.keySpec;
    const checkValue = data?.checkValue;
    const encoded = data?.material;
    if (
      typeof keySpec !== "string" ||
      !isKeySpec(keySpec) ||
      typeof checkValue !== "string" ||
      typeof encoded !== "string" ||
      !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)
    ) {
      throw new InvalidMaterialError(
        `The Vault secret of "${materialRef}" (version ${this.#settings.kvVersion}) does not hold material, keySpec and checkValue as Tether writes them.`,
        { materialRef },
      );
    }
    // The JSON text and its strings cannot be zeroed (JavaScript strings are immutable); the Buffer is.
    return { material: Buffer.from(encoded, "base64"), keySpec, checkValue };
  }

  protected async storeMaterial(
    materialRef: string,
    _segments: readonly string[],
    material: Uint8Array,
    record: MaterialRecord,
  ): Promise<boolean> {
    const payload = JSON.stringify({
      options: { cas: 0 },
      data: {
        material: Buffer.from(material.buffer, material.byteOffset, material.byteLength).toString("base64"),
        keySpec: record.keySpec,
        checkValue: record.checkValue,
      },
    });
    const response = await this.#call("POST", this.#dataUrl(materialRef), materialRef, "store", payload);
    if (response.status === 400) {
      // KV v2 answers a failed check-and-set with 400 "check-and-set parameter did not match".
      const text = await response.text();
      if (/check-and-set/i.test(text)) return false;
      throw new VaultError(`Vault refused to store "${materialRef}" (400 Bad Request).`);
    }
    await this.#expectOk(response, materialRef, "store");
    await response.body?.cancel();
    return true;
  }

  protected async containsMaterial(materialRef: string): Promise<boolean> {
    return (await this.#readVersion(materialRef)) !== undefined;
  }

  async #readVersion(materialRef: string): Promise<unknown | undefined> {
    const url = `${this.#dataUrl(materialRef)}?version=${this.#settings.kvVersion}`;
    const response = await this.#call("GET", url, materialRef, "read");
    // 404: no secret, or the pinned version was deleted or destroyed (then data is null).
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    await this.#expectOk(response, materialRef, "read");
    return readJson(response, `Vault's answer for "${materialRef}"`);
  }

  #dataUrl(materialRef: string): string {
    const address = this.#settings.address.replace(/\/+$/, "");
    return `${address}/v1/${this.#settings.kvMount}/data/${this.secretPath(materialRef)}`;
  }

  /** One request with the token; a 403 after a cached login logs in again once (the token may have expired). */
  async #call(
    method: "GET" | "POST",
    url: string,
    materialRef: string,
    action: string,
    body?: string,
  ): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.#auth.token();
      let response: Response;
      try {
        response = await this.#fetch(url, {
          method,
          headers: {
            "X-Vault-Token": token,
            ...(this.#settings.namespace === undefined
              ? {}
              : { "X-Vault-Namespace": this.#settings.namespace }),
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          ...(body === undefined ? {} : { body }),
          // Never follow a redirect: fetch would resend the token (and stored material) wherever it points.
          redirect: "error",
        });
      } catch (error) {
        throw new VaultError(
          `Vault at ${this.#settings.address} could not be reached to ${action} "${materialRef}".`,
          {
            cause: error,
          },
        );
      }
      if (response.status === 403 && attempt === 0 && this.#auth.renewable) {
        await response.body?.cancel();
        this.#auth.forget();
        continue;
      }
      return response;
    }
  }

  async #expectOk(response: Response, materialRef: string, action: string): Promise<void> {
    if (response.ok) return;
    // Vault's error bodies are `{"errors": [...]}`; they never hold secret data, but only the status is kept.
    await response.body?.cancel();
    const path = this.secretPath(materialRef);
    if (response.status === 403) {
      throw new VaultError(
        `Vault denied Tether permission to ${action} "${path}" at mount "${this.#settings.kvMount}" (403): the token is invalid or expired, or its policy lacks the capability.`,
      );
    }
    if (response.status === 503) {
      throw new VaultLockedError(
        `Vault at ${this.#settings.address} is sealed or in maintenance (503); Tether cannot ${action} "${path}" until it is unsealed.`,
      );
    }
    throw new VaultError(`Vault could not ${action} "${path}" (HTTP ${response.status}).`);
  }
}

/**
 * A response body parsed as JSON. A body that is not JSON is an error that carries no part of it, not even as
 * its cause: JSON.parse's message quotes the text, and the text may hold material or a token.
 * @throws VaultError naming only what was being read
 */
async function readJson(response: Response, what: string): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new VaultError(`${what} is not JSON (HTTP ${response.status}, ${text.length} characters).`);
  }
}

/** Where requests get their Vault token. */
export interface VaultTokenSource {
  /** Whether a 403 may mean an expired login worth repeating. */
  readonly renewable: boolean;
  token(): Promise<string>;
  forget(): void;
}

/** A fixed token (token auth). */
export function staticToken(token: string): VaultTokenSource {
  if (token === "") {
    throw new VaultLockedError(
      "The HashiCorp Vault token is empty (TETHER_HCV_TOKEN, or the secret TETHER_VAULT_SECRET_REF names).",
    );
  }
  return { renewable: false, token: async () => token, forget: () => undefined };
}

/** Renew a login this long before its lease ends. */
const LOGIN_MARGIN_MS = 60_000;

/**
 * Logs in with the AWS IAM auth method and caches the client token until shortly before its lease ends.
 * https://developer.hashicorp.com/vault/api-docs/auth/aws#login
 */
export function awsIamToken(
  settings: { address: string; namespace?: string; mount: string } & AwsIamLoginOptions,
  options: { fetch?: typeof fetch; now?: () => number } = {},
): VaultTokenSource {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  let cached: { token: string; until: number } | undefined;
  let pending: Promise<string> | undefined;
  const login = async (): Promise<string> => {
    const body = JSON.stringify(await awsIamLoginBody(settings));
    const url = `${settings.address.replace(/\/+$/, "")}/v1/auth/${settings.mount}/login`;
    let response: Response;
    try {
      response = await doFetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(settings.namespace === undefined ? {} : { "X-Vault-Namespace": settings.namespace }),
        },
        body,
        redirect: "error",
      });
    } catch (error) {
      throw new VaultError(`Vault at ${settings.address} could not be reached to log in.`, { cause: error });
    }
    if (!response.ok) {
      await response.body?.cancel();
      if (response.status === 503)
        throw new VaultLockedError(`Vault at ${settings.address} is sealed (503).`);
      throw new VaultError(
        `Vault refused the AWS IAM login for role "${settings.role}" at auth/${settings.mount} (HTTP ${response.status}).`,
      );
    }
    const json = (await readJson(response, "Vault's login answer")) as {
      auth?: { client_token?: unknown; lease_duration?: unknown } | null;
    } | null;
    const token = json?.auth?.client_token;
    if (typeof token !== "string" || token === "")
      throw new VaultError("Vault's login answer holds no token.");
    const lease = typeof json?.auth?.lease_duration === "number" ? json.auth.lease_duration : 0;
    cached = { token, until: lease > 0 ? now() + lease * 1000 - LOGIN_MARGIN_MS : Number.POSITIVE_INFINITY };
    return token;
  };
  return {
    renewable: true,
    async token() {
      if (cached !== undefined && cached.until > now()) return cached.token;
      pending ??= login().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    forget() {
      cached = undefined;
    },
  };
}

/**
 * Builds the HashiCorp vault from checked settings; `token` is TETHER_HCV_TOKEN for token auth.
 * @throws VaultLockedError when token auth has no token
 */
export function hashiCorpVault(
  settings: HashiCorpVaultSettings,
  secrets: { token?: string },
  options: { fetch?: typeof fetch; credentials?: AwsIamLoginOptions["credentials"] } = {},
): HashiCorpVault {
  const auth: HashiCorpAuthSettings = settings.auth;
  const source =
    auth.method === "token"
      ? staticToken(secrets.token ?? "")
      : awsIamToken(
          {
            address: settings.address,
            ...(settings.namespace === undefined ? {} : { namespace: settings.namespace }),
            mount: auth.mount,
            role: auth.role,
            stsRegion: auth.stsRegion,
            ...(auth.stsEndpoint === undefined ? {} : { stsEndpoint: auth.stsEndpoint }),
            serverId: auth.serverId,
            ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
          },
          options,
        );
  return new HashiCorpVault(settings, source, options);
}
