/**
 * The in-process heart of the local event bus: event buses with a bounded history, rules with targets, and
 * asynchronous delivery with retries and a dead-letter list. No HTTP here (see server.ts).
 *
 * Delivery is asynchronous as in AWS: an accepted event is recorded at once, its deliveries run afterwards.
 * AWS retries a failing target for up to 24 hours and 185 attempts
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html); locally a few
 * attempts with a short backoff, then the event goes to the dead-letter list.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { EventEnvelope } from "./envelope.js";
import { InvalidEventPatternError, ResourceNotFoundError, ValidationError } from "./errors.js";
import { type CompiledEventPattern, compileEventPattern } from "./pattern.js";
import { DEFAULT_EVENT_BUS_NAME } from "./put-events.js";

/** A local Lambda-like function: invoked with the envelope, as an EventBridge target would invoke Lambda. */
export interface FunctionTarget {
  readonly id: string;
  readonly kind: "function";
  readonly invoke: (event: EventEnvelope) => Promise<unknown>;
}

/** Keeps what it receives, for tests to read with `recorded(id)`. */
export interface RecorderTarget {
  readonly id: string;
  readonly kind: "recorder";
}

export type Target = FunctionTarget | RecorderTarget;

export interface RuleDefinition {
  readonly name: string;
  readonly eventBusName?: string;
  /** An event pattern object, or its JSON text. */
  readonly eventPattern: unknown;
  readonly targets: readonly Target[];
}

export interface DeadLetter {
  readonly event: EventEnvelope;
  readonly eventBusName: string;
  readonly ruleName: string;
  readonly targetId: string;
  readonly attempts: number;
  /** `name: message` of the last error the target threw. */
  readonly lastError: string;
}

export interface ReceivedEvent {
  readonly eventBusName: string;
  readonly event: EventEnvelope;
}

export interface EventBusCoreOptions {
  readonly accountId: string;
  /** Region used in rule and bus ARNs. */
  readonly region: string;
  readonly historyLimit: number;
  /** Attempts per target before an event is dead-lettered (1 = no retry). */
  readonly maxAttempts: number;
  /** First retry delay; doubles with each further attempt. */
  readonly retryDelayMs: number;
  readonly logger: (line: string) => void;
}

interface Rule {
  readonly name: string;
  readonly eventBusName: string;
  readonly pattern: CompiledEventPattern;
  readonly targets: readonly Target[];
}

interface StoredEvent extends ReceivedEvent {
  readonly sequence: number;
}

/** AWS naming rules for rule names and target ids (PutRule / PutTargets API reference). */
const NAME = /^[.\-_A-Za-z0-9]{1,64}$/;
const EVENT_BUS_NAME = /^[/.\-_A-Za-z0-9]{1,256}$/;
/** "Targets: ... Maximum number of 5 items" (PutTargets API reference). */
const MAX_TARGETS_PER_RULE = 5;

