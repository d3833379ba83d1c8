/**
 * Issue 20, item 4: the sweep fanned out, one run per account-Region partition (TETHER_SWEEP_FANOUT=events).
 * Two member accounts' keys in one table, against the local AWS over HTTP (KMS emulator, dynalite, the event
 * bus): the dispatcher (sweep with fanout `events`) publishes one `Sweep Partition Due` event per account
 * to Tether's bus through the real PutEvents adapter, a rule records them, and each event, handed to
 * sweepPartition as the sweep-partition function does, renews exactly its own account's keys. Two runs of
 * one partition at once (the next tick's dispatch while a run still drains) renew each key once: leases.
 *
 * Each account's keys are created with its own credentials and its calls go to an adapter signing as it
 * (bench/lib/member-kms.ts), until the KMS adapter routes by account.
 */
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AUDIT_BUS,
  type Bed,
  type BenchDeps,
  CREDENTIALS,
  REGION,
  startBed,
} from "../../../bench/lib/bed.js";
import {
  accountRoutedKms,
  type BenchAccount,
  listedMembers,
  registerAccounts,
  registerKeysPerAccount,
} from "../../../bench/lib/member-kms.js";
import { EventBridgePartitionDispatch } from "../../../lib/audit/partition-dispatch.js";
import {
  type PartitionRequest,
  partitionRequestOf,
  SWEEP_PARTITION_DUE_DETAIL_TYPE,
} from "../../../lib/domain/sweep-partition.js";
import { ImportParametersCache } from "../../../lib/kms/import-parameters.js";
import type { KmsPort, LifecycleDeps } from "../../../lib/lifecycle/ports.js";
import { sweep } from "../../../lib/lifecycle/scheduled/sweep.js";
import { sweepPartition } from "../../../lib/lifecycle/scheduled/sweep-partition.js";

const POLICY = { validityPeriod: "PT2H", renewBefore: "PT1H" };
const ADVANCE_MS = 61 * 60 * 1000;
const RECORDER = "partition-runs";

let bed: Bed;
let members: BenchAccount[];
let events: EventBridgeClient;
const cache = new ImportParametersCache();
const opened: BenchDeps[] = [];

beforeAll(async () => {
  bed = await startBed();
  members = await registerAccounts(bed.aws.kms.admin, 2);
  await registerKeysPerAccount(bed, members, [2, 3], POLICY, cache);
  bed.aws.events.putRule({
    name: "sweep-partition",
    region: REGION,
    eventBusName: AUDIT_BUS,
    // serverless.yml's rule for sweep-partition (test/deploy/template.test.ts checks the template's).
    eventPattern: { source: ["tether"], "detail-type": [SWEEP_PARTITION_DUE_DETAIL_TYPE] },
    targets: [{ id: RECORDER, kind: "recorder" }],
  });
  events = new EventBridgeClient({
    endpoint: bed.aws.endpoints.events,
    region: REGION,
    credentials: CREDENTIALS,
  });
}, 120_000);
afterAll(async () => {
  events?.destroy();
  for (const d of opened) d.close();
  await bed?.close();
});

/** The functions' deps: a KMS adapter per account, the dispatch to the local bus. */
function fanoutDeps(): LifecycleDeps {
  const hub = bed.deps({ parametersCache: cache, unlimited: true });
  opened.push(hub);
  const ports = new Map<string, KmsPort>();
  for (const member of members) {
    const own = bed.deps({ parametersCache: cache, kmsCredentials: member.credentials, unlimited: true });
    opened.push(own);
    ports.set(member.accountId, own.deps.kms);
  }
  return {
    ...hub.deps,
    kms: accountRoutedKms(ports, hub.deps.kms),
    accounts: listedMembers(members),
    partitionDispatch: new EventBridgePartitionDispatch({ client: events, busName: AUDIT_BUS }),
  };
}

async function recordedRequests(): Promise<PartitionRequest[]> {
  await bed.aws.events.drain();
  return bed.aws.events
    .recorded(RECORDER)
    .map((event) => partitionRequestOf(event))
    .filter((r): r is PartitionRequest => r !== undefined);
}

