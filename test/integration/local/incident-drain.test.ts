/**
 * One drain per incident (issue 16, item 4), over the local stack as `npm start` runs it: the probe finds a
 * Region's sentinel without its material and opens an incident; its alert on the audit bus reaches the
 * sweep through the rule of serverless.yml, and the sweep runs at once — no scheduled sweep fires here
 * (the schedule's interval is 0) — then asks for another run while work is left, until the Region is whole.
 * TETHER_SWEEP_LIMIT is 4 in this file, so a Region of 9 keys (and its sentinel) needs several runs.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DescribeKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  LOCAL_ADMIN,
  LOCAL_SERVICE_CREDENTIALS,
  type LocalInvocation,
  type LocalStack,
  startLocalStack,
} from "../../../infra/local/runner/index.js";
import type { KeyActionResponse, SentinelsResponse } from "../../../lib/api/response-schemas.js";
import { DRAIN_CONTINUED_DETAIL_TYPE } from "../../../lib/domain/drain.js";
import { parseAwsRegion, parseTetherKeyId } from "../../../lib/domain/ids.js";
import type { DrainReport } from "../../../lib/lifecycle/scheduled/drain.js";
import { DynamoSentinelRepository } from "../../../lib/store/dynamo-sentinel-repository.js";
import { signedFetch } from "../../e2e/support.js";

const LIMIT = 4;
const HOME = "eu-west-1";
const OTHER = "eu-central-1";
const admin = { accessKeyId: LOCAL_ADMIN.accessKeyId, secretAccessKey: LOCAL_ADMIN.secretAccessKey };

let stack: LocalStack;
const invocations: LocalInvocation[] = [];
const kms = new Map<string, KMSClient>();
/** The other Region's keys, from the first test. */
const otherKeys: Array<{ id: string; arn: string }> = [];

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
  process.env.TETHER_SWEEP_LIMIT = String(LIMIT);
  stack = await startLocalStack({
    memory: true,
    ports: { api: 0, kms: 0, dynamodb: 0, events: 0 },
    regions: [HOME, OTHER],
    // No schedule fires by itself: the probe runs when the test says, the sweep only when an event starts it.
    sweepIntervalMs: 0,
    onInvocation: (invocation) => invocations.push(invocation),
  });
  for (const region of [HOME, OTHER]) {
    kms.set(
      region,
      new KMSClient({ endpoint: stack.endpoints.kms, region, credentials: LOCAL_SERVICE_CREDENTIALS }),
    );
  }
  // The sentinels: the sweep makes them on its first run; the probe then sees each intact.
  await stack.sweepNow();
  await stack.runSchedule("probe");
}, 120_000);

afterAll(async () => {
  for (const client of kms.values()) client.destroy();
  await stack?.close();
});

async function register(region: string, count: number): Promise<Array<{ id: string; arn: string }>> {
  const keys: Array<{ id: string; arn: string }> = [];
  for (let i = 0; i < count; i++) {
    const answer = await signedFetch(stack.apiUrl, {
      method: "POST",
      path: "/keys",
      credentials: admin,
      body: {
        mode: "create",
        region,
        keySpec: "SYMMETRIC_DEFAULT",
        materialRef: `drain/${region}/${i}-${Date.now()}`,
        generateMaterial: true,
      },
    });
    expect(answer.status).toBe(201);
    const { key } = answer.body as KeyActionResponse;
    keys.push({ id: key.id, arn: key.keyArn });
  }
  return keys;
}

