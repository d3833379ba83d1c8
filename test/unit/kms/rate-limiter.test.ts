import { describe, expect, it } from "vitest";
import { KmsThrottledError } from "../../../lib/domain/errors.js";
import { withDeadline } from "../../../lib/kms/deadline.js";
import { translateKmsError } from "../../../lib/kms/errors.js";
import { RateLimitDeadlineError, RateLimiter } from "../../../lib/kms/rate-limiter.js";

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

  it("refuses at once a turn that would come after the caller's deadline, and serves the others", async () => {
    const time = fakeTime();
    const limiter = new RateLimiter({
      quotas: { GetParametersForImport: 1 },
      now: time.now,
      sleep: time.sleep,
    });
    const outcomes = await withDeadline(2_500, async () => {
      // Queued together: turns at 0, 1000, 2000; the fourth would be at 3000, past the deadline.
      const turns = [0, 1, 2, 3].map((i) =>
        limiter.acquire("eu-west-1", "GetParametersForImport").then(
          () => `served ${i} at ${time.at()}`,
          (error: unknown) => `refused ${i}: ${(error as Error).name}`,
        ),
      );
      return Promise.all(turns);
    });
    expect(outcomes).toEqual([
      "served 0 at 0",
      "served 1 at 1000",
      "served 2 at 2000",
      "refused 3: RateLimitDeadlineError",
    ]);
    // Without a deadline the same caller waits its turn.
    await limiter.acquire("eu-west-1", "GetParametersForImport");
    expect(time.at()).toBe(3000);
    // The refusal is a throttle to the rest of Tether.
    expect(
      translateKmsError(new RateLimitDeadlineError("eu-west-1", "GetParametersForImport", 3000), {
        keyId: "k",
        region: "eu-west-1",
        operation: "GetParametersForImport",
      }),
    ).toBeInstanceOf(KmsThrottledError);
  });

  it("refuses a non-positive quota", () => {
    expect(() => new RateLimiter({ quotas: { X: 0 } })).toThrow(RangeError);
  });
});