describe("the sweep fanned out per account-Region partition", () => {
  it("dispatches one event per account, and each partition's run renews its own account's keys", async () => {
    const [a, b] = members as [BenchAccount, BenchAccount];
    await bed.advance(ADVANCE_MS);
    const deps = fanoutDeps();
    const report = await sweep(deps, { correlationId: "fanout-test", limit: 100, fanout: "events" });
    // The dispatcher drained nothing itself: two partitions handed over, none refused, nothing deferred.
    expect(report.due).toBe(5);
    expect(report.processed).toBe(0);
    expect(report.deferred).toBe(0);
    expect(report.dispatched?.refused).toEqual([]);
    expect(report.dispatched?.accepted.map((p) => p.partition).sort()).toEqual(
      [`${a.accountId}/${REGION}`, `${b.accountId}/${REGION}`].sort(),
    );
    expect(report.dispatched?.regions).toBe(5);

    await bed.aws.events.drain();
    const envelopes = bed.aws.events.recorded(RECORDER);
    expect(envelopes.map((e) => e.id).sort()).toEqual(
      report.dispatched?.accepted.map((p) => p.eventId).sort(),
    );
    // The detail names the partition and its count, nothing of a key.
    for (const envelope of envelopes) {
      expect(Object.keys(envelope.detail as object).sort()).toEqual(
        ["account", "correlationId", "due", "partition", "region"].sort(),
      );
      expect(JSON.stringify(envelope.detail)).not.toMatch(/arn:aws:kms|key\//);
    }
    const requests = await recordedRequests();
    expect(requests.map((r) => [r.account, r.due]).sort()).toEqual(
      [
        [a.accountId, 2],
        [b.accountId, 3],
      ].sort(),
    );

    // One run per event, at once, as Lambda starts them.
    const runs = await Promise.all(
      requests.map((request) => sweepPartition(deps, request, { correlationId: `run-${request.account}` })),
    );
    const byPartition = Object.fromEntries(runs.map((r) => [r.partition, r]));
    expect(byPartition[`${a.accountId}/${REGION}`]).toMatchObject({ due: 2, processed: 2, deferred: 0 });
    expect(byPartition[`${a.accountId}/${REGION}`]?.outcomes).toEqual({ renewed: 2 });
    expect(byPartition[`${b.accountId}/${REGION}`]).toMatchObject({ due: 3, processed: 3, deferred: 0 });
    expect(byPartition[`${b.accountId}/${REGION}`]?.outcomes).toEqual({ renewed: 3 });

    // Nothing is left due: the next dispatcher run hands over nothing.
    const next = await sweep(deps, { correlationId: "fanout-test-2", limit: 100, fanout: "events" });
    expect(next.due).toBe(0);
    expect(next.dispatched?.accepted).toEqual([]);
  }, 60_000);

  it("runs two overlapping runs of one partition safely: each key renewed once (leases)", async () => {
    const [a] = members as [BenchAccount, BenchAccount];
    await bed.advance(ADVANCE_MS);
    const deps = fanoutDeps();
    const request: PartitionRequest = {
      account: a.accountId,
      region: REGION as PartitionRequest["region"],
      due: 2,
    };
    const [first, second] = await Promise.all([
      sweepPartition(deps, request, { correlationId: "overlap-1" }),
      sweepPartition(deps, request, { correlationId: "overlap-2" }),
    ]);
    // A's two keys were renewed exactly twice between both runs; the other run found each busy or done.
    expect((first.outcomes.renewed ?? 0) + (second.outcomes.renewed ?? 0)).toBe(2);
    // B's partition was not touched by A's runs: its keys are still due.
    const due = await deps.keys.due(bed.now(), 100);
    expect(due).toHaveLength(3);
  }, 60_000);

  it("drains the partitions itself when the bus does not take them: no due work waits a schedule for a fan-out that did not happen", async () => {
    const [, b] = members as [BenchAccount, BenchAccount];
    const deps: LifecycleDeps = {
      ...fanoutDeps(),
      partitionDispatch: {
        dispatch: async () => {
          throw new Error("the bus is unreachable");
        },
      },
    };
    // B's three keys are still due (the previous test drained A's partition only).
    const report = await sweep(deps, { correlationId: "fanout-refused", limit: 100, fanout: "events" });
    expect(report.dispatched).toEqual({ accepted: [], refused: [], regions: 0 });
    expect(report.partitions).toEqual([{ partition: `${b.accountId}/${REGION}`, due: 3, processed: 3 }]);
    expect(report.outcomes).toEqual({ renewed: 3 });
    expect(report.deferred).toBe(0);
  }, 60_000);
});
