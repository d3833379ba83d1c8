/**
 * The vault agent's protocol (docs/agent.md): what Tether asks an agent in the customer's network, what the
 * agent answers, and the rules the agent checks before it acts. Pure: the caller verifies the signature
 * (crypto), keeps the replay store and reads the clock, and hands the results in.
 *
 * A request is a JSON text signed by a KMS signing key of the deployment (RSASSA_PKCS1_V1_5_SHA_256): the
 * agent verifies the exact bytes it received with the public key it was given, so it holds no secret of
 * Tether's. It names the material, the KMS key and Region, the key spec, the wrapping public key and
 * algorithm, and an answer key (an ephemeral X25519 key of the asking function: the wrapped material travels
 * sealed to it, so neither the API nor the table ever holds it). Never the import token: that stays in Tether.
 */
import { ValidationError } from "./errors.js";
import { parseKmsKeyArn } from "./key-arn.js";
import { KeySpec, WrappingAlgorithm, WrappingKeySpec } from "./kms-constants.js";
import { allowedWrappings, type WrappingChoice } from "./wrapping.js";

export const AGENT_PROTOCOL_VERSION = 1;

/** What a request asks: the Vault port's operations, each answered by the agent's local backend. */
export const AgentOp = {
  Wrap: "wrap",
  CheckValue: "checkValue",
  Has: "has",
  Describe: "describe",
  Generate: "generate",
} as const;
export type AgentOp = (typeof AgentOp)[keyof typeof AgentOp];
const OPS: readonly string[] = Object.values(AgentOp);

/** A request as signed. Times are ISO 8601 UTC. */
export interface AgentRequest {
  readonly v: typeof AGENT_PROTOCOL_VERSION;
  readonly id: string;
  readonly op: AgentOp;
  /** The deployment that asks (TETHER_DEPLOYMENT): an agent serves the deployments it is configured for. */
  readonly deployment: string;
  readonly materialRef: string;
  readonly issuedAt: string;
  readonly expiresAt: string;
  /** wrap: the KMS key (ARN) and its Region the material is wrapped for. */
  readonly keyArn?: string | undefined;
  readonly region?: string | undefined;
  /** generate: the key spec; wrap: the key's spec, when the import step gives it. */
  readonly keySpec?: string | undefined;
  /** wrap: the wrapping public key (base64 DER SubjectPublicKeyInfo) and algorithm of GetParametersForImport. */
  readonly wrappingPublicKey?: string | undefined;
  readonly wrappingAlgorithm?: string | undefined;
  /** wrap: base64 DER SubjectPublicKeyInfo of the X25519 key the wrapped material is sealed to. */
  readonly answerKey?: string | undefined;
}

/** The fields in the order they are written: the signed text is this serialisation of the request. */
const FIELDS = [
  "v",
  "id",
  "op",
  "deployment",
  "materialRef",
  "issuedAt",
  "expiresAt",
  "keyArn",
  "region",
  "keySpec",
  "wrappingPublicKey",
  "wrappingAlgorithm",
  "answerKey",
] as const;

/** The text Tether signs and sends: the request's fields in a fixed order, absent ones left out. */
export function agentRequestText(request: AgentRequest): string {
  const ordered: Record<string, unknown> = {};
  for (const field of FIELDS) {
    if (request[field] !== undefined) ordered[field] = request[field];
  }
  return JSON.stringify(ordered);
}

const WRAP_FIELDS = [
  "keyArn",
  "region",
  "keySpec",
  "wrappingPublicKey",
  "wrappingAlgorithm",
  "answerKey",
] as const;

/**
 * Reads a signed request's text.
 * @throws ValidationError naming the first field that is missing or malformed
 */
export function parseAgentRequest(text: string): AgentRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ValidationError("request", "not JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ValidationError("request", "not a JSON object");
  }
  const r = raw as Record<string, unknown>;
  const unknownField = Object.keys(r).find((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknownField !== undefined) throw new ValidationError(unknownField, "not a field of the protocol");
  if (r.v !== AGENT_PROTOCOL_VERSION) {
    throw new ValidationError("v", `must be ${AGENT_PROTOCOL_VERSION}`);
  }
  for (const field of ["id", "deployment", "materialRef", "issuedAt", "expiresAt"] as const) {
    if (typeof r[field] !== "string" || r[field] === "") throw new ValidationError(field, "required");
  }
  if (typeof r.op !== "string" || !OPS.includes(r.op)) {
    throw new ValidationError("op", `must be one of ${OPS.join(", ")}`);
  }
  for (const field of ["issuedAt", "expiresAt"] as const) {
    if (Number.isNaN(Date.parse(r[field] as string))) throw new ValidationError(field, "not a time");
  }
  for (const field of WRAP_FIELDS) {
    if (r[field] !== undefined && (typeof r[field] !== "string" || r[field] === "")) {
      throw new ValidationError(field, "must be a non-empty string");
    }
    // The key spec is told when the import step knows it (the agent then checks the material serves it).
    if (r.op === AgentOp.Wrap && r[field] === undefined && field !== "keySpec") {
      throw new ValidationError(field, "required to wrap");
    }
  }
  if (r.op === AgentOp.Generate && r.keySpec === undefined) {
    throw new ValidationError("keySpec", "required to generate");
  }
  return r as unknown as AgentRequest;
}

