/**
 * The in-process heart of the local event bus: event buses with a bounded history, rules with targets, and
 * asynchronous delivery with retries and a dead-letter list. No HTTP here (see server.ts).
 *
 * Delivery is asynchronous as in AWS: an accepted event is recorded at once, its deliveries run afterwards.
 *
 * Retries of a function target are Lambda's, not EventBridge's. EventBridge invokes a Lambda target
 * asynchronously: once Lambda has queued the event, EventBridge is done, and its own retry policy (by
 * default 24 hours and 185 attempts, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html)
 * applies only when it cannot hand the event to Lambda at all, which does not happen locally. When the
 * function fails on the event, Lambda runs it again as the function's MaximumRetryAttempts says, 0 to 2,
 * by default 2, a minute and then two apart
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html), and then hands it to
 * the function's on-failure destination. Locally: `retryAttempts` of the target (the runner gives each rule
 * target its function's setting from serverless.yml), else the bus's `maxAttempts`, with a short backoff;
 * then the event goes to the dead-letter list.
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
  /**
   * Runs again after a failed one (a Lambda function's MaximumRetryAttempts for asynchronous events, 0 to
   * 2); absent: the bus's `maxAttempts` in all.
   */
  readonly retryAttempts?: number;
}

/** Keeps what it receives, for tests to read with `recorded(id)`. */
export interface RecorderTarget {
  readonly id: string;
  readonly kind: "recorder";
}

/**
 * Another event bus, by ARN (a forwarding rule): the event arrives there unchanged, its `region` still
 * the one it came from. A bus in another Region needs a role EventBridge assumes to put the events
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html): `roleArn`.
 */
export interface EventBusTarget {
  readonly id: string;
  readonly kind: "event-bus";
  readonly arn: string;
  readonly roleArn?: string;
}

export type Target = FunctionTarget | RecorderTarget | EventBusTarget;

export interface RuleDefinition {
  readonly name: string;
  /** The Region whose bus the rule sits on; default the bus's home Region. Rules see only their Region's events. */
  readonly region?: string;
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
  readonly region: string;
  readonly eventBusName: string;
  readonly event: EventEnvelope;
}

