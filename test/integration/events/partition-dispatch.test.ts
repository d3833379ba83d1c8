/**
 * The sweep's dispatcher's adapter (lib/audit/partition-dispatch.ts) against the local event bus over HTTP:
 * PutEvents takes at most 10 entries a request (the local bus refuses more with ValidationException, as
 * EventBridge does: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html), so 23
 * partitions go in three requests, each event delivered once by the sweep-partition rule's pattern. An entry
 * the bus refuses is reported by partition (aws-sdk-client-mock: the local bus refuses no well-formed entry).
 */
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EventBus, startEventBus } from "../../../infra/local/events/index.js";
import { EventBridgePartitionDispatch } from "../../../lib/audit/partition-dispatch.js";
import { parseAwsRegion } from "../../../lib/domain/ids.js";
import { partitionRequestOf, SWEEP_PARTITION_DUE_DETAIL_TYPE } from "../../../lib/domain/sweep-partition.js";

const credentials = { accessKeyId: "local", secretAccessKey: "local" };
const BUS = "tether-test-audit";
let bus: EventBus;
let client: EventBridgeClient;

beforeAll(async () => {
  bus = await startEventBus({ port: 0 });
  client = new EventBridgeClient({ endpoint: bus.url, region: "eu-west-1", credentials, maxAttempts: 1 });
  bus.createEventBus(BUS);
  bus.putRule({
    name: "sweep-partition",
    eventBusName: BUS,
    eventPattern: { source: ["tether"], "detail-type": [SWEEP_PARTITION_DUE_DETAIL_TYPE] },
    targets: [{ id: "partitions", kind: "recorder" }],
  });
});
afterAll(async () => {
  client?.destroy();
  await bus?.close();
});

const requests = Array.from({ length: 23 }, (_, i) => ({
  account: `2000000000${String(i).padStart(2, "0")}`,
  region: parseAwsRegion("eu-west-1"),
  due: i + 1,
}));

describe("EventBridgePartitionDispatch", () => {
  it("puts one event per partition, at most 10 a request, each delivered once with its partition", async () => {
    const dispatch = new EventBridgePartitionDispatch({ client, busName: BUS });
    const { accepted, refused } = await dispatch.dispatch(requests, {
      time: new Date(),
      correlationId: "dispatch-test",
    });
    expect(refused).toEqual([]);
    expect(accepted.map((a) => a.partition)).toEqual(requests.map((r) => `${r.account}/eu-west-1`));
    await bus.drain();
    const delivered = bus.recorded("partitions");
    expect(delivered.map((e) => e.id).sort()).toEqual(accepted.map((a) => a.eventId).sort());
    expect(delivered.map((e) => partitionRequestOf(e))).toEqual(expect.arrayContaining(requests));
    expect(delivered).toHaveLength(23);
  });

  it("reports the entries the bus refused, by partition, and keeps the others", async () => {
    const mocked = new EventBridgeClient({ region: "eu-west-1", credentials });
    const mock = mockClient(mocked);
    mock.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 1,
      Entries: input.Entries.map((_, i) =>
        i === 1 ? { ErrorCode: "ThrottlingException", ErrorMessage: "slow down" } : { EventId: `event-${i}` },
      ),
    }));
    try {
      const dispatch = new EventBridgePartitionDispatch({ client: mocked, busName: BUS });
      const { accepted, refused } = await dispatch.dispatch(requests.slice(0, 3), {
        time: new Date(),
        correlationId: "dispatch-test",
      });
      expect(accepted).toEqual([
        { partition: "200000000000/eu-west-1", eventId: "event-0" },
        { partition: "200000000002/eu-west-1", eventId: "event-2" },
      ]);
      expect(refused).toEqual([{ partition: "200000000001/eu-west-1", errorCode: "ThrottlingException" }]);
    } finally {
      mock.restore();
      mocked.destroy();
    }
  });
});