/** What an agent is configured to serve. */
export interface AgentPolicy {
  /** The deployments whose requests it serves. */
  readonly deployments: readonly string[];
  /** Material references it may touch: each a prefix ending at a `/` (`payments` admits `payments/a`). */
  readonly materialPrefixes: readonly string[];
  /** Accounts and Regions of the KMS keys it may wrap for. */
  readonly accounts: readonly string[];
  readonly regions: readonly string[];
  /** A request valid for longer than this is refused (a leaked request stays useful only so long). */
  readonly maxLifetimeMs: number;
  /** How far ahead of the agent's clock a request's issue time may be. */
  readonly clockSkewMs: number;
}

export const DEFAULT_AGENT_MAX_LIFETIME_MS = 15 * 60_000;
export const DEFAULT_AGENT_CLOCK_SKEW_MS = 60_000;

/**
 * How long the agent must remember a request id to refuse its replay. A request it accepted at its time A was
 * issued at most `clockSkewMs` after A and is valid for at most `maxLifetimeMs` from its issue (longer ones are
 * refused), so it expires by A + clockSkewMs + maxLifetimeMs, and a replay after that is refused as expired
 * anyway: the id can be forgotten (one more skew kept as margin). The replay store stays small however long
 * the agent runs.
 */
export function replayWindowMs(policy: Pick<AgentPolicy, "maxLifetimeMs" | "clockSkewMs">): number {
  return policy.maxLifetimeMs + 2 * policy.clockSkewMs;
}

/** Why an agent refuses a request; recorded in its log and answered back. */
export const AgentRefusal = {
  Forged: "FORGED",
  Malformed: "MALFORMED",
  Replayed: "REPLAYED",
  Expired: "EXPIRED",
  NotYetValid: "NOT_YET_VALID",
  TooLongLived: "TOO_LONG_LIVED",
  WrongDeployment: "WRONG_DEPLOYMENT",
  MaterialNotAllowed: "MATERIAL_NOT_ALLOWED",
  KeyNotAllowed: "KEY_NOT_ALLOWED",
} as const;
export type AgentRefusal = (typeof AgentRefusal)[keyof typeof AgentRefusal];

export type AgentCheck =
  | { readonly ok: true; readonly request: AgentRequest }
  | { readonly ok: false; readonly refusal: AgentRefusal; readonly message: string };

/** Whether `ref` lies under `prefix` (the prefix itself, or below it at a `/`). */
export function underPrefix(ref: string, prefix: string): boolean {
  const base = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  return ref === base || ref.startsWith(`${base}/`);
}

/**
 * The agent's rules, in order: signed by Tether, well formed, never seen before, within its validity (not
 * expired, not issued in the future, not valid for longer than the policy allows), for a deployment it serves,
 * material under a configured prefix, and (to wrap) a key ARN of an allowed account and Region.
 * @param input.seen whether the replay store already holds this id (asked only once the text is signed)
 */
