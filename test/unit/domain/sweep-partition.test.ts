import { describe, expect, it } from "vitest";
import { parseAwsRegion } from "../../../lib/domain/ids.js";
import {
  isRequested,
  partitionRequestDetail,
  partitionRequestOf,
  SWEEP_PARTITION_DUE_DETAIL_TYPE,
} from "../../../lib/domain/sweep-partition.js";

const event = (detail: unknown, overrides: Record<string, unknown> = {}) => ({
  source: "tether",
  "detail-type": SWEEP_PARTITION_DUE_DETAIL_TYPE,
  detail,
  ...overrides,
});

describe("Sweep Partition Due events", () => {
  it("round-trip a member account's partition and the deployment's own (self)", () => {
    const member = { account: "200000000001", region: parseAwsRegion("eu-west-1"), due: 4 };
    expect(partitionRequestDetail(member)).toEqual({
      account: "200000000001",
      region: "eu-west-1",
      due: 4,
      partition: "200000000001/eu-west-1",
    });
    expect(partitionRequestOf(event(partitionRequestDetail(member)))).toEqual(member);
    const own = { account: undefined, region: parseAwsRegion("eu-central-1"), due: 0 };
    expect(partitionRequestDetail(own).account).toBe("self");
    expect(partitionRequestOf(event(partitionRequestDetail(own)))).toEqual(own);
  });

  it.each([
    ["another source", event({ account: "self", region: "eu-west-1", due: 1 }, { source: "aws.kms" })],
    ["another detail-type", event({ account: "self", region: "eu-west-1", due: 1 }, { "detail-type": "x" })],
    ["no detail", event(null)],
    ["an account that is no account id", event({ account: "12345", region: "eu-west-1", due: 1 })],
    ["a Region that is none", event({ account: "self", region: "Mars", due: 1 })],
    ["a count that is no count", event({ account: "self", region: "eu-west-1", due: -1 })],
    ["a count that is missing", event({ account: "self", region: "eu-west-1" })],
  ])("are not read from %s: nothing is drained on a guess", (_, e) => {
    expect(partitionRequestOf(e)).toBeUndefined();
  });

  it("name one partition: the same account and Region", () => {
    const request = { account: "200000000001", region: parseAwsRegion("eu-west-1"), due: 1 };
    expect(isRequested({ account: "200000000001", region: "eu-west-1" }, request)).toBe(true);
    expect(isRequested({ account: "200000000002", region: "eu-west-1" }, request)).toBe(false);
    expect(isRequested({ account: "200000000001", region: "eu-central-1" }, request)).toBe(false);
    expect(isRequested({ account: undefined, region: "eu-west-1" }, request)).toBe(false);
  });
});
