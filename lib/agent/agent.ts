/**
 * The vault agent (docs/agent.md): runs in the customer's network, calls out to Tether's API only (HTTPS,
 * SigV4 with its own IAM identity), claims the requests waiting for it, verifies each (signature with the
 * deployment's public key, then lib/domain/agent-protocol.ts's rules and its replay store), asks its local
 * backend (any Vault adapter: the file vault, HashiCorp Vault, a PKCS#11 HSM), and answers. A wrap answer is
 * the wrapped material sealed to the asking function's key and the material's check value: the material
 * itself never leaves the backend, and nothing it answers is useful without Tether's import token.
 */
import { createPublicKey, type KeyObject, verify } from "node:crypto";
import {
  type AgentAnswer,
  AgentErrorCode,
  AgentOp,
  type AgentPolicy,
  type AgentRequest,
  type AgentWrappings,
  agentWrappingsText,
  checkAgentRequest,
} from "../domain/agent-protocol.js";
import { errorName } from "../domain/errors.js";
import { KeySpec, type WrappingAlgorithm } from "../domain/kms-constants.js";
import type { WrappingChoice } from "../domain/wrapping.js";
import type { Vault } from "../lifecycle/ports.js";
import { seal } from "../vault/agent/seal.js";
import type { AgentLog } from "./agent-log.js";

export const AGENT_VERSION = "1";

/** What the agent needs of Tether's API (TetherApiClient's `request`). */
export interface AgentApi {
  request(
    method: "GET" | "POST",
    path: string,
    options?: { query?: Record<string, string | undefined>; body?: unknown },
  ): Promise<unknown>;
}

export interface VaultAgentOptions {
  readonly api: AgentApi;
  readonly name: string;
  readonly backend: Vault;
  /** The deployment's request-signing public keys (several while the key is rotated). */
  readonly publicKeys: readonly KeyObject[];
  readonly policy: AgentPolicy;
  readonly log: AgentLog;
  readonly clock?: (() => Date) | undefined;
  /** Progress and problems, one line each (never material). */
  readonly report?: ((line: string) => void) | undefined;
}

interface Claimed {
  readonly id: string;
  readonly text: string;
  readonly signature: string;
}

/** Reads a PEM or base64-DER SubjectPublicKeyInfo (as `aws kms get-public-key` gives it). */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  return trimmed.startsWith("-----BEGIN")
    ? createPublicKey(trimmed)
    : createPublicKey({ key: Buffer.from(trimmed, "base64"), format: "der", type: "spki" });
}

const ERROR_CODES: Readonly<Record<string, AgentErrorCode>> = {
  MaterialNotFoundError: AgentErrorCode.MaterialNotFound,
  MaterialAlreadyExistsError: AgentErrorCode.MaterialAlreadyExists,
  InvalidMaterialRefError: AgentErrorCode.InvalidMaterialRef,
  InvalidMaterialError: AgentErrorCode.InvalidMaterial,
  UnsupportedWrappingError: AgentErrorCode.UnsupportedWrapping,
  VaultLockedError: AgentErrorCode.VaultLocked,
};

export class VaultAgent {
  readonly #o: VaultAgentOptions;
  readonly #clock: () => Date;
  #answered = 0;
  #refused = 0;
  /** The backend's wrappings as reported with each poll; found once (undefined: not yet, or unlimited). */
  #wrappings: { text: string | undefined } | undefined;
  /** Answers not yet recorded by the API (it could not be reached): sent again when the request comes back. */
  readonly #unsent = new Map<string, AgentAnswer>();

  constructor(options: VaultAgentOptions) {
    this.#o = options;
    this.#clock = options.clock ?? (() => new Date());
  }