export function checkAgentRequest(input: {
  readonly text: string;
  readonly signatureValid: boolean;
  readonly seen: (id: string) => boolean;
  readonly now: Date;
  readonly policy: AgentPolicy;
}): AgentCheck {
  const refuse = (refusal: AgentRefusal, message: string): AgentCheck => ({ ok: false, refusal, message });
  if (!input.signatureValid) {
    return refuse(AgentRefusal.Forged, "the signature does not verify with any accepted public key");
  }
  let request: AgentRequest;
  try {
    request = parseAgentRequest(input.text);
  } catch (error) {
    return refuse(AgentRefusal.Malformed, (error as Error).message);
  }
  const { policy, now } = input;
  if (input.seen(request.id)) return refuse(AgentRefusal.Replayed, `request ${request.id} was seen before`);
  const issued = Date.parse(request.issuedAt);
  const expires = Date.parse(request.expiresAt);
  if (now.getTime() >= expires) return refuse(AgentRefusal.Expired, `expired at ${request.expiresAt}`);
  if (issued > now.getTime() + policy.clockSkewMs) {
    return refuse(AgentRefusal.NotYetValid, `issued at ${request.issuedAt}, after the agent's clock`);
  }
  if (expires - issued > policy.maxLifetimeMs || expires < issued) {
    return refuse(
      AgentRefusal.TooLongLived,
      `valid from ${request.issuedAt} to ${request.expiresAt}: more than ${policy.maxLifetimeMs} ms`,
    );
  }
  if (!policy.deployments.includes(request.deployment)) {
    return refuse(AgentRefusal.WrongDeployment, `deployment "${request.deployment}" is not served here`);
  }
  if (!policy.materialPrefixes.some((p) => underPrefix(request.materialRef, p))) {
    return refuse(
      AgentRefusal.MaterialNotAllowed,
      `material "${request.materialRef}" is under none of the configured prefixes`,
    );
  }
  if (request.op === AgentOp.Wrap) return checkKey(request, policy, refuse);
  return { ok: true, request };
}

function checkKey(
  request: AgentRequest,
  policy: AgentPolicy,
  refuse: (refusal: AgentRefusal, message: string) => AgentCheck,
): AgentCheck {
  let arn: ReturnType<typeof parseKmsKeyArn>;
  try {
    arn = parseKmsKeyArn(request.keyArn);
  } catch (error) {
    return refuse(AgentRefusal.Malformed, (error as Error).message);
  }
  if (arn.region !== request.region) {
    return refuse(AgentRefusal.Malformed, `region "${request.region}" is not the key ARN's (${arn.region})`);
  }
  if (!policy.accounts.includes(arn.accountId)) {
    return refuse(AgentRefusal.KeyNotAllowed, `account ${arn.accountId} is not allowed`);
  }
  if (!policy.regions.includes(arn.region)) {
    return refuse(AgentRefusal.KeyNotAllowed, `Region ${arn.region} is not allowed`);
  }
  return { ok: true, request };
}

/** Vault errors an agent answers with (the adapter turns each back into the Vault port's error). */
export const AgentErrorCode = {
  MaterialNotFound: "MaterialNotFound",
  MaterialAlreadyExists: "MaterialAlreadyExists",
  InvalidMaterialRef: "InvalidMaterialRef",
  InvalidMaterial: "InvalidMaterial",
  UnsupportedWrapping: "UnsupportedWrapping",
  VaultLocked: "VaultLocked",
  VaultFailed: "VaultFailed",
  Refused: "Refused",
} as const;
export type AgentErrorCode = (typeof AgentErrorCode)[keyof typeof AgentErrorCode];
const ERROR_CODES: readonly string[] = Object.values(AgentErrorCode);

/**
 * An agent's answer. A wrap answer carries only the sealed wrapped material and the material's check value;
 * nothing else leaves the agent.
 */
export type AgentAnswer =
  | { readonly op: "wrap"; readonly sealed: string; readonly checkValue: string }
  | { readonly op: "checkValue" | "generate"; readonly checkValue: string }
  | { readonly op: "has"; readonly has: boolean }
  | { readonly op: "describe"; readonly keySpecs?: readonly string[] | undefined }
  | {
      readonly op: "error";
      readonly code: AgentErrorCode;
      readonly message: string;
      readonly refusal?: AgentRefusal | undefined;
    };

const MAX_MESSAGE = 500;

/**
 * Reads an answer (the API checks it before storing it; the adapter again when it reads it back).
 * @throws ValidationError naming the bad field
 */
