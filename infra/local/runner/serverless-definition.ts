/**
 * Reads serverless.yml — the deployment's own definition — into what the local runner needs: each
 * function's handler module, timeout and environment, its HTTP API routes (with their authorizer), its
 * schedules and its EventBridge patterns. Nothing here is a second copy of those definitions.
 *
 * Variables: only the `${...}` forms the file uses are resolved, with local values. `${self:a.b}` reads the
 * file; `${sls:stage}` and `${opt:stage}` are the local stage; `${opt:region}` is the local region;
 * `${param:name}` takes the local parameter given by the runner (e.g. the local admin principals), else the
 * file's `params.<stage>` / `params.default`, else the default written after the comma. In an environment
 * value, `Fn::Sub` with the pseudo parameters `${AWS::Partition}`, `${AWS::AccountId}`, `${AWS::Region}`
 * is evaluated with local values. Anything else is refused with its name, rather than guessed.
 */
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { ServerlessDefinitionError } from "./errors.js";

export type RouteAuth = "aws_iam" | "none";

export interface HttpRoute {
  /** Upper case, or `ANY`. */
  readonly method: string;
  /** As written, e.g. `/keys/{id}/history`. */
  readonly path: string;
  readonly auth: RouteAuth;
}

export interface ScheduleDefinition {
  /** The deployed expression, e.g. `rate(5 minutes)`; locally every schedule runs on the demo interval. */
  readonly expression: string;
  readonly enabled: boolean;
}

export interface EventRuleDefinition {
  readonly pattern: Record<string, unknown>;
  /** Bus name; `default` when serverless.yml names none; empty when `eventBusResource` names the bus. */
  readonly eventBus: string;
  /**
   * The logical id of a bus of the stack's own resources (`eventBus: { Fn::GetAtt: [AuditBus, Name] }`), for
   * the runner to map onto the bus it created; absent when the bus is named.
   */
  readonly eventBusResource?: string;
}

export interface FunctionDefinition {
  /** The key under `functions:`, e.g. `kms-events`. */
  readonly name: string;
  /** The deployed name, `<service>-<stage>-<name>`. */
  readonly deployedName: string;
  /** Module path relative to the project root, without extension, e.g. `functions/api`. */
  readonly module: string;
  readonly exportName: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  /** `reservedConcurrency`: at most this many runs at once (absent: no cap of its own). */
  readonly reservedConcurrency?: number;
  /**
   * `maximumRetryAttempts`: how often Lambda runs an asynchronous event again after the function failed on
   * it (the function's EventInvokeConfig, 0 to 2; Lambda's default 2 when serverless.yml sets none). Events
   * from EventBridge rules and schedules arrive this way.
   */
  readonly asyncRetryAttempts: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly routes: readonly HttpRoute[];
  readonly schedules: readonly ScheduleDefinition[];
  readonly eventRules: readonly EventRuleDefinition[];
}

export interface ServerlessDefinition {
  readonly service: string;
  readonly stage: string;
  readonly region: string;
  /** provider.environment, resolved. */
  readonly environment: Readonly<Record<string, string>>;
  readonly functions: readonly FunctionDefinition[];
}

export interface LocalVariables {
  readonly stage: string;
  readonly region: string;
  readonly accountId: string;
  /** Values for `${param:name, ...}`; a parameter not given here takes the file's default. */
  readonly params: Readonly<Record<string, string>>;
}

/** Lambda's default timeout and memory when serverless.yml sets neither (osls v3 defaults). */
const DEFAULT_TIMEOUT_SECONDS = 6;
const DEFAULT_MEMORY_SIZE = 1024;

/**
 * Reads and resolves serverless.yml.
 * @throws ServerlessDefinitionError when the file cannot be read or holds something unsupported
 */
export async function loadServerlessDefinition(
  file: string,
  variables: LocalVariables,
): Promise<ServerlessDefinition> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new ServerlessDefinitionError(`cannot read ${file}`, { cause: error });
  }
  return parseServerlessDefinition(text, variables);
}

/**
 * Parses serverless.yml text.
 * @throws ServerlessDefinitionError naming the unsupported or malformed part
 */
