import type { AuditEvent } from "../domain/audit-types.js";
import type { AuditLog, EventPublisher } from "../lifecycle/ports.js";

export interface AuditTrailOptions {
  readonly log: AuditLog;
  readonly publisher: EventPublisher;
  /** Called with what could not be published now (it waits in the outbox); for logging. */
  readonly onPublishFailure?: (failed: ReadonlyArray<{ id: string; errorCode: string }>) => void;
}

/**
 * Records audit events so that none is lost: first into the key's history, which is the outbox, then to
 * the bus; only what the bus accepted is marked published. A crash or a bus failure in between leaves the
 * events in the outbox, and `flush` (every sweep) sends them again with the same ids.
 */
export class AuditTrail {
  readonly #log: AuditLog;
  readonly #publisher: EventPublisher;
  readonly #onPublishFailure: AuditTrailOptions["onPublishFailure"];

  constructor(options: AuditTrailOptions) {
    this.#log = options.log;
    this.#publisher = options.publisher;
    this.#onPublishFailure = options.onPublishFailure;
  }

  /**
   * Appends the events to the history durably, then tries to publish them.
   * @throws only when the history write fails (then nothing was published either)
   */
  async record(...events: AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.#log.append(events);
    await this.#publish(events);
  }

  /** Re-sends what waits in the outbox, oldest first; returns how many were published and how many still wait. */
  async flush(limit = 100): Promise<{ published: number; waiting: number }> {
    const pending = await this.#log.unpublished(limit);
    if (pending.length === 0) return { published: 0, waiting: 0 };
    const published = await this.#publish(pending);
    return { published, waiting: pending.length - published };
  }

  /**
   * Publishes and marks what the bus accepted. Never throws: anything that goes wrong here leaves the
   * events in the outbox, where the next flush finds them (a duplicate on the bus at worst, same id).
   */
  async #publish(events: readonly AuditEvent[]): Promise<number> {
    try {
      const { failed } = await this.#publisher.publish(events);
      const failedIds = new Set(failed.map((f) => f.id));
      const accepted = events.filter((e) => !failedIds.has(e.id));
      if (failed.length > 0) this.#onPublishFailure?.(failed);
      if (accepted.length > 0) await this.#log.markPublished(accepted);
      return accepted.length;
    } catch (error) {
      const errorCode = error instanceof Error ? error.name : "PublishFailed";
      this.#onPublishFailure?.(events.map((e) => ({ id: e.id, errorCode })));
      return 0;
    }
  }
}
