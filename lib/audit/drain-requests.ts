import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { DRAIN_CONTINUED_DETAIL_TYPE, type DrainRequest } from "../domain/drain.js";
import type { DrainRequests } from "../lifecycle/ports.js";
import { AUDIT_SOURCE } from "./eventbridge-publisher.js";

/** The bus refused a drain continuation (an entry error code, or no entry answered). */
export class DrainRequestRefusedError extends Error {
  constructor(readonly errorCode: string) {
    super(`the event bus refused the drain continuation (${errorCode})`);
    this.name = "DrainRequestRefusedError";
  }
}

/**
 * A drain run's continuation as one event on Tether's bus (the audit bus: the sweep already may put events
 * there, and its rule delivers the event back to the sweep). A work request, not an audit fact: it is not
 * written to the history or the outbox, and a lost one costs only the wait for the scheduled sweep.
 * Detail: `{ id, time, region, run, correlationId }` — no key material, no token, nothing of a key.
 */
export class EventBridgeDrainRequests implements DrainRequests {
  readonly #client: EventBridgeClient;
  readonly #busName: string;

  constructor(options: { client: EventBridgeClient; busName: string }) {
    this.#client = options.client;
    this.#busName = options.busName;
  }

  /** @throws DrainRequestRefusedError when the bus refused the entry; SDK errors as they are */
  async request(
    next: DrainRequest,
    context: { readonly id: string; readonly time: Date; readonly correlationId: string },
  ): Promise<void> {
    const output = await this.#client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.#busName,
            Source: AUDIT_SOURCE,
            DetailType: DRAIN_CONTINUED_DETAIL_TYPE,
            Time: context.time,
            Detail: JSON.stringify({
              id: context.id,
              time: context.time.toISOString(),
              region: next.region,
              run: next.run,
              correlationId: context.correlationId,
            }),
          },
        ],
      }),
    );
    const entry = output.Entries?.[0];
    if (entry === undefined || entry.ErrorCode !== undefined || entry.EventId === undefined) {
      throw new DrainRequestRefusedError(entry?.ErrorCode ?? "NoResult");
    }
  }
}
