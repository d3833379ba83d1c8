import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../../lib/kms/rate-limiter.js";

/** A fake clock whose sleep moves time, so spacing is checked without waiting. */
function fakeTime() {
  let now = 0;
  const sleep = async (ms: number): Promise<void> => {
    now += ms;
  };
  return { now: () => now, sleep, at: () => now };
}

describe("RateLimiter", () => {
  it("spaces calls of a limited operation per Region at the quota", async () => {
    const time = fakeTime();
    const limiter = new RateLimiter({
      quotas: { GetParametersForImport: 1 },
      now: time.now,
      sleep: time.sleep,
    });
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      await limiter.acquire("eu-west-1", "GetParametersForImport");
      times.push(time.at());
    }
    expect(times).toEqual([0, 1000, 2000, 3000]);
  });

  it("keeps Regions and operations apart, and leaves unlisted operations alone", async () => {
    const time = fakeTime();
    const limiter = new RateLimiter({ quotas: { ImportKeyMaterial: 2 }, now: time.now, sleep: time.sleep });
    await limiter.acquire("eu-west-1", "ImportKeyMaterial");
    await limiter.acquire("us-east-1", "ImportKeyMaterial");
    await limiter.acquire("eu-west-1", "DescribeKey");
    expect(time.at()).toBe(0);
    await limiter.acquire("eu-west-1", "ImportKeyMaterial");
    expect(time.at()).toBe(500);
  });

  it("refuses a non-positive quota", () => {
    expect(() => new RateLimiter({ quotas: { X: 0 } })).toThrow(RangeError);
  });
});
