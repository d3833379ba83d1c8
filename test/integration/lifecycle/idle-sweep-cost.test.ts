/**
 * What an idle sweep (nothing due) costs in DynamoDB requests, counted at the local DynamoDB (a proxy in
 * front of dynalite). The due-work index has 16 shards per priority band; a sparse band that holds nothing
 * due costs a Query per shard once, then nothing until it has something due or is written to
 * (lib/domain/due-bands.ts). Before: 64 Queries of the due index on every idle run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweep } from "../../../lib/lifecycle/scheduled/sweep.js";
import { type CountingProxy, startCountingProxy } from "../../support/counting-proxy.js";
import { type LifecycleTestbed, startLifecycleTestbed } from "../../support/lifecycle-testbed.js";

let bed: LifecycleTestbed;
let proxy: CountingProxy;

beforeAll(async () => {
  bed = await startLifecycleTestbed();
  proxy = await startCountingProxy(bed.aws.endpoints.dynamodb);
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await bed?.close();
});

describe("an idle sweep", () => {
  it("reads the due-work index with few Queries once the rare bands are known to hold nothing due", async () => {
    const deps = bed.depsWith({ TETHER_DYNAMODB_ENDPOINT: proxy.url, TETHER_SENTINELS: "off" });
    const runs: Record<string, number>[] = [];
    for (let i = 0; i < 3; i++) {
      proxy.reset();
      await sweep(deps, { correlationId: `idle-${i}` });
      runs.push(proxy.counts());
    }
    console.log(`idle sweep requests, runs 1-3: ${JSON.stringify(runs)}`);
    // The first run reads every band (16 Queries each) and marks the empty sparse bands quiet; the next ones
    // read the normal band alone (the outbox's 16 shards are read every run, as before).
    expect(runs[0]?.["Query:due"]).toBe(64);
    for (const run of runs.slice(1)) {
      expect(run["Query:due"]).toBe(16);
      expect(run["Query:outbox"]).toBe(16);
      expect(run.GetItem).toBe(1);
    }
  });
});
