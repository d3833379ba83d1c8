/**
 * The events KMS itself sends to EventBridge. KMS sends them best effort; so does the emulator: it
 * POSTs them to the local event bus's service-event entry, retries a few times, logs and moves on.
 * Shape: https://docs.aws.amazon.com/kms/latest/developerguide/kms-events.html#kms-events-expiration
 */
import { randomUUID } from "node:crypto";

export interface ServiceEvent {
  version: "0";
  id: string;
  "detail-type": string;
  source: "aws.kms";
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** ISO 8601 UTC without milliseconds, as EventBridge writes `time`. */
export function eventTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19)}Z`;
}

export function materialExpirationEvent(args: {
  account: string;
  region: string;
  keyArn: string;
  keyId: string;
  at: number;
}): ServiceEvent {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "KMS Imported Key Material Expiration",
    source: "aws.kms",
    account: args.account,
    time: eventTime(args.at),
    region: args.region,
    resources: [args.keyArn],
    detail: { "key-id": args.keyId },
  };
}

export class EventPublisher {
  /** Every event emitted, for the admin interface (tests that run without a bus). */
  readonly emitted: ServiceEvent[] = [];
  private pending = new Set<Promise<void>>();

  constructor(
    private readonly eventBusUrl: string | undefined,
    private readonly log: (line: string) => void,
    private readonly attempts = 3,
  ) {}

  /** An event KMS itself sends (kept in `emitted` for the admin interface). */
  publish(event: ServiceEvent): void {
    this.emitted.push(event);
    this.forward(event);
  }

  /** Sends an event to the bus without keeping it in `emitted` (CloudTrail's events, kept by the trail). */
  forward(event: ServiceEvent): void {
    if (!this.eventBusUrl) return;
    const delivery = this.deliver(event).finally(() => this.pending.delete(delivery));
    this.pending.add(delivery);
  }

  /** Waits for deliveries under way (used on close). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private async deliver(event: ServiceEvent): Promise<void> {
    const url = `${this.eventBusUrl?.replace(/\/$/, "")}/_local/service-events`;
    for (let attempt = 1; attempt <= this.attempts; attempt += 1) {
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ Events: [event] }),
        });
        if (res.ok) return;
        this.log(`event ${event.id} to ${url}: HTTP ${res.status} (attempt ${attempt})`);
      } catch (err) {
        this.log(`event ${event.id} to ${url}: ${String(err)} (attempt ${attempt})`);
      }
      if (attempt < this.attempts) await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
    this.log(`event ${event.id} dropped after ${this.attempts} attempts (best effort, like KMS)`);
  }
}
