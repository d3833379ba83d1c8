/**
 * The sweep's partitions per account-Region (lib/lifecycle/scheduled/partitions.ts): due work grouped by the
 * account its key ARN names, each partition drained by its own workers, so a partition that is stuck does
 * not hold up the others; at most `partitionConcurrency` partitions at once.
 */
import { describe, expect, it } from "vitest";
import {
  type AwsRegion,
  parseAwsRegion,
  parseTetherKeyId,
  type TetherKeyId,
} from "../../../lib/domain/ids.js";
import { Priority } from "../../../lib/domain/import-policy.js";
import { groupByPartition } from "../../../lib/domain/quota-partitions.js";
import type { DueRegion, LifecycleDeps } from "../../../lib/lifecycle/ports.js";
import { drainPartitions, partitionDue } from "../../../lib/lifecycle/scheduled/partitions.js";

const WEST = parseAwsRegion("eu-west-1");
const id = (n: number): TetherKeyId => parseTetherKeyId(`tk_${String(n).padStart(26, "0")}`);
const due = (n: number, region: AwsRegion = WEST): DueRegion => ({
  keyId: id(n),
  region,
  nextCheckAt: new Date(0),
  priority: Priority.Normal,
});
const arn = (account: string) => `arn:aws:kms:eu-west-1:${account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

/** A registry listing one member: the sweep partitions by account only when members are registered. */
const MEMBERS = { list: async () => [{ accountId: "222222222222" }] };

describe("partitionDue", () => {
  it("reads no ARN without registered members: the Regions alone partition the work", async () => {
    const read: string[] = [];
    const keys = {
      regionArns: async () => {
        read.push("regionArns");
        return [];
      },
    };
    for (const accounts of [undefined, { list: async () => [] }]) {
      const deps = { keys, ...(accounts === undefined ? {} : { accounts }) } as unknown as LifecycleDeps;
      const partitions = await partitionDue(deps, [due(1), due(2), due(3, parseAwsRegion("eu-central-1"))]);
      expect(partitions.map((p) => [p.label, p.items.length])).toEqual([
        ["self/eu-west-1", 2],
        ["self/eu-central-1", 1],
      ]);
    }
    expect(read).toEqual([]);
  });

  it("groups by the account of each Region's key ARN, read in one batch", async () => {
    const items = [due(1), due(2), due(3)];
    const asked: number[] = [];
    const deps = {
      accounts: MEMBERS,
      keys: {
        regionArns: async (regions: readonly DueRegion[]) => {
          asked.push(regions.length);
          return [arn("222222222222"), arn("333333333333"), arn("222222222222")];
        },
      },
    } as unknown as LifecycleDeps;
    const partitions = await partitionDue(deps, items);
    expect(asked).toEqual([3]);
    expect(partitions.map((p) => [p.label, p.items.map((i) => i.keyId)])).toEqual([
      ["222222222222/eu-west-1", [id(1), id(3)]],
      ["333333333333/eu-west-1", [id(2)]],
    ]);
  });

  it("puts everything in the Regions' own partitions, logged, when the ARNs cannot be read", async () => {
    const logged: string[] = [];
    const deps = {
      accounts: MEMBERS,
      keys: {
        regionArns: async () => {
          throw new Error("table unreachable");
        },
      },
      log: (_level: string, message: string) => logged.push(message),
    } as unknown as LifecycleDeps;
    const partitions = await partitionDue(deps, [due(1), due(2)]);
    expect(partitions.map((p) => [p.label, p.items.length])).toEqual([["self/eu-west-1", 2]]);
    expect(logged).toEqual(["due work not partitioned by account this run: key ARNs unreadable"]);
  });
});

describe("drainPartitions", () => {
  it("drains the other partitions while one is stuck, and reports each", async () => {
    let release: () => void = () => undefined;
    const stuck = new Promise<void>((resolve) => {
      release = resolve;
    });
    const order: string[] = [];
    const work = groupByPartition(
      [
        { n: "a1", account: "1" },
        { n: "a2", account: "1" },
        { n: "b1", account: "2" },
        { n: "b2", account: "2" },
        { n: "b3", account: "2" },
      ],
      (i) => ({ account: i.account, region: "eu-west-1" }),
    );
    const drained = drainPartitions(
      work,
      { partitionConcurrency: 2, concurrency: 1, mayContinue: () => true },
      async (item) => {
        if (item.n === "a1") await stuck;
        order.push(item.n);
      },
    );
    // Let B's partition run to its end while A's first item waits.
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(order).toEqual(["b1", "b2", "b3"]);
    release();
    expect(await drained).toEqual([
      { partition: "1/eu-west-1", due: 2, processed: 2 },
      { partition: "2/eu-west-1", due: 3, processed: 3 },
    ]);
    expect(order).toEqual(["b1", "b2", "b3", "a1", "a2"]);
  });

  it("takes at most partitionConcurrency partitions at once, and stops taking items when told", async () => {
    let running = 0;
    let most = 0;
    let taken = 0;
    const work = groupByPartition([1, 2, 3, 4, 5, 6], (n) => ({ account: String(n % 3), region: "r" }));
    const reports = await drainPartitions(
      work,
      { partitionConcurrency: 2, concurrency: 4, mayContinue: () => taken < 4 },
      async () => {
        taken++;
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
      },
    );
    expect(most).toBeLessThanOrEqual(2 * 2);
    expect(reports.reduce((sum, r) => sum + r.processed, 0)).toBe(4);
    expect(reports.map((r) => r.due)).toEqual([2, 2, 2]);
  });
});