export class EventBusCore {
  private readonly buses = new Map<string, StoredEvent[]>([[DEFAULT_EVENT_BUS_NAME, []]]);
  private readonly rules = new Map<string, Rule>();
  private readonly recordings = new Map<string, EventEnvelope[]>();
  private readonly deadLetterList: DeadLetter[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private sequence = 0;

  constructor(private readonly options: EventBusCoreOptions) {}

  /**
   * Creates an event bus (idempotent locally; AWS's CreateEventBus would refuse a second one).
   *
   * @returns the bus ARN
   * @throws ValidationError when the name is not a valid event bus name
   */
  createEventBus(name: string): string {
    if (!EVENT_BUS_NAME.test(name) || name.startsWith("aws.")) {
      throw new ValidationError(`Event bus name "${name}" is not valid`);
    }
    if (!this.buses.has(name)) this.buses.set(name, []);
    return this.eventBusArn(name);
  }

  eventBusNames(): string[] {
    return [...this.buses.keys()];
  }

  /**
   * Creates or replaces a rule (PutRule + PutTargets in one step).
   *
   * @returns the rule ARN
   * @throws InvalidEventPatternError when the pattern is invalid
   * @throws ResourceNotFoundError when the event bus does not exist
   * @throws ValidationError when the rule name or the targets are not valid
   */
  putRule(definition: RuleDefinition): string {
    const eventBusName = definition.eventBusName ?? DEFAULT_EVENT_BUS_NAME;
    if (!NAME.test(definition.name)) {
      throw new ValidationError(`Rule name "${definition.name}" must be 1-64 characters of [.-_A-Za-z0-9]`);
    }
    if (!this.buses.has(eventBusName)) {
      throw new ResourceNotFoundError(`Event bus ${eventBusName} does not exist.`);
    }
    if (definition.eventPattern === undefined || definition.eventPattern === null) {
      throw new InvalidEventPatternError("Event pattern is not valid. Reason: an event pattern is required");
    }
    const pattern = compileEventPattern(definition.eventPattern);
    this.validateTargets(definition.targets);
    this.rules.set(ruleKey(eventBusName, definition.name), {
      name: definition.name,
      eventBusName,
      pattern,
      targets: [...definition.targets],
    });
    return this.ruleArn(eventBusName, definition.name);
  }

  /** Removes a rule; returns whether it existed. Deliveries already queued still run. */
  removeRule(name: string, eventBusName: string = DEFAULT_EVENT_BUS_NAME): boolean {
    return this.rules.delete(ruleKey(eventBusName, name));
  }

  /**
   * Records events on a bus and queues their deliveries. Events for a bus that does not exist are dropped,
   * as EventBridge drops them (see put-events.ts).
   *
   * @returns whether the bus exists (false: the events were dropped)
   */
  accept(eventBusName: string, events: readonly EventEnvelope[]): boolean {
    const history = this.buses.get(eventBusName);
    if (!history) {
      for (const event of events) {
        this.options.logger(
          `events: dropped ${event.id} (${event.source} "${event["detail-type"]}"): event bus "${eventBusName}" ` +
            "does not exist — AWS accepts such events and drops them silently",
        );
      }
      return false;
    }
    for (const event of events) {
      history.push({ eventBusName, event, sequence: this.sequence++ });
      trim(history, this.options.historyLimit);
      const matched = [...this.rules.values()].filter(
        (rule) => rule.eventBusName === eventBusName && rule.pattern.matches(event),
      );
      this.options.logger(
        `events: ${eventBusName} <- ${event.source} "${event["detail-type"]}" id=${event.id}` +
          ` rules=${matched.length === 0 ? "none" : matched.map((r) => r.name).join(",")}`,
      );
      for (const rule of matched) {
        for (const target of rule.targets) this.queueDelivery(rule, target, event);
      }
    }
    return true;
  }

  /** Events received by recorder targets with this id, in delivery order. */
  recorded(targetId: string): EventEnvelope[] {
    return (this.recordings.get(targetId) ?? []).map((event) => structuredClone(event));
  }

  /** Events received on one bus, or on every bus when `eventBusName` is omitted, oldest first. */
  events(eventBusName?: string): EventEnvelope[] {
    return this.received(eventBusName).map((received) => received.event);
  }

  /** Like `events`, with the bus each event arrived on. */
  received(eventBusName?: string, limit?: number): ReceivedEvent[] {
    const stored =
      eventBusName === undefined
        ? [...this.buses.values()].flat().sort((a, b) => a.sequence - b.sequence)
        : [...(this.buses.get(eventBusName) ?? [])];
    const window = limit === undefined ? stored : stored.slice(Math.max(0, stored.length - limit));
    return window.map(({ eventBusName: bus, event }) => ({
      eventBusName: bus,
      event: structuredClone(event),
    }));
  }

  deadLetters(): DeadLetter[] {
    return this.deadLetterList.map((letter) => ({ ...letter, event: structuredClone(letter.event) }));
  }

  /** Resolves when every queued delivery (retries included) has finished. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) {
      await Promise.allSettled([...this.pending]);
    }
  }

  /** Stops retrying: deliveries waiting for a retry end without being dead-lettered. */
  stop(): void {
    this.stopping.abort();
  }

  private queueDelivery(rule: Rule, target: Target, event: EventEnvelope): void {
    // setImmediate: the PutEvents answer goes out before any target runs, as in AWS.
    const delivery = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.deliver(rule, target, event))
      .catch((error: unknown) => {
        // deliver() handles target failures itself; this is a fault of the bus, never to be swallowed silently.
        this.options.logger(`events: delivery of ${event.id} to ${target.id} broke: ${describeError(error)}`);
      })
      .finally(() => this.pending.delete(delivery));
    this.pending.add(delivery);
  }