export function parseAgentAnswer(raw: unknown): AgentAnswer {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ValidationError("answer", "must be an object");
  }
  const a = raw as Record<string, unknown>;
  const str = (field: string, max = 4096): string => {
    const value = a[field];
    if (typeof value !== "string" || value === "" || value.length > max) {
      throw new ValidationError(`answer.${field}`, `must be a string of 1 to ${max} characters`);
    }
    return value;
  };
  switch (a.op) {
    case "wrap":
      return { op: "wrap", sealed: str("sealed", 16_384), checkValue: str("checkValue", 256) };
    case "checkValue":
    case "generate":
      return { op: a.op, checkValue: str("checkValue", 256) };
    case "has":
      if (typeof a.has !== "boolean") throw new ValidationError("answer.has", "must be a boolean");
      return { op: "has", has: a.has };
    case "describe": {
      if (a.keySpecs === undefined) return { op: "describe" };
      if (!Array.isArray(a.keySpecs) || !a.keySpecs.every((s) => typeof s === "string" && s !== "")) {
        throw new ValidationError("answer.keySpecs", "must be a list of key specs");
      }
      return { op: "describe", keySpecs: a.keySpecs as string[] };
    }
    case "error": {
      const code = str("code", 64);
      if (!ERROR_CODES.includes(code)) throw new ValidationError("answer.code", "not an agent error code");
      const refusal = a.refusal;
      if (refusal !== undefined && !Object.values(AgentRefusal).includes(refusal as AgentRefusal)) {
        throw new ValidationError("answer.refusal", "not a refusal reason");
      }
      return {
        op: "error",
        code: code as AgentErrorCode,
        message: str("message", MAX_MESSAGE),
        ...(refusal === undefined ? {} : { refusal: refusal as AgentRefusal }),
      };
    }
    default:
      throw new ValidationError("answer.op", `must be one of ${[...OPS, "error"].join(", ")}`);
  }
}

/** Whether an answer is one the request's operation can take. */
export function answerFits(request: { readonly op: AgentOp }, answer: AgentAnswer): boolean {
  return answer.op === "error" || answer.op === request.op;
}

/** One agent's last heartbeat as the API recorded it. */
export interface AgentHeartbeat {
  /** The agent's name (its `--name`); several agents may share one IAM identity. */
  readonly name: string;
  /** The IAM principal that signed its calls. */
  readonly principal: string;
  readonly lastSeen: Date;
  readonly version?: string | undefined;
  readonly answered?: number | undefined;
  readonly refused?: number | undefined;
  /** What its backend can wrap, per key spec; absent when the backend can do whatever KMS accepts. */
  readonly wrappings?: AgentWrappings | undefined;
}

/**
 * The wrappings an agent's backend can produce, per key spec (a key spec absent: none). Reported with each
 * poll (its heartbeat), so an HSM limited to RSAES_OAEP_SHA_1 is asked for that and nothing else.
 */
export type AgentWrappings = Readonly<Partial<Record<KeySpec, readonly WrappingChoice[]>>>;

/**
 * The compact text of an agent's wrappings, short enough for a query string: key specs separated by `;`,
 * each `KEYSPEC=ALG:WKS+WKS,ALG:WKS` (e.g. `SYMMETRIC_DEFAULT=RSAES_OAEP_SHA_1:RSA_2048+RSA_4096`).
 */
export function agentWrappingsText(wrappings: AgentWrappings): string {
  const parts: string[] = [];
  for (const [keySpec, choices] of Object.entries(wrappings) as [KeySpec, readonly WrappingChoice[]][]) {
    const byAlgorithm = new Map<string, string[]>();
    for (const c of choices) {
      byAlgorithm.set(c.wrappingAlgorithm, [
        ...(byAlgorithm.get(c.wrappingAlgorithm) ?? []),
        c.wrappingKeySpec,
      ]);
    }
    const algorithms = [...byAlgorithm].map(([algorithm, specs]) => `${algorithm}:${specs.join("+")}`);
    parts.push(`${keySpec}=${algorithms.join(",")}`);
  }
  return parts.join(";");
}

/**
 * Reads `agentWrappingsText`'s form back, in KMS's order of preference (lib/domain/wrapping.ts); pairs KMS
 * does not accept for the key spec are dropped.
 * @throws ValidationError naming `wrappings` and the part that is not a key spec, algorithm or wrapping key spec
 */
export function parseAgentWrappings(text: string): AgentWrappings {
  const out: Partial<Record<KeySpec, WrappingChoice[]>> = {};
  for (const part of text.split(";").filter((p) => p !== "")) {
    const [keySpec, list = ""] = part.split("=", 2);
    if (keySpec === undefined || !Object.hasOwn(KeySpec, keySpec)) {
      throw new ValidationError("wrappings", `${JSON.stringify(keySpec)} is not a key spec`);
    }
    const kmsAllows = allowedWrappings(keySpec as KeySpec);
    const named = new Set<string>();
    for (const group of list.split(",").filter((g) => g !== "")) {
      const [algorithm = "", specs = ""] = group.split(":", 2);
      if (!Object.hasOwn(WrappingAlgorithm, algorithm)) {
        throw new ValidationError("wrappings", `${JSON.stringify(algorithm)} is not a wrapping algorithm`);
      }
      for (const spec of specs.split("+")) {
        if (!Object.hasOwn(WrappingKeySpec, spec)) {
          throw new ValidationError("wrappings", `${JSON.stringify(spec)} is not a wrapping key spec`);
        }
        named.add(`${algorithm}:${spec}`);
      }
    }
    out[keySpec as KeySpec] = kmsAllows.filter((c) =>
      named.has(`${c.wrappingAlgorithm}:${c.wrappingKeySpec}`),
    );
  }
  return out;
}

