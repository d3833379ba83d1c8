import { describe, expect, it } from "vitest";
import { accountOfKeyId } from "../../../lib/domain/key-arn.js";
import { groupByPartition, partitionLabel, partitionOfKey } from "../../../lib/domain/quota-partitions.js";

const arn = (account: string, region: string, n: number) =>
  `arn:aws:kms:${region}:${account}:key/1234abcd-12ab-34cd-56ef-${String(n).padStart(12, "0")}`;

describe("accountOfKeyId", () => {
  it("reads the account of a key ARN and nothing from anything else", () => {
    expect(accountOfKeyId(arn("444455556666", "eu-west-1", 1))).toBe("444455556666");
    expect(accountOfKeyId("1234abcd-12ab-34cd-56ef-1234567890ab")).toBeUndefined();
    // An alias ARN names the account of the alias and its key, whose quota the request counts against.
    expect(accountOfKeyId("arn:aws:kms:eu-west-1:444455556666:alias/x")).toBe("444455556666");
    expect(accountOfKeyId(undefined)).toBeUndefined();
  });
});

describe("groupByPartition", () => {
  it("groups per account and Region, keeping the order within each and ordering partitions by urgency", () => {
    const items = [
      { n: 1, keyArn: arn("222222222222", "eu-west-1", 1), region: "eu-west-1" },
      { n: 2, keyArn: arn("111111111111", "eu-west-1", 2), region: "eu-west-1" },
      { n: 3, keyArn: arn("222222222222", "eu-central-1", 3), region: "eu-central-1" },
      { n: 4, keyArn: arn("222222222222", "eu-west-1", 4), region: "eu-west-1" },
      { n: 5, keyArn: undefined, region: "eu-west-1" },
      { n: 6, keyArn: arn("111111111111", "eu-west-1", 6), region: "eu-west-1" },
    ];
    const groups = groupByPartition(items, (i) => partitionOfKey(i.keyArn, i.region));
    expect(groups.map((g) => [g.label, g.items.map((i) => i.n)])).toEqual([
      ["222222222222/eu-west-1", [1, 4]],
      ["111111111111/eu-west-1", [2, 6]],
      ["222222222222/eu-central-1", [3]],
      ["self/eu-west-1", [5]],
    ]);
    expect(groups[0]?.partition).toEqual({ account: "222222222222", region: "eu-west-1" });
  });

  it("gives nothing for nothing, and labels an unknown account as the deployment's own", () => {
    expect(groupByPartition([], () => ({ account: undefined, region: "x" }))).toEqual([]);
    expect(partitionLabel({ account: undefined, region: "eu-west-1" })).toBe("self/eu-west-1");
  });
});
