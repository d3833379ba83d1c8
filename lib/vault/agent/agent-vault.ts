/**
 * TETHER_VAULT=agent: a Vault whose material never reaches Tether (docs/agent.md). Each call becomes a wrap
 * (or check value, has, describe, generate) request signed with the deployment's KMS signing key and put in
 * the table; an agent in the customer's network claims it through the API, verifies it, asks its local
 * backend, and answers. The function waits for the answer, reads it, and deletes the request. A wrap answer
 * is the wrapped material sealed to an ephemeral key of this call (seal.ts) and its check value; nothing
 * in this process ever holds plaintext material.
 */
import { randomUUID } from "node:crypto";
import { KMSClient, SignCommand } from "@aws-sdk/client-kms";
import {
  type AgentAnswer,
  AgentErrorCode,
  AgentOp,
  type AgentRequest,
  agentRequestText,
  answerFits,
  liveAgentWrappings,
  parseAgentAnswer,
} from "../../domain/agent-protocol.js";
import type { KeySpec } from "../../domain/kms-constants.js";
import { allowedWrappings, type WrappingChoice } from "../../domain/wrapping.js";
import type { AgentQueue, MaterialDescription, Vault, WrapForRequest } from "../../lifecycle/ports.js";
import {
  InvalidMaterialError,
  InvalidMaterialRefError,
  MaterialAlreadyExistsError,
  MaterialNotFoundError,
  UnsupportedWrappingError,
  VaultError,
  VaultLockedError,
} from "../errors.js";
import { newAnswerKey, open } from "./seal.js";
import type { AgentVaultSettings } from "./settings.js";

/** Signs a request's text; the KMS signer below, or a test's. */
export interface RequestSigner {
  readonly keyId: string;
  sign(text: string): Promise<string>;
}

/** RSASSA_PKCS1_V1_5_SHA_256 with a KMS signing key (https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html). */
export function kmsRequestSigner(client: KMSClient, keyId: string): RequestSigner {
  return {
    keyId,
    async sign(text) {
      const out = await client.send(
        new SignCommand({
          KeyId: keyId,
          Message: Buffer.from(text, "utf8"),
          MessageType: "RAW",
          SigningAlgorithm: "RSASSA_PKCS1_V1_5_SHA_256",
        }),
      );
      if (out.Signature === undefined) throw new VaultError("KMS Sign answered without a signature");
      return Buffer.from(out.Signature).toString("base64");
    },
  };
}

export interface AgentVaultOptions {
  readonly queue: AgentQueue;
  readonly signer: RequestSigner;
  readonly deployment: string;
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly clock?: (() => Date) | undefined;
}

type Fields = Omit<AgentRequest, "v" | "id" | "op" | "deployment" | "materialRef" | "issuedAt" | "expiresAt">;

export class AgentVault implements Vault {
  readonly kind = "agent";
  readonly #o: AgentVaultOptions;
  readonly #clock: () => Date;

  constructor(options: AgentVaultOptions) {
    this.#o = options;
    this.#clock = options.clock ?? (() => new Date());
  }

  /** Wrapping needs the import's key and Region: the import step calls wrapFor. */
  async wrap(materialRef: string): Promise<Uint8Array> {
    throw new VaultError(
      `The vault agent wraps only for a named key (wrapFor); nothing asked it to wrap "${materialRef}" for one.`,
    );
  }