  get counts(): { answered: number; refused: number } {
    return { answered: this.#answered, refused: this.#refused };
  }

  /** How many answers wait to be recorded by the API (bounded: see pollOnce). */
  get unsentAnswers(): number {
    return this.#unsent.size;
  }

  /** One poll: claims what waits (a heartbeat too) and answers each. Returns how many it handled. */
  async pollOnce(max = 10): Promise<number> {
    const body = (await this.#o.api.request("GET", "/agent/requests", {
      query: {
        agent: this.#o.name,
        max: String(max),
        version: AGENT_VERSION,
        answered: String(this.#answered),
        refused: String(this.#refused),
        wrappings: await this.#wrappingsText(),
      },
    })) as { requests?: Claimed[] };
    const requests = body.requests ?? [];
    for (const request of requests) {
      const answer = this.#unsent.get(request.id) ?? (await this.handle(request));
      this.#unsent.set(request.id, answer);
      try {
        await this.#o.api.request("POST", `/agent/requests/${encodeURIComponent(request.id)}/answer`, {
          body: { agent: this.#o.name, answer },
        });
        this.#unsent.delete(request.id);
      } catch (error) {
        const status = (error as { status?: unknown }).status;
        // Another agent answered first (409), or the asking function gave up (404): nothing to undo.
        if (status === 409 || status === 404) this.#unsent.delete(request.id);
        this.#o.report?.(`answer to ${request.id} not recorded: ${(error as Error).message}`);
      }
    }
    // An answer whose request expired is dropped (it would never be asked for again).
    if (this.#unsent.size > 100) this.#unsent.clear();
    return requests.length;
  }

  /**
   * What the backend can wrap, per key spec, as the heartbeat reports it: undefined when the backend has no
   * limits of its own (it wraps whatever KMS accepts). Asked once; a failure is reported and asked again.
   */
  async #wrappingsText(): Promise<string | undefined> {
    const { backend } = this.#o;
    if (backend.supportedWrappings === undefined) return undefined;
    if (this.#wrappings !== undefined) return this.#wrappings.text;
    try {
      const wrappings: Partial<Record<KeySpec, readonly WrappingChoice[]>> = {};
      for (const keySpec of Object.values(KeySpec)) {
        wrappings[keySpec] = await backend.supportedWrappings(keySpec);
      }
      this.#wrappings = { text: agentWrappingsText(wrappings as AgentWrappings) };
      return this.#wrappings.text;
    } catch (error) {
      this.#o.report?.(`could not read the backend's wrappings: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Verifies one request and answers it from the backend (never throws: failures are answers too). */
  async handle(claimed: Claimed): Promise<AgentAnswer> {
    const { log, policy } = this.#o;
    const text = Buffer.from(claimed.text, "utf8");
    const signature = Buffer.from(claimed.signature, "base64");
    const signatureValid = this.#o.publicKeys.some((key) => {
      try {
        return verify("sha256", text, key, signature);
      } catch {
        return false;
      }
    });
    const now = this.#clock();
    const check = checkAgentRequest({
      text: claimed.text,
      signatureValid,
      seen: (id) => log.seen(id, now),
      now,
      policy,
    });
    if (!check.ok) {
      this.#refused++;
      // A forged request's fields are not Tether's: the log keeps the id it was claimed under, nothing more.
      await log.append({
        at: now.toISOString(),
        id: claimed.id,
        op: "?",
        outcome: "refused",
        refusal: check.refusal,
      });
      this.#o.report?.(`refused ${claimed.id}: ${check.refusal} (${check.message})`);
      return { op: "error", code: AgentErrorCode.Refused, message: check.message, refusal: check.refusal };
    }
    const request = check.request;
    const entry = {
      id: request.id,
      op: request.op,
      materialRef: request.materialRef,
      keyArn: request.keyArn,
      region: request.region,
      deployment: request.deployment,
    };
    await log.append({ at: now.toISOString(), ...entry, outcome: "accepted" });
    try {
      const answer = await this.#serve(request);
      this.#answered++;
      await log.append({ at: this.#clock().toISOString(), ...entry, outcome: "answered" });
      return answer;
    } catch (error) {
      const name = errorName(error);
      await log.append({ at: this.#clock().toISOString(), ...entry, outcome: "failed", error: name });
      return {
        op: "error",
        code: ERROR_CODES[name] ?? AgentErrorCode.VaultFailed,
        message: `${name}: ${(error as Error).message ?? ""}`.slice(0, 500),
      };
    }
  }

  async #serve(request: AgentRequest): Promise<AgentAnswer> {
    const { backend } = this.#o;
    const ref = request.materialRef;
    switch (request.op) {
      case AgentOp.CheckValue:
        return { op: "checkValue", checkValue: await backend.checkValue(ref) };
      case AgentOp.Has:
        return { op: "has", has: await backend.has(ref) };
      case AgentOp.Describe: {
        const description = await backend.describe(ref);
        return {
          op: "describe",
          ...(description === undefined ? {} : { keySpecs: [...description.keySpecs] }),
        };
      }
      case AgentOp.Generate:
        return { op: "generate", ...(await backend.generate(ref, request.keySpec as KeySpec)) };
      case AgentOp.Wrap:
        return this.#wrap(request);
    }
  }

  async #wrap(request: AgentRequest): Promise<AgentAnswer> {
    const { backend } = this.#o;
    const ref = request.materialRef;
    const description = request.keySpec === undefined ? undefined : await backend.describe(ref);
    if (description !== undefined && !description.keySpecs.includes(request.keySpec as KeySpec)) {
      return {
        op: "error",
        code: AgentErrorCode.InvalidMaterial,
        message: `the material under "${ref}" cannot serve ${request.keySpec} (it serves ${description.keySpecs.join(", ")})`,
      };
    }
    const checkValue = await backend.checkValue(ref);
    const wrapped = await backend.wrap(
      ref,
      Buffer.from(request.wrappingPublicKey ?? "", "base64"),
      request.wrappingAlgorithm as WrappingAlgorithm,
    );
    try {
      return { op: "wrap", sealed: seal(wrapped, request.answerKey ?? "", request.id), checkValue };
    } finally {
      wrapped.fill(0);
    }
  }

  /** Polls until `signal` aborts: at once again after work, else after `idleMs`; backs off on errors. */
  async run(signal: AbortSignal, idleMs = 1000): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let handled = 0;
      try {
        handled = await this.pollOnce();
        failures = 0;
      } catch (error) {
        failures++;
        this.#o.report?.(`poll failed (${failures} in a row): ${(error as Error).message}`);
      }
      if (handled > 0) continue;
      const wait = failures === 0 ? idleMs : Math.min(30_000, idleMs * 2 ** Math.min(failures, 5));
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, wait);
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }
}
