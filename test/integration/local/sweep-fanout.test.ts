/**
 * The sweep's fan-out over the local stack as `npm start` runs it (issue 20, item 4): serverless.yml sets
 * TETHER_SWEEP_FANOUT=events, so the scheduled sweep only dispatches — one `Sweep Partition Due` event per
 * account-Region partition on the audit bus — and the rule of serverless.yml starts one sweep-partition
 * invocation per event, which renews that partition's keys. Partitions here: the hub's keys in two Regions,
 * then two member accounts' keys (member roles in the local STS, registered with `POST /accounts`, keys made
 * by each member's operator and adopted), each member's partition renewed in that member by a run of its own.
 * Two events for one partition at once (the next tick's dispatch while a run still drains) renew each key once.
 */
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { CreateKeyCommand, DescribeKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_ACCOUNT_ID } from "../../../infra/local/runner/identities.js";
import {
  LOCAL_ADMIN,
  LOCAL_SERVICE_CREDENTIALS,
  type LocalInvocation,
  type LocalStack,
  startLocalStack,
} from "../../../infra/local/runner/index.js";
import type { KeyActionResponse } from "../../../lib/api/response-schemas.js";
import { SWEEP_PARTITION_DUE_DETAIL_TYPE } from "../../../lib/domain/sweep-partition.js";
import type { PartitionRunReport } from "../../../lib/lifecycle/scheduled/sweep-partition.js";
import { signedFetch } from "../../e2e/support.js";

const HOME = "eu-west-1";
const OTHER = "eu-central-1";
const DAY_MS = 24 * 60 * 60 * 1000;
const admin = { accessKeyId: LOCAL_ADMIN.accessKeyId, secretAccessKey: LOCAL_ADMIN.secretAccessKey };

let stack: LocalStack;
const invocations: LocalInvocation[] = [];
const kms = new Map<string, KMSClient>();
const keys = new Map<string, string[]>();

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
  stack = await startLocalStack({
    memory: true,
    ports: { api: 0, kms: 0, dynamodb: 0, events: 0 },
    regions: [HOME, OTHER],
    // No schedule fires by itself: the sweep runs when the test says.
    sweepIntervalMs: 0,
    onInvocation: (invocation) => invocations.push(invocation),
  });
  for (const region of [HOME, OTHER]) {
    kms.set(
      region,
      new KMSClient({ endpoint: stack.endpoints.kms, region, credentials: LOCAL_SERVICE_CREDENTIALS }),
    );
  }
  // The sentinels first (made by the first run), then the keys.
  await stack.sweepNow();
  for (const [region, count] of [
    [HOME, 2],
    [OTHER, 3],
  ] as const) {
    const arns: string[] = [];
    for (let i = 0; i < count; i++) {
      const answer = await signedFetch(stack.apiUrl, {
        method: "POST",
        path: "/keys",
        credentials: admin,
        body: {
          mode: "create",
          region,
          keySpec: "SYMMETRIC_DEFAULT",
          materialRef: `fanout/${region}/${i}-${Date.now()}`,
          generateMaterial: true,
          policy: { validityPeriod: "P2D", renewBefore: "P1D" },
        },
      });
      expect(answer.status).toBe(201);
      arns.push((answer.body as KeyActionResponse).key.keyArn);
    }
    keys.set(region, arns);
  }
}, 120_000);

afterAll(async () => {
  for (const client of kms.values()) client.destroy();
  await stack?.close();
});

