import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { partitionLabel } from "../domain/quota-partitions.js";
import {
  type PartitionRequest,
  partitionRequestDetail,
  SWEEP_PARTITION_DUE_DETAIL_TYPE,
} from "../domain/sweep-partition.js";
import type { PartitionDispatch } from "../lifecycle/ports.js";
import { AUDIT_SOURCE } from "./eventbridge-publisher.js";

/** PutEvents takes at most 10 entries a request (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html). */
const PUT_EVENTS_MAX_ENTRIES = 10;

/**
 * The sweep's dispatcher's requests as events on Tether's bus (the audit bus: the sweep already may put
 * events there, and the `sweep-partition` rule in serverless.yml delivers them). Work requests, not audit
 * facts: not written to the history or the outbox; a lost one costs only the wait for the next schedule.
 * Detail: `{ account, region, due, partition }` — nothing of a key, no material, no token.
 * PutEvents answers per entry; a refused entry is reported, the others stand.
 */
export class EventBridgePartitionDispatch implements PartitionDispatch {
  readonly #client: EventBridgeClient;
  readonly #busName: string;

  constructor(options: { client: EventBridgeClient; busName: string }) {
    this.#client = options.client;
    this.#busName = options.busName;
  }

  async dispatch(
    requests: readonly PartitionRequest[],
    context: { readonly time: Date; readonly correlationId: string },
  ): ReturnType<PartitionDispatch["dispatch"]> {
    const accepted: { partition: string; eventId: string }[] = [];
    const refused: { partition: string; errorCode: string }[] = [];
    for (let start = 0; start < requests.length; start += PUT_EVENTS_MAX_ENTRIES) {
      const batch = requests.slice(start, start + PUT_EVENTS_MAX_ENTRIES);
      const output = await this.#client.send(
        new PutEventsCommand({
          Entries: batch.map((request) => ({
            EventBusName: this.#busName,
            Source: AUDIT_SOURCE,
            DetailType: SWEEP_PARTITION_DUE_DETAIL_TYPE,
            Time: context.time,
            Detail: JSON.stringify({
              ...partitionRequestDetail(request),
              correlationId: context.correlationId,
            }),
          })),
        }),
      );
      batch.forEach((request, i) => {
        const entry = output.Entries?.[i];
        const partition = partitionLabel(request);
        if (entry?.EventId !== undefined && entry.ErrorCode === undefined) {
          accepted.push({ partition, eventId: entry.EventId });
        } else {
          refused.push({ partition, errorCode: entry?.ErrorCode ?? "NoResult" });
        }
      });
    }
    return { accepted, refused };
  }
}