  private async deliver(rule: Rule, target: Target, event: EventEnvelope): Promise<void> {
    if (target.kind === "recorder") {
      const list = this.recordings.get(target.id) ?? [];
      list.push(structuredClone(event));
      trim(list, this.options.historyLimit);
      this.recordings.set(target.id, list);
      return;
    }
    let lastError = "";
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      if (this.stopping.signal.aborted) return;
      try {
        await target.invoke(structuredClone(event));
        return;
      } catch (error) {
        lastError = describeError(error);
        this.options.logger(
          `events: target ${target.id} of rule ${rule.name} failed on ${event.id} ` +
            `(attempt ${attempt}/${this.options.maxAttempts}): ${lastError}`,
        );
      }
      if (attempt < this.options.maxAttempts) {
        try {
          await sleep(this.options.retryDelayMs * 2 ** (attempt - 1), undefined, {
            signal: this.stopping.signal,
          });
        } catch {
          return;
        }
      }
    }
    this.deadLetterList.push({
      event: structuredClone(event),
      eventBusName: rule.eventBusName,
      ruleName: rule.name,
      targetId: target.id,
      attempts: this.options.maxAttempts,
      lastError,
    });
    trim(this.deadLetterList, this.options.historyLimit);
    this.options.logger(`events: dead-lettered ${event.id} for target ${target.id} of rule ${rule.name}`);
  }

  private validateTargets(targets: readonly Target[]): void {
    if (!Array.isArray(targets)) throw new ValidationError("targets must be an array");
    if (targets.length > MAX_TARGETS_PER_RULE) {
      throw new ValidationError(`A rule can have at most ${MAX_TARGETS_PER_RULE} targets`);
    }
    const ids = new Set<string>();
    for (const target of targets) {
      if (!NAME.test(target.id)) {
        throw new ValidationError(`Target id "${target.id}" must be 1-64 characters of [.-_A-Za-z0-9]`);
      }
      if (ids.has(target.id)) throw new ValidationError(`Target id "${target.id}" appears twice in the rule`);
      ids.add(target.id);
      if (target.kind === "function" && typeof target.invoke !== "function") {
        throw new ValidationError(`Target "${target.id}" of kind "function" needs an invoke function`);
      }
      if (target.kind !== "function" && target.kind !== "recorder") {
        throw new ValidationError(`Target "${(target as Target).id}" has an unknown kind`);
      }
    }
  }

  private eventBusArn(name: string): string {
    return `arn:aws:events:${this.options.region}:${this.options.accountId}:event-bus/${name}`;
  }

  private ruleArn(eventBusName: string, name: string): string {
    const path = eventBusName === DEFAULT_EVENT_BUS_NAME ? name : `${eventBusName}/${name}`;
    return `arn:aws:events:${this.options.region}:${this.options.accountId}:rule/${path}`;
  }
}

/** Keeps the newest `limit` items, so a long-running `npm start` does not grow without bound. */
function trim(list: unknown[], limit: number): void {
  if (list.length > limit) list.splice(0, list.length - limit);
}

function ruleKey(eventBusName: string, name: string): string {
  return `${eventBusName}\u0000${name}`;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
