/**
 * The local EventBridge endpoint over HTTP: PutEvents in the AWS JSON 1.1 protocol (so
 * `@aws-sdk/client-eventbridge` works unchanged through an endpoint override), the entry point for the local
 * AWS services' own events, and a small admin API for people and the CLI.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type DeadLetter,
  EventBusCore,
  type ReceivedEvent,
  type RuleDefinition,
  type Target,
} from "./bus.js";
import { type EventEnvelope, parseEnvelope } from "./envelope.js";
import {
  EventBusError,
  MissingAuthenticationTokenError,
  RequestTooLargeError,
  SerializationError,
  UnknownOperationError,
  ValidationError,
} from "./errors.js";
import { DEFAULT_EVENT_BUS_NAME, evaluatePutEvents } from "./put-events.js";

export interface EventBusOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /** Account of every event and ARN; default 111122223333. */
  accountId?: string;
  /**
   * The home Region: where rules and buses go when none is named; default eu-west-1. Buses are per Region:
   * PutEvents lands on the bus of the Region it was signed for, a service event on the bus of its `region`.
   */
  region?: string;
  /** Receives one line per event, delivery failure and dead letter. Never an event's detail. */
  logger?: (line: string) => void;
  /** Events kept per bus; default 10 000. */
  historyLimit?: number;
  /** Attempts per function target before dead-lettering, for a target without `retryAttempts`; default 3. */
  maxAttempts?: number;
  /** First retry delay in ms, doubling per attempt; default 25. */
  retryDelayMs?: number;
}

export interface EventBus {
  /** Base URL, e.g. http://127.0.0.1:4597: the EventBridge endpoint for the SDK. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
  /** The home Region (where rules and buses go when no Region is named). */
  readonly region: string;
  /** Creates an event bus besides `default` (idempotent) in the home Region or in `region`; returns its ARN. */
  createEventBus(name: string, region?: string): string;
  /** The ARN of a bus (default `default`) of the home Region or of `region`. */
  eventBusArn(name?: string, region?: string): string;
  /** Creates or replaces a rule with its targets (on its `region`'s bus, default the home Region); returns the rule ARN. */
  putRule(rule: RuleDefinition): string;
  removeRule(name: string, eventBusName?: string, region?: string): boolean;
  /** Events a recorder target received, in delivery order. */
  recorded(targetId: string): EventEnvelope[];
  /** Events received on a bus name (every bus when omitted), in a Region (every Region when omitted), oldest first. */
  events(eventBusName?: string, region?: string): EventEnvelope[];
  deadLetters(): DeadLetter[];
  /**
   * Accepts envelopes as an AWS service would send them (as `POST /_local/service-events` does): each on the
   * bus of its own `region`.
   */
  putServiceEvents(events: readonly unknown[], eventBusName?: string): string[];
  /** Resolves when every queued delivery, retries included, has finished. */
  drain(): Promise<void>;
}

export type { EventBusTarget } from "./bus.js";
export type { DeadLetter, EventEnvelope, RuleDefinition, Target };

const DEFAULT_ACCOUNT_ID = "111122223333";
const DEFAULT_REGION = "eu-west-1";
const MAX_BODY_BYTES = 1024 * 1024;
const PUT_EVENTS_TARGET = "AWSEvents.PutEvents";
/** `Credential=AKID/20240101/eu-west-1/events/aws4_request` in a SigV4 Authorization header. */
const CREDENTIAL_SCOPE = /Credential=[^/,\s]+\/\d{8}\/([^/,\s]+)\/[^/,\s]+\/aws4_request/;

/**
 * Starts the local event bus.
 *
 * @throws Error when the port cannot be bound
 */