/**
 * What every agent up now can wrap for this key spec (the intersection, so whichever claims a request can
 * serve it), in KMS's order of preference; undefined when no agent is up or none reports a limit (then any
 * wrapping KMS accepts is fine: the request waits for an agent, or any agent can do it).
 */
export function liveAgentWrappings(
  heartbeats: readonly AgentHeartbeat[],
  keySpec: KeySpec,
  now: Date,
  thresholds: AgentHealthThresholds = DEFAULT_AGENT_HEALTH,
): WrappingChoice[] | undefined {
  const limits = heartbeats
    .filter((h) => now.getTime() - h.lastSeen.getTime() <= thresholds.downAfterMs)
    .map((h) => h.wrappings)
    .filter((w): w is AgentWrappings => w !== undefined)
    .map((w) => w[keySpec] ?? []);
  if (limits.length === 0) return undefined;
  return allowedWrappings(keySpec).filter((c) =>
    limits.every((can) =>
      can.some((v) => v.wrappingAlgorithm === c.wrappingAlgorithm && v.wrappingKeySpec === c.wrappingKeySpec),
    ),
  );
}

export const AgentHealthState = { Healthy: "healthy", Behind: "behind", Down: "down" } as const;
export type AgentHealthState = (typeof AgentHealthState)[keyof typeof AgentHealthState];

export interface AgentHealthThresholds {
  /** An agent not seen for this long is down. */
  readonly downAfterMs: number;
  /** A request left unanswered this long means the agents are behind. */
  readonly behindAfterMs: number;
}

export const DEFAULT_AGENT_HEALTH: AgentHealthThresholds = { downAfterMs: 120_000, behindAfterMs: 60_000 };

export interface AgentHealth {
  readonly state: AgentHealthState;
  readonly agents: readonly (AgentHeartbeat & { readonly state: AgentHealthState })[];
  /** The oldest unanswered request's issue time, if any. */
  readonly oldestPending?: Date | undefined;
  readonly summary: string;
}

/**
 * The deployment's agent health: down when no agent was seen within `downAfterMs`; behind when one is up
 * but a request has waited longer than `behindAfterMs`; healthy otherwise.
 */
export function agentHealth(
  heartbeats: readonly AgentHeartbeat[],
  oldestPending: Date | undefined,
  now: Date,
  thresholds: AgentHealthThresholds = DEFAULT_AGENT_HEALTH,
): AgentHealth {
  const agents = heartbeats.map((h) => ({
    ...h,
    state:
      now.getTime() - h.lastSeen.getTime() > thresholds.downAfterMs
        ? AgentHealthState.Down
        : AgentHealthState.Healthy,
  }));
  const up = agents.filter((a) => a.state === AgentHealthState.Healthy).length;
  const waitedMs = oldestPending === undefined ? 0 : now.getTime() - oldestPending.getTime();
  const pending = oldestPending === undefined ? {} : { oldestPending };
  if (up === 0) {
    const last = heartbeats.reduce<Date | undefined>(
      (latest, h) => (latest === undefined || h.lastSeen > latest ? h.lastSeen : latest),
      undefined,
    );
    return {
      state: AgentHealthState.Down,
      agents,
      ...pending,
      summary:
        last === undefined
          ? "no vault agent has ever called in"
          : `no vault agent called in since ${last.toISOString()} (down after ${thresholds.downAfterMs / 1000} s)`,
    };
  }
  if (waitedMs > thresholds.behindAfterMs) {
    return {
      state: AgentHealthState.Behind,
      agents,
      ...pending,
      summary: `${up} agent(s) up, but a request has waited ${Math.round(waitedMs / 1000)} s`,
    };
  }
  return { state: AgentHealthState.Healthy, agents, ...pending, summary: `${up} agent(s) up` };
}

/**
 * Whether a health change is worth an alert: entering down or behind (from anything else) raises one;
 * coming back to healthy from either raises a recovery notice. Staying in a state is quiet.
 */
export function agentHealthTransition(
  previous: AgentHealthState | undefined,
  current: AgentHealthState,
): "alert" | "recovered" | undefined {
  if (previous === current) return undefined;
  if (current === AgentHealthState.Healthy) return previous === undefined ? undefined : "recovered";
  return "alert";
}