async function keyState(region: string, arn: string): Promise<string | undefined> {
  const client = kms.get(region) as KMSClient;
  return (await client.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.KeyState;
}

async function openIncidents(): Promise<string[]> {
  const answer = await signedFetch(stack.apiUrl, { method: "GET", path: "/sentinels", credentials: admin });
  expect(answer.status).toBe(200);
  const body = answer.body as SentinelsResponse;
  return body.items.filter((s) => s.incident !== undefined).map((s) => s.region);
}

/** Sweep runs the rules started, once the last of them found the drain done (or the deadline passed). */
async function drainRuns(region: string, timeoutMs: number): Promise<DrainReport[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = invocations
      .filter((i) => i.function === "sweep" && i.trigger === "rule")
      .map((i) => i.result as DrainReport)
      .filter((r) => r?.drain?.region === region);
    const last = runs.at(-1);
    if ((last !== undefined && !last.drain.continued) || Date.now() > deadline) return runs;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The loss falls just after a probe; the next probe, a minute later on the emulator's clock, finds it. */
async function loseAndProbe(region: string): Promise<void> {
  await stack.localAws.kms.admin.loseRegion(region);
  await stack.localAws.kms.admin.advanceClock(60_000);
  const probe = (await stack.runSchedule("probe")) as { opened: string[] };
  expect(probe.opened).toEqual([region]);
}

const scheduledSweeps = () =>
  invocations.filter((i) => i.function === "sweep" && i.trigger === "schedule").length;

describe("one drain per incident", () => {
  it("a Region within one run's limit: the incident's alert starts one sweep run, which restores every key and closes the incident; no scheduled sweep", async () => {
    const keys = await register(OTHER, 2);
    otherKeys.push(...keys);
    const scheduledBefore = scheduledSweeps();

    await loseAndProbe(OTHER);
    const runs = await drainRuns(OTHER, 120_000);

    expect(runs).toHaveLength(1);
    const [run] = runs as [DrainReport];
    expect(run.drain).toMatchObject({ run: 0, verdict: "done", why: "region-whole", continued: false });
    expect(run.incidentsClosed).toEqual([OTHER]);
    expect(run.outcomes.restored).toBe(2);
    for (const { arn } of keys) expect(await keyState(OTHER, arn)).toBe("Enabled");
    expect(await openIncidents()).toEqual([]);
    expect(scheduledSweeps()).toBe(scheduledBefore);
  }, 180_000);

  it(`a backlog beyond one run's limit (${LIMIT}): each run asks for the next until the Region is whole, then the drain stops; another Region's due work is served on the way`, async () => {
    const keys = await register(HOME, 9);
    const scheduledBefore = scheduledSweeps();
    // Another Region's scheduled work, due before the loss: the drain's runs take it too (no starving).
    const other = otherKeys[0] ?? { id: "", arn: "" };
    const client = new DynamoDBClient({
      endpoint: stack.endpoints.dynamodb,
      region: HOME,
      credentials: LOCAL_SERVICE_CREDENTIALS,
    });
    try {
      await new DynamoSentinelRepository({ client, tableName: stack.tableName }).makeDue(
        parseTetherKeyId(other.id),
        parseAwsRegion(OTHER),
        await stack.localAws.kms.admin.now(),
      );
    } finally {
      client.destroy();
    }

    await loseAndProbe(HOME);
    const runs = await drainRuns(HOME, 240_000);

    // 9 keys and the other Region's one, 4 a run: 4 + 4 + 2, the last one closing the incident (the sentinel
    // re-imported last). The other Region's key, due first, went in the first run (nothing to restore there).
    expect(runs.map((r) => r.drain.run)).toEqual([0, 1, 2]);
    expect(runs.map((r) => r.drain.verdict)).toEqual(["continue", "continue", "done"]);
    expect(runs.map((r) => r.processed)).toEqual([4, 4, 2]);
    expect(runs.map((r) => r.outcomes.restored ?? 0)).toEqual([3, 4, 2]);
    expect(runs.at(-1)?.incidentsClosed).toEqual([HOME]);
    expect(await keyState(OTHER, other.arn)).toBe("Enabled");
    for (const { arn } of keys) expect(await keyState(HOME, arn)).toBe("Enabled");
    expect(await openIncidents()).toEqual([]);
    // The continuations went through the bus (the same rule path AWS takes), not a call in process.
    const continued = invocations.filter(
      (i) =>
        i.function === "sweep" &&
        i.trigger === "rule" &&
        (i.event as { "detail-type"?: string })["detail-type"] === DRAIN_CONTINUED_DETAIL_TYPE,
    );
    expect(continued.map((i) => (i.event as { detail: { run: number } }).detail.run)).toEqual([1, 2]);
    expect(scheduledSweeps()).toBe(scheduledBefore);
    // The drain stopped: nothing runs after the last run.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(invocations.filter((i) => i.function === "sweep" && i.trigger === "rule")).toHaveLength(4);
  }, 300_000);
});