  async wrapFor(request: WrapForRequest): Promise<{ wrapped: Uint8Array; checkValue: string }> {
    const answerKey = newAnswerKey();
    const { id, answer } = await this.#ask(AgentOp.Wrap, request.materialRef, {
      keyArn: request.keyArn,
      region: request.region,
      keySpec: request.keySpec,
      wrappingPublicKey: Buffer.from(request.publicKeyDer).toString("base64"),
      wrappingAlgorithm: request.algorithm,
      answerKey: answerKey.publicKey,
    });
    if (answer.op !== "wrap") throw new VaultError("the agent answered a wrap request with something else");
    let wrapped: Uint8Array;
    try {
      wrapped = open(answer.sealed, answerKey.privateKey, id);
    } catch (error) {
      throw new VaultError("the agent's sealed answer does not open with this request's key", {
        cause: error,
      });
    }
    return { wrapped, checkValue: answer.checkValue };
  }

  /**
   * What the agents up now can all wrap for this key spec (each reports its backend's limits with its
   * heartbeat): the import asks KMS for one of these, so whichever agent claims the request can serve it.
   */
  async supportedWrappings(keySpec: KeySpec): Promise<readonly WrappingChoice[]> {
    const live = liveAgentWrappings(await this.#o.queue.heartbeats(), keySpec, this.#clock());
    return live ?? allowedWrappings(keySpec);
  }

  async checkValue(materialRef: string): Promise<string> {
    const { answer } = await this.#ask(AgentOp.CheckValue, materialRef, {});
    if (answer.op !== "checkValue") throw new VaultError("unexpected answer");
    return answer.checkValue;
  }

  async generate(materialRef: string, keySpec: KeySpec): Promise<{ checkValue: string }> {
    const { answer } = await this.#ask(AgentOp.Generate, materialRef, { keySpec });
    if (answer.op !== "generate") throw new VaultError("unexpected answer");
    return { checkValue: answer.checkValue };
  }

  async has(materialRef: string): Promise<boolean> {
    const { answer } = await this.#ask(AgentOp.Has, materialRef, {});
    if (answer.op !== "has") throw new VaultError("unexpected answer");
    return answer.has;
  }

  async describe(materialRef: string): Promise<MaterialDescription | undefined> {
    const { answer } = await this.#ask(AgentOp.Describe, materialRef, {});
    if (answer.op !== "describe") throw new VaultError("unexpected answer");
    return answer.keySpecs === undefined || answer.keySpecs.length === 0
      ? undefined
      : { keySpecs: answer.keySpecs as KeySpec[] };
  }

  /** Signs and publishes one request, waits for its answer, and removes it. */
  async #ask(op: AgentOp, materialRef: string, fields: Fields): Promise<{ id: string; answer: AgentAnswer }> {
    const { queue, signer, timeoutMs, pollMs } = this.#o;
    const issuedAt = this.#clock();
    const expiresAt = new Date(issuedAt.getTime() + timeoutMs);
    const request: AgentRequest = {
      v: 1,
      id: randomUUID(),
      op,
      deployment: this.#o.deployment,
      materialRef,
      issuedAt: issuedAt.toISOString(),
      expiresAt: expiresAt.toISOString(),
      ...fields,
    };
    const text = agentRequestText(request);
    await queue.publish({
      id: request.id,
      text,
      signature: await signer.sign(text),
      signingKeyId: signer.keyId,
      expiresAt,
    });
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const raw = await queue.answerOf(request.id);
        if (raw !== undefined) return { id: request.id, answer: answerOrThrow(request, raw) };
        if (Date.now() >= deadline) {
          throw new VaultLockedError(
            `No vault agent answered the ${op} request for "${materialRef}" within ${Math.round(timeoutMs / 1000)} s (tether agent status).`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    } finally {
      await queue.withdraw(request.id).catch(() => undefined);
    }
  }
}

/** The answer, or the Vault port's error it carries. */
function answerOrThrow(request: AgentRequest, raw: string): AgentAnswer {
  let answer: AgentAnswer;
  try {
    answer = parseAgentAnswer(JSON.parse(raw));
  } catch (error) {
    throw new VaultError("the agent's answer is malformed", { cause: error });
  }
  if (!answerFits(request, answer)) throw new VaultError(`the agent answered ${answer.op} to ${request.op}`);
  if (answer.op !== "error") return answer;
  const ref = request.materialRef;
  const message = `vault agent: ${answer.message}`;
  switch (answer.code) {
    case AgentErrorCode.MaterialNotFound:
      throw new MaterialNotFoundError(ref);
    case AgentErrorCode.MaterialAlreadyExists:
      throw new MaterialAlreadyExistsError(ref);
    case AgentErrorCode.InvalidMaterialRef:
      throw new InvalidMaterialRefError(ref, answer.message);
    case AgentErrorCode.InvalidMaterial:
      throw new InvalidMaterialError(message, {
        materialRef: ref,
        ...(request.keySpec === undefined ? {} : { keySpec: request.keySpec }),
      });
    case AgentErrorCode.UnsupportedWrapping:
      throw new UnsupportedWrappingError(message, {
        ...(request.keySpec === undefined ? {} : { keySpec: request.keySpec }),
        ...(request.wrappingAlgorithm === undefined ? {} : { algorithm: request.wrappingAlgorithm }),
      });
    case AgentErrorCode.VaultLocked:
      throw new VaultLockedError(message);
    default:
      throw new VaultError(
        answer.refusal === undefined ? message : `${message} (refused: ${answer.refusal})`,
      );
  }
}

/** The adapter from its settings: the table and KMS clients of this Region (or the local endpoints). */
export function agentVault(
  settings: AgentVaultSettings,
  env: Readonly<Record<string, string | undefined>>,
  clock: (() => Date) | undefined,
  makeQueue: (tableName: string, endpoint: string | undefined) => AgentQueue,
): AgentVault {
  const kms = new KMSClient({
    region: settings.signingRegion,
    ...(env.TETHER_KMS_ENDPOINT ? { endpoint: env.TETHER_KMS_ENDPOINT } : {}),
  });
  return new AgentVault({
    queue: makeQueue(settings.tableName, env.TETHER_DYNAMODB_ENDPOINT || undefined),
    signer: kmsRequestSigner(kms, settings.signingKeyArn),
    deployment: settings.deployment,
    timeoutMs: settings.timeoutMs,
    pollMs: settings.pollMs,
    clock,
  });
}
