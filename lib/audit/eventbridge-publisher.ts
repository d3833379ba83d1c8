import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import type { AuditEvent } from "../domain/audit-types.js";
import type { EventPublisher } from "../lifecycle/ports.js";

/** EventBridge's `source` for everything Tether publishes. */
export const AUDIT_SOURCE = "tether";
/** PutEvents takes at most 10 entries per request. */
const MAX_ENTRIES_PER_REQUEST = 10;

/**
 * Publishes audit events to an EventBridge bus. Maps each event to one entry (detail = the event, whose
 * `id` lets consumers drop duplicates) and reports per event what the bus refused; a request that fails
 * as a whole reports every event of it as failed instead of throwing, so the caller keeps them in the outbox.
 */
export class EventBridgePublisher implements EventPublisher {
  readonly #client: EventBridgeClient;
  readonly #busName: string;

  constructor(options: { client: EventBridgeClient; busName: string }) {
    this.#client = options.client;
    this.#busName = options.busName;
  }

  async publish(
    events: readonly AuditEvent[],
  ): Promise<{ failed: Array<{ id: string; errorCode: string }> }> {
    const failed: Array<{ id: string; errorCode: string }> = [];
    for (let start = 0; start < events.length; start += MAX_ENTRIES_PER_REQUEST) {
      const batch = events.slice(start, start + MAX_ENTRIES_PER_REQUEST);
      try {
        const output = await this.#client.send(
          new PutEventsCommand({ Entries: batch.map((e) => this.#entry(e)) }),
        );
        // Entries come back in request order, one per entry (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html).
        batch.forEach((event, index) => {
          const result = output.Entries?.[index];
          if (result === undefined || result.ErrorCode !== undefined || result.EventId === undefined) {
            failed.push({ id: event.id, errorCode: result?.ErrorCode ?? "NoResult" });
          }
        });
      } catch (error) {
        const errorCode = error instanceof Error ? error.name : "PutEventsFailed";
        for (const event of batch) failed.push({ id: event.id, errorCode });
      }
    }
    return { failed };
  }

  #entry(event: AuditEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.#busName,
      Source: AUDIT_SOURCE,
      DetailType: event.detailType,
      Detail: JSON.stringify(event),
      Time: new Date(event.time),
      Resources: event.keyArn === undefined ? [] : [event.keyArn],
    };
  }
}