export async function startEventBus(options: EventBusOptions = {}): Promise<EventBus> {
  const host = options.host ?? "127.0.0.1";
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const logger = options.logger ?? (() => {});
  const homeRegion = options.region ?? DEFAULT_REGION;
  const core = new EventBusCore({
    accountId,
    region: homeRegion,
    historyLimit: options.historyLimit ?? 10_000,
    maxAttempts: options.maxAttempts ?? 3,
    retryDelayMs: options.retryDelayMs ?? 25,
    logger,
  });

  const putServiceEvents = (events: readonly unknown[], eventBusName = DEFAULT_EVENT_BUS_NAME): string[] => {
    const envelopes = events.map((event, index) => parseEnvelope(event, `Events[${index}]`));
    // Service events stay in their Region (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event.html).
    for (const envelope of envelopes) core.accept(eventBusName, [envelope], envelope.region);
    return envelopes.map((envelope) => envelope.id);
  };

  const server = createServer((request, response) => {
    handle(request, response, { core, accountId, putServiceEvents }).catch((error: unknown) => {
      logger(`events: internal error: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent)
        sendJson(response, 500, { __type: "InternalException", message: "Internal error" });
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${urlHost(host)}:${port}`;

  return {
    url,
    port,
    close: async () => {
      core.stop();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
    region: homeRegion,
    createEventBus: (name, region) => core.createEventBus(name, region),
    eventBusArn: (name = DEFAULT_EVENT_BUS_NAME, region) => core.eventBusArn(name, region),
    putRule: (rule) => core.putRule(rule),
    removeRule: (name, eventBusName, region) => core.removeRule(name, eventBusName, region),
    recorded: (targetId) => core.recorded(targetId),
    events: (eventBusName, region) => core.events(eventBusName, region),
    deadLetters: () => core.deadLetters(),
    putServiceEvents,
    drain: () => core.drain(),
  };
}

interface HandlerContext {
  readonly core: EventBusCore;
  readonly accountId: string;
  readonly putServiceEvents: (events: readonly unknown[], eventBusName?: string) => string[];
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  context: HandlerContext,
): Promise<void> {
  const url = new URL(request.url ?? "/", "http://localhost");
  try {
    if (request.method === "POST" && url.pathname === "/")
      return await handleAwsJson(request, response, context);
    if (request.method === "GET" && url.pathname === "/_local/health") {
      return sendJson(response, 200, {
        status: "ok",
        service: "events",
        buses: context.core.eventBusNames(),
        busesByRegion: context.core.eventBusList(),
      });
    }
    if (request.method === "GET" && url.pathname === "/_local/events")
      return listEvents(url, response, context);
    if (request.method === "GET" && url.pathname === "/_local/dead-letters") {
      return sendJson(response, 200, { deadLetters: context.core.deadLetters() });
    }
    if (request.method === "POST" && url.pathname === "/_local/service-events") {
      return await receiveServiceEvents(request, response, context);
    }
    sendJson(response, 404, {
      __type: "NotFound",
      message: `No route for ${request.method} ${url.pathname}`,
    });
  } catch (error) {
    if (error instanceof EventBusError) {
      return sendJson(response, error.statusCode, { __type: error.code, message: error.message });
    }
    throw error;
  }
}

async function handleAwsJson(request: IncomingMessage, response: ServerResponse, context: HandlerContext) {
  const target = request.headers["x-amz-target"];
  if (target !== PUT_EVENTS_TARGET) {
    throw new UnknownOperationError(
      typeof target === "string" && target.length > 0
        ? `Operation ${target} is not supported by the local event bus (only ${PUT_EVENTS_TARGET})`
        : "Missing X-Amz-Target header",
    );
  }
  const region = regionFromAuthorization(request.headers.authorization);
  const body = await readJson(request);
  const outcomes = evaluatePutEvents(body, {
    accountId: context.accountId,
    region,
    now: new Date(),
    newEventId: randomUUID,
  });
  // In request order, so each bus records its events in the order they were sent.
  for (const outcome of outcomes) {
    if (outcome.accepted) context.core.accept(outcome.eventBusName, [outcome.event], region);
  }
  const entries = outcomes.map((outcome) =>
    outcome.accepted
      ? { EventId: outcome.event.id }
      : { ErrorCode: outcome.errorCode, ErrorMessage: outcome.errorMessage },
  );
  sendJson(
    response,
    200,
    { FailedEntryCount: outcomes.filter((o) => !o.accepted).length, Entries: entries },
    true,
  );
}

async function receiveServiceEvents(
  request: IncomingMessage,
  response: ServerResponse,
  context: HandlerContext,
) {
  const body = await readJson(request);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError('Body must be {"Events": [<event envelope>, ...]}');
  }
  const { Events: events, EventBusName: eventBusName } = body as Record<string, unknown>;
  if (!Array.isArray(events) || events.length === 0) {
    throw new ValidationError('Body must be {"Events": [<event envelope>, ...]} with at least one event');
  }
  if (eventBusName !== undefined && typeof eventBusName !== "string") {
    throw new ValidationError("EventBusName must be a string");
  }
  const ids = context.putServiceEvents(events, eventBusName);
  sendJson(response, 200, { FailedEntryCount: 0, Entries: ids.map((id) => ({ EventId: id })) });
}

function listEvents(url: URL, response: ServerResponse, context: HandlerContext): void {
  const bus = url.searchParams.get("bus") ?? undefined;
  const region = url.searchParams.get("region") ?? undefined;
  const limitText = url.searchParams.get("limit");
  const limit = limitText === null ? 100 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new ValidationError("limit must be an integer between 1 and 10000");
  }
  const events: ReceivedEvent[] = context.core.received(bus, limit, region);
  sendJson(response, 200, { events });
}

function regionFromAuthorization(header: string | undefined): string {
  if (!header) throw new MissingAuthenticationTokenError("Missing Authentication Token");
  const scope = CREDENTIAL_SCOPE.exec(header);
  if (!scope?.[1]) {
    throw new MissingAuthenticationTokenError("Authorization header has no SigV4 credential scope");
  }
  return scope[1];
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new RequestTooLargeError(`Request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return text.length === 0 ? {} : JSON.parse(text);
  } catch (error) {
    throw new SerializationError("Request body is not valid JSON", { cause: error });
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown, awsJson = false): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": awsJson || status >= 400 ? "application/x-amz-json-1.1" : "application/json",
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": randomUUID(),
  });
  response.end(text);
}

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}