export function parseServerlessDefinition(text: string, variables: LocalVariables): ServerlessDefinition {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new ServerlessDefinitionError("serverless.yml is not valid YAML", { cause: error });
  }
  const root = asRecord(doc, "serverless.yml");
  const service = typeof root.service === "string" ? root.service : asRecord(root.service, "service").name;
  if (typeof service !== "string" || service === "") {
    throw new ServerlessDefinitionError("serverless.yml: service must be a name");
  }
  const resolve = (value: unknown, where: string): unknown =>
    resolveVariables(value, where, { root, service, ...variables });
  const provider = asRecord(root.provider ?? {}, "provider");
  const environment = environmentOf(
    resolve(provider.environment ?? {}, "provider.environment"),
    "provider",
    variables,
  );
  const providerTimeout = numberOr(provider.timeout, DEFAULT_TIMEOUT_SECONDS, "provider.timeout");
  const providerMemory = numberOr(provider.memorySize, DEFAULT_MEMORY_SIZE, "provider.memorySize");

  const functions = Object.entries(asRecord(root.functions ?? {}, "functions")).map(([name, raw]) => {
    const where = `functions.${name}`;
    const fn = asRecord(raw, where);
    if (typeof fn.handler !== "string" || !/^[\w./-]+\.\w+$/.test(fn.handler)) {
      throw new ServerlessDefinitionError(`${where}.handler must look like "dir/file.export"`);
    }
    const dot = fn.handler.lastIndexOf(".");
    const routes: HttpRoute[] = [];
    const schedules: ScheduleDefinition[] = [];
    const eventRules: EventRuleDefinition[] = [];
    const events = fn.events ?? [];
    if (!Array.isArray(events)) throw new ServerlessDefinitionError(`${where}.events must be a list`);
    events.forEach((entry, index) => {
      const at = `${where}.events[${index}]`;
      const event = asRecord(resolve(entry, at), at);
      const [kind, ...others] = Object.keys(event);
      if (kind === undefined || others.length > 0) {
        throw new ServerlessDefinitionError(`${at} must have exactly one event type`);
      }
      if (kind === "httpApi") routes.push(readRoute(event.httpApi, at));
      else if (kind === "schedule") schedules.push(readSchedule(event.schedule, at));
      else if (kind === "eventBridge") eventRules.push(readEventRule(event.eventBridge, at));
      else throw new ServerlessDefinitionError(`${at}: the local runner does not support "${kind}" events`);
    });
    return {
      name,
      deployedName: `${service}-${variables.stage}-${name}`,
      module: fn.handler.slice(0, dot),
      exportName: fn.handler.slice(dot + 1),
      timeoutSeconds: numberOr(fn.timeout, providerTimeout, `${where}.timeout`),
      memorySize: numberOr(fn.memorySize, providerMemory, `${where}.memorySize`),
      ...reservedConcurrencyOf(resolve(fn.reservedConcurrency, `${where}.reservedConcurrency`), where),
      asyncRetryAttempts: asyncRetryAttemptsOf(
        resolve(fn.maximumRetryAttempts, `${where}.maximumRetryAttempts`),
        where,
      ),
      environment: {
        ...environment,
        ...environmentOf(resolve(fn.environment ?? {}, where), where, variables),
      },
      routes,
      schedules,
      eventRules,
    } satisfies FunctionDefinition;
  });
  return { service, stage: variables.stage, region: variables.region, environment, functions };
}

function readRoute(raw: unknown, at: string): HttpRoute {
  // `httpApi: "GET /path"` or `httpApi: { method, path, authorizer }` (osls v3 docs: events/http-api).
  if (typeof raw === "string") {
    if (raw === "*") return { method: "ANY", path: "/{proxy+}", auth: "none" };
    const [method, path, ...rest] = raw.trim().split(/\s+/);
    if (method === undefined || path === undefined || rest.length > 0) {
      throw new ServerlessDefinitionError(`${at}.httpApi must be "METHOD /path"`);
    }
    return route(method, path, "none", at);
  }
  const spec = asRecord(raw, `${at}.httpApi`);
  if (typeof spec.method !== "string" || typeof spec.path !== "string") {
    throw new ServerlessDefinitionError(`${at}.httpApi needs a method and a path`);
  }
  let auth: RouteAuth = "none";
  if (spec.authorizer !== undefined) {
    const authorizer = asRecord(spec.authorizer, `${at}.httpApi.authorizer`);
    if (authorizer.type !== "aws_iam") {
      throw new ServerlessDefinitionError(
        `${at}.httpApi.authorizer: the local runner supports only { type: aws_iam }`,
      );
    }
    auth = "aws_iam";
  }
  return route(spec.method, spec.path, auth, at);
}