async function validTo(region: string, arn: string): Promise<number> {
  const client = kms.get(region) as KMSClient;
  return (await client.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.ValidTo?.getTime() ?? 0;
}

const partitionRuns = () =>
  invocations.filter((i) => i.function === "sweep-partition" && i.trigger === "rule");

describe("the sweep fanned out over the local stack", () => {
  it("dispatches one event per partition, and each partition's keys are renewed by a sweep-partition run of its own", async () => {
    const before = new Map<string, number>();
    for (const [region, arns] of keys) for (const arn of arns) before.set(arn, await validTo(region, arn));
    await stack.localAws.kms.admin.advanceClock(DAY_MS + 60_000);
    const runsBefore = partitionRuns().length;

    const report = await stack.sweepNow();
    // The sweep dispatched both partitions (and drained none itself); sweepNow added the runs' work.
    expect(report.dispatched?.accepted.map((p) => p.partition).sort()).toEqual(
      [`self/${HOME}`, `self/${OTHER}`].sort(),
    );
    expect(report.dispatched?.refused).toEqual([]);
    expect(report.outcomes.renewed).toBe(5);

    // Two events on the bus, one per partition, each delivered to sweep-partition through the rule.
    const published = stack.localAws.events
      .events(stack.auditBusName, HOME)
      .filter((e) => e["detail-type"] === SWEEP_PARTITION_DUE_DETAIL_TYPE);
    expect(published.map((e) => e.id).sort()).toEqual(
      report.dispatched?.accepted.map((p) => p.eventId).sort(),
    );
    const runs = partitionRuns().slice(runsBefore);
    expect(runs).toHaveLength(2);
    const byPartition = Object.fromEntries(
      runs.map((run) => [(run.result as PartitionRunReport).partition, run.result as PartitionRunReport]),
    );
    expect(byPartition[`self/${HOME}`]).toMatchObject({ due: 2, processed: 2, outcomes: { renewed: 2 } });
    expect(byPartition[`self/${OTHER}`]).toMatchObject({ due: 3, processed: 3, outcomes: { renewed: 3 } });
    // Each run handled only its own partition's event.
    for (const run of runs) {
      const detail = (run.event as { detail: { partition: string } }).detail;
      expect((run.result as PartitionRunReport).partition).toBe(detail.partition);
    }
    // KMS says so: every key's material was imported again, later than before.
    for (const [region, arns] of keys) {
      for (const arn of arns) expect(await validTo(region, arn)).toBeGreaterThan(before.get(arn) as number);
    }
  }, 60_000);

  it("two runs of one partition at once (a duplicate dispatch) renew each key once: leases", async () => {
    await stack.localAws.kms.admin.advanceClock(DAY_MS + 60_000);
    const runsBefore = partitionRuns().length;
    // The same partition asked for twice at once, as when the next tick dispatches while a run still drains.
    const detail = { account: "self", region: OTHER, due: 3, partition: `self/${OTHER}` };
    const events = new EventBridgeClient({
      endpoint: stack.endpoints.events,
      region: HOME,
      credentials: LOCAL_SERVICE_CREDENTIALS,
    });
    try {
      const sent = await events.send(
        new PutEventsCommand({
          Entries: [1, 2].map(() => ({
            EventBusName: stack.auditBusName,
            Source: "tether",
            DetailType: SWEEP_PARTITION_DUE_DETAIL_TYPE,
            Detail: JSON.stringify(detail),
          })),
        }),
      );
      expect(sent.FailedEntryCount).toBe(0);
    } finally {
      events.destroy();
    }
    await stack.localAws.events.drain();
    const runs = partitionRuns()
      .slice(runsBefore)
      .map((run) => run.result as PartitionRunReport);
    expect(runs).toHaveLength(2);
    for (const run of runs) expect(run.partition).toBe(`self/${OTHER}`);
    // Three keys, three renewals between both runs; what one run held, the other found busy or done.
    expect(runs.reduce((sum, run) => sum + (run.outcomes.renewed ?? 0), 0)).toBe(3);
    // The home Region's partition was not asked for: its keys are still due, untouched.
    const report = await stack.sweepNow();
    expect(report.dispatched?.accepted.map((p) => p.partition)).toEqual([`self/${HOME}`]);
    expect(report.outcomes.renewed).toBe(2);
  }, 60_000);

  it("fans out per member account: each member's partition is renewed by its own run, in that member", async () => {
    const members = ["222233334444", "333344445555"];
    const externalId = `fanout-${Date.now()}`;
    const hubRoles = ["api", "sweep", "sweep-partition", "kms-events"].map(
      (fn) => `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/tether-local-${HOME}-${fn}`,
    );
    const operators = new Map<string, KMSClient>();
    const memberKeys = new Map<string, string[]>();
    try {
      for (const account of members) {
        // As infra/member-account.yml makes it (the trust; the local STS), and an operator of the member.
        await stack.localAws.kms.admin.putRole({
          arn: `arn:aws:iam::${account}:role/tether-member`,
          trustPolicy: {
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { AWS: hubRoles },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "sts:ExternalId": externalId } },
              },
            ],
          },
        });
        const accessKeyId = `AKIAFANOUT${account}`;
        await stack.localAws.kms.admin.registerIdentity({
          accessKeyId,
          arn: `arn:aws:iam::${account}:user/operator`,
        });
        const operator = new KMSClient({
          endpoint: stack.endpoints.kms,
          region: HOME,
          credentials: { accessKeyId, secretAccessKey: "operator-secret" },
        });
        operators.set(account, operator);
        const added = await signedFetch(stack.apiUrl, {
          method: "POST",
          path: "/accounts",
          credentials: admin,
          body: { roleArn: `arn:aws:iam::${account}:role/tether-member`, externalId, name: `m${account}` },
        });
        expect(added.status).toBe(201);
        const arns: string[] = [];
        for (let i = 0; i < 2; i++) {
          const created = await operator.send(
            new CreateKeyCommand({
              Origin: "EXTERNAL",
              KeySpec: "SYMMETRIC_DEFAULT",
              KeyUsage: "ENCRYPT_DECRYPT",
            }),
          );
          const arn = created.KeyMetadata?.Arn as string;
          const materialRef = `fanout/${account}/${i}-${Date.now()}`;
          const material = await signedFetch(stack.apiUrl, {
            method: "POST",
            path: "/_local/vault/material",
            credentials: admin,
            body: { materialRef },
          });
          expect(material.status).toBe(201);
          const adopted = await signedFetch(stack.apiUrl, {
            method: "POST",
            path: "/keys",
            credentials: admin,
            body: {
              mode: "adopt",
              keyArn: arn,
              materialRef,
              checkValue: (material.body as { checkValue: string }).checkValue,
              policy: { validityPeriod: "P2D", renewBefore: "P1D" },
            },
          });
          expect(adopted.status).toBe(201);
          arns.push(arn);
        }
        memberKeys.set(account, arns);
      }
      const validToIn = async (account: string, arn: string) =>
        (
          await (operators.get(account) as KMSClient).send(new DescribeKeyCommand({ KeyId: arn }))
        ).KeyMetadata?.ValidTo?.getTime() ?? 0;
      const before = new Map<string, number>();
      for (const [account, arns] of memberKeys) {
        for (const arn of arns) before.set(arn, await validToIn(account, arn));
      }
      await stack.localAws.kms.admin.advanceClock(DAY_MS + 60_000);
      const runsBefore = partitionRuns().length;

      const report = await stack.sweepNow();
      const dispatched = report.dispatched?.accepted.map((p) => p.partition) ?? [];
      for (const account of members) expect(dispatched).toContain(`${account}/${HOME}`);
      const runs = partitionRuns()
        .slice(runsBefore)
        .map((run) => run.result as PartitionRunReport);
      for (const account of members) {
        const own = runs.filter((run) => run.partition === `${account}/${HOME}`);
        expect(own).toHaveLength(1);
        expect(own[0]).toMatchObject({ due: 2, processed: 2, outcomes: { renewed: 2 } });
      }
      // KMS in each member says so: its keys' material was imported again there.
      for (const [account, arns] of memberKeys) {
        for (const arn of arns)
          expect(await validToIn(account, arn)).toBeGreaterThan(before.get(arn) as number);
      }
    } finally {
      for (const operator of operators.values()) operator.destroy();
    }
  }, 90_000);
});