export interface EventBusCoreOptions {
  readonly accountId: string;
  /** The home Region: where rules and buses go when no Region is named. */
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
  readonly region: string;
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
const EVENT_BUS_ARN = /^arn:aws[\w-]*:events:([a-z]{2}-[a-z]+-[\w-]+):(\d{12}):event-bus\/(.+)$/;
const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/.+$/;

/**
 * One bus per Region and name, as in AWS: every Region has its own `default` bus (created on first use
 * here), custom buses exist only in the Region they were created in, and a rule sees only the events of
 * its own Region's bus. Events cross Regions only through rules with an event-bus target.
 */
function busKey(region: string, name: string): string {
  return `${region}\u0000${name}`;
}

export class EventBusCore {
  private readonly buses = new Map<string, StoredEvent[]>();
  private readonly rules = new Map<string, Rule>();
  private readonly recordings = new Map<string, EventEnvelope[]>();
  private readonly deadLetterList: DeadLetter[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private sequence = 0;

  constructor(private readonly options: EventBusCoreOptions) {
    this.buses.set(busKey(options.region, DEFAULT_EVENT_BUS_NAME), []);
  }

  get homeRegion(): string {
    return this.options.region;
  }

  /** The Region's bus; `default` exists in every Region, so it is made on first use. */
  private bus(region: string, name: string): StoredEvent[] | undefined {
    const key = busKey(region, name);
    let history = this.buses.get(key);
    if (!history && name === DEFAULT_EVENT_BUS_NAME) {
      history = [];
      this.buses.set(key, history);
    }
    return history;
  }

  /**
   * Creates an event bus (idempotent locally; AWS's CreateEventBus would refuse a second one).
   *
   * @returns the bus ARN
   * @throws ValidationError when the name is not a valid event bus name
   */
  createEventBus(name: string, region: string = this.options.region): string {
    if (!EVENT_BUS_NAME.test(name) || name.startsWith("aws.")) {
      throw new ValidationError(`Event bus name "${name}" is not valid`);
    }
    if (!this.buses.has(busKey(region, name))) this.buses.set(busKey(region, name), []);
    return this.eventBusArn(name, region);
  }

  /** Bus names of the home Region (or of `region`). */
  eventBusNames(region: string = this.options.region): string[] {
    return [...this.buses.keys()]
      .map((key) => key.split("\u0000") as [string, string])
      .filter(([r]) => r === region)
      .map(([, name]) => name);
  }

  /** Every bus, with its Region. */
  eventBusList(): Array<{ region: string; name: string }> {
    return [...this.buses.keys()].map((key) => {
      const [region, name] = key.split("\u0000") as [string, string];
      return { region, name };
    });
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
    const region = definition.region ?? this.options.region;
    if (!NAME.test(definition.name)) {
      throw new ValidationError(`Rule name "${definition.name}" must be 1-64 characters of [.-_A-Za-z0-9]`);
    }
    if (!this.bus(region, eventBusName)) {
      throw new ResourceNotFoundError(`Event bus ${eventBusName} does not exist in ${region}.`);
    }
    if (definition.eventPattern === undefined || definition.eventPattern === null) {
      throw new InvalidEventPatternError("Event pattern is not valid. Reason: an event pattern is required");
    }
    const pattern = compileEventPattern(definition.eventPattern);
    this.validateTargets(definition.targets, region);
    this.rules.set(ruleKey(region, eventBusName, definition.name), {
      name: definition.name,
      region,
      eventBusName,
      pattern,
      targets: [...definition.targets],
    });
    return this.ruleArn(eventBusName, definition.name, region);
  }

  /** Removes a rule; returns whether it existed. Deliveries already queued still run. */
  removeRule(
    name: string,
    eventBusName: string = DEFAULT_EVENT_BUS_NAME,
    region: string = this.options.region,
  ): boolean {
    return this.rules.delete(ruleKey(region, eventBusName, name));
  }

  /**
   * Records events on a bus and queues their deliveries. Events for a bus that does not exist are dropped,
   * as EventBridge drops them (see put-events.ts).
   *
   * @param region the Region of the bus (default the home Region)
   * @returns whether the bus exists (false: the events were dropped)
   */
  accept(
    eventBusName: string,
    events: readonly EventEnvelope[],
    region: string = this.options.region,
  ): boolean {
    const history = this.bus(region, eventBusName);
    if (!history) {
      for (const event of events) {
        this.options.logger(
          `events: dropped ${event.id} (${event.source} "${event["detail-type"]}"): event bus "${eventBusName}" ` +
            `does not exist in ${region} — AWS accepts such events and drops them silently`,
        );
      }
      return false;
    }
    for (const event of events) {
      history.push({ region, eventBusName, event, sequence: this.sequence++ });
      trim(history, this.options.historyLimit);
      const matched = [...this.rules.values()].filter(
        (rule) => rule.region === region && rule.eventBusName === eventBusName && rule.pattern.matches(event),
      );
      this.options.logger(
        `events: ${region}/${eventBusName} <- ${event.source} "${event["detail-type"]}" id=${event.id}` +
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

  /**
   * Events received on one bus name (or on every bus when `eventBusName` is omitted), in one Region (or
   * in every Region when `region` is omitted), oldest first.
   */
  events(eventBusName?: string, region?: string): EventEnvelope[] {
    return this.received(eventBusName, undefined, region).map((received) => received.event);
  }

  /** Like `events`, with the Region and bus each event arrived on. */
  received(eventBusName?: string, limit?: number, region?: string): ReceivedEvent[] {
    const stored = [...this.buses.entries()]
      .filter(([key]) => {
        const [r, name] = key.split("\u0000");
        return (
          (region === undefined || r === region) && (eventBusName === undefined || name === eventBusName)
        );
      })
      .flatMap(([, history]) => history)
      .sort((a, b) => a.sequence - b.sequence);
    const window = limit === undefined ? stored : stored.slice(Math.max(0, stored.length - limit));
    return window.map(({ region: r, eventBusName: bus, event }) => ({
      region: r,
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
    if (target.kind === "event-bus") {
      const [, region, account, name] = EVENT_BUS_ARN.exec(target.arn) as unknown as [
        string,
        string,
        string,
        string,
      ];
      if (account !== this.options.accountId) {
        this.options.logger(
          `events: ${event.id} not forwarded to ${target.arn}: another account (not emulated)`,
        );
        return;
      }
      this.options.logger(
        `events: rule ${rule.region}/${rule.name} forwards ${event.id} to ${region}/${name}`,
      );
      this.accept(name, [structuredClone(event)], region);
      return;
    }
    const maxAttempts =
      target.retryAttempts === undefined ? this.options.maxAttempts : target.retryAttempts + 1;
    let lastError = "";
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (this.stopping.signal.aborted) return;
      try {
        await target.invoke(structuredClone(event));
        return;
      } catch (error) {
        lastError = describeError(error);
        this.options.logger(
          `events: target ${target.id} of rule ${rule.name} failed on ${event.id} ` +
            `(attempt ${attempt}/${maxAttempts}): ${lastError}`,
        );
      }
      if (attempt < maxAttempts) {
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
      attempts: maxAttempts,
      lastError,
    });
    trim(this.deadLetterList, this.options.historyLimit);
    this.options.logger(`events: dead-lettered ${event.id} for target ${target.id} of rule ${rule.name}`);
  }

  private validateTargets(targets: readonly Target[], region: string): void {
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
      if (
        target.kind === "function" &&
        target.retryAttempts !== undefined &&
        !(Number.isInteger(target.retryAttempts) && target.retryAttempts >= 0)
      ) {
        throw new ValidationError(`Target "${target.id}": retryAttempts must be a whole number, 0 or more`);
      }
      if (target.kind === "event-bus") {
        const arn = EVENT_BUS_ARN.exec(target.arn);
        if (!arn) throw new ValidationError(`Target "${target.id}": ${target.arn} is not an event bus ARN`);
        if (arn[1] !== region && (target.roleArn === undefined || !ROLE_ARN.test(target.roleArn))) {
          // PutTargets: an event bus in another Region is reached only with a role EventBridge assumes.
          throw new ValidationError(
            `Target "${target.id}": an event bus in another Region (${arn[1]}) needs a RoleArn (an IAM role ARN)`,
          );
        }
      } else if (target.kind !== "function" && target.kind !== "recorder") {
        throw new ValidationError(`Target "${(target as Target).id}" has an unknown kind`);
      }
    }
  }

  eventBusArn(name: string, region: string = this.options.region): string {
    return `arn:aws:events:${region}:${this.options.accountId}:event-bus/${name}`;
  }

  private ruleArn(eventBusName: string, name: string, region: string): string {
    const path = eventBusName === DEFAULT_EVENT_BUS_NAME ? name : `${eventBusName}/${name}`;
    return `arn:aws:events:${region}:${this.options.accountId}:rule/${path}`;
  }
}

/** Keeps the newest `limit` items, so a long-running `npm start` does not grow without bound. */
function trim(list: unknown[], limit: number): void {
  if (list.length > limit) list.splice(0, list.length - limit);
}

function ruleKey(region: string, eventBusName: string, name: string): string {
  return `${region}\u0000${eventBusName}\u0000${name}`;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