function route(method: string, path: string, auth: RouteAuth, at: string): HttpRoute {
  const upper = method === "*" ? "ANY" : method.toUpperCase();
  if (!/^(ANY|GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$/.test(upper)) {
    throw new ServerlessDefinitionError(`${at}.httpApi: unknown method "${method}"`);
  }
  if (!path.startsWith("/")) throw new ServerlessDefinitionError(`${at}.httpApi: path must start with "/"`);
  return { method: upper, path, auth };
}

function readSchedule(raw: unknown, at: string): ScheduleDefinition {
  if (typeof raw === "string") return { expression: raw, enabled: true };
  const spec = asRecord(raw, `${at}.schedule`);
  const rate = Array.isArray(spec.rate) ? spec.rate[0] : spec.rate;
  if (typeof rate !== "string") throw new ServerlessDefinitionError(`${at}.schedule needs a rate`);
  return { expression: rate, enabled: spec.enabled !== false };
}

function readEventRule(raw: unknown, at: string): EventRuleDefinition {
  const spec = asRecord(raw, `${at}.eventBridge`);
  const pattern = asRecord(spec.pattern, `${at}.eventBridge.pattern`);
  const eventBus = spec.eventBus ?? "default";
  // A bus of the stack's own resources, as osls takes it: `{ Fn::GetAtt: [<logical id>, Name] }`.
  const getAtt =
    eventBus !== null && typeof eventBus === "object"
      ? (eventBus as Record<string, unknown>)["Fn::GetAtt"]
      : undefined;
  if (Array.isArray(getAtt) && getAtt.length === 2 && typeof getAtt[0] === "string" && getAtt[1] === "Name") {
    return { pattern, eventBus: "", eventBusResource: getAtt[0] };
  }
  if (typeof eventBus !== "string") {
    throw new ServerlessDefinitionError(`${at}.eventBridge.eventBus: only a bus name is supported locally`);
  }
  // A bus given as an ARN is the bus of that name.
  return {
    pattern,
    eventBus: eventBus.includes(":event-bus/") ? (eventBus.split("/").pop() as string) : eventBus,
  };
}

interface ResolveScope extends LocalVariables {
  readonly root: Record<string, unknown>;
  readonly service: string;
}

/** Serverless variables; `${AWS::...}` belongs to CloudFormation's Fn::Sub and is left alone here. */
const VARIABLE = /\$\{(?!AWS::)([^{}]+)\}/g;

function resolveVariables(value: unknown, where: string, scope: ResolveScope): unknown {
  if (typeof value === "string") {
    const whole = /^\$\{(?!AWS::)([^{}]+)\}$/.exec(value);
    // A value that is one variable keeps the type it resolves to (`timeout: ${self:custom.t}`).
    if (whole?.[1] !== undefined) return resolveReference(whole[1], where, scope);
    return value.replace(VARIABLE, (_match, inner: string) => String(resolveReference(inner, where, scope)));
  }
  if (Array.isArray(value)) return value.map((item, i) => resolveVariables(item, `${where}[${i}]`, scope));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, resolveVariables(v, `${where}.${k}`, scope)]),
    );
  }
  return value;
}

/** `source:name` optionally followed by `, fallback` (a quoted literal or another reference). */
function resolveReference(inner: string, where: string, scope: ResolveScope): unknown {
  const comma = inner.indexOf(",");
  const reference = (comma < 0 ? inner : inner.slice(0, comma)).trim();
  const fallback = comma < 0 ? undefined : inner.slice(comma + 1).trim();
  const found = lookup(reference, where, scope);
  if (found !== undefined) return found;
  if (fallback === undefined) {
    throw new ServerlessDefinitionError(`${where}: \${${reference}} has no local value and no default`);
  }
  const quoted = /^(['"])(.*)\1$/.exec(fallback);
  if (quoted) return quoted[2];
  if (/^-?\d+(\.\d+)?$/.test(fallback)) return Number(fallback);
  return resolveReference(fallback, where, scope);
}

function lookup(reference: string, where: string, scope: ResolveScope): unknown {
  const colon = reference.indexOf(":");
  const source = reference.slice(0, colon);
  const name = reference.slice(colon + 1);
  switch (source) {
    case "self": {
      if (name === "service") return scope.service;
      let node: unknown = scope.root;
      for (const part of name.split(".")) {
        node =
          node !== null && typeof node === "object" ? (node as Record<string, unknown>)[part] : undefined;
      }
      return node === undefined ? undefined : resolveVariables(node, where, scope);
    }
    case "sls":
      if (name === "stage") return scope.stage;
      break;
    case "opt":
      if (name === "stage") return scope.stage;
      if (name === "region") return scope.region;
      return undefined;
    case "param": {
      if (scope.params[name] !== undefined) return scope.params[name];
      const params = scope.root.params as Record<string, Record<string, unknown> | undefined> | undefined;
      const value = params?.[scope.stage]?.[name] ?? params?.default?.[name];
      return value === undefined ? undefined : resolveVariables(value, `params.${name}`, scope);
    }
  }
  throw new ServerlessDefinitionError(`${where}: the local runner cannot resolve \${${reference}}`);
}

function asRecord(value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ServerlessDefinitionError(`serverless.yml: ${where} must be a mapping`);
  }
  return value as Record<string, unknown>;
}

function environmentOf(value: unknown, where: string, variables: LocalVariables): Record<string, string> {
  return Object.fromEntries(
    Object.entries(asRecord(value, `${where}.environment`)).map(([k, v]) => {
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return [k, String(v)];
      const sub = v !== null && typeof v === "object" ? (v as Record<string, unknown>)["Fn::Sub"] : undefined;
      if (typeof sub === "string" && Object.keys(v as object).length === 1) {
        return [k, substitutePseudoParameters(sub, `${where}.environment.${k}`, variables)];
      }
      throw new ServerlessDefinitionError(
        `serverless.yml: ${where}.environment.${k} is a CloudFormation value the local runner cannot evaluate`,
      );
    }),
  );
}

/** `Fn::Sub` with pseudo parameters only; a resource reference has no local meaning. */
function substitutePseudoParameters(text: string, where: string, variables: LocalVariables): string {
  const pseudo: Record<string, string> = {
    "AWS::Partition": "aws",
    "AWS::AccountId": variables.accountId,
    "AWS::Region": variables.region,
    "AWS::URLSuffix": "amazonaws.com",
  };
  return text.replace(/\$\{([^{}]+)\}/g, (_match, name: string) => {
    const value = pseudo[name];
    if (value === undefined) {
      throw new ServerlessDefinitionError(
        `serverless.yml: ${where}: Fn::Sub of \${${name}} has no local value`,
      );
    }
    return value;
  });
}

function reservedConcurrencyOf(value: unknown, where: string): { reservedConcurrency?: number } {
  if (value === undefined) return {};
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
    throw new ServerlessDefinitionError(
      `serverless.yml: ${where}.reservedConcurrency must be a whole number`,
    );
  }
  return { reservedConcurrency: n };
}

/**
 * Lambda retries an asynchronous event the function failed on twice by default, and MaximumRetryAttempts
 * (0 to 2) on the function's event invoke config says otherwise
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html,
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html).
 */
const LAMBDA_DEFAULT_ASYNC_RETRIES = 2;
const LAMBDA_MAX_ASYNC_RETRIES = 2;

function asyncRetryAttemptsOf(value: unknown, where: string): number {
  if (value === undefined) return LAMBDA_DEFAULT_ASYNC_RETRIES;
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > LAMBDA_MAX_ASYNC_RETRIES) {
    throw new ServerlessDefinitionError(
      `serverless.yml: ${where}.maximumRetryAttempts must be a whole number from 0 to ${LAMBDA_MAX_ASYNC_RETRIES}`,
    );
  }
  return n;
}

function numberOr(value: unknown, fallback: number, where: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0)) {
    throw new ServerlessDefinitionError(`serverless.yml: ${where} must be a positive number`);
  }
  return value;
}
