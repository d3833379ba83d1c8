import { describe, expect, it } from "vitest";
import {
  MAX_TAT_AHEAD_MS,
  reserveFallbackSlots,
  reserveSlots,
  tokensAt,
  tokenWaitMs,
} from "../../../lib/domain/quota-slots.js";

/** GetParametersForImport at Tether's default share: 0.8/s, one turn every 1,250 ms. */
const INTERVAL = 1250;

describe("reserveSlots (the shared budget's arithmetic)", () => {
  it("grants a first caller at once and the next ones an interval apart", () => {
    const grant = reserveSlots(undefined, 10_000, INTERVAL, [undefined, undefined, undefined]);
    expect(grant.slots).toEqual([10_000, 11_250, 12_500]);
    expect(grant.tat).toBe(13_750);
    expect(grant.granted).toBe(3);
  });

  it("queues behind turns already granted (by any process): tat in the future", () => {
    const grant = reserveSlots(13_750, 11_000, INTERVAL, [undefined]);
    expect(grant.slots).toEqual([13_750]);
    expect(grant.tat).toBe(15_000);
  });

  it("saves no idle time up: after a long pause the next two turns are still an interval apart", () => {
    const grant = reserveSlots(15_000, 75_000, INTERVAL, [undefined, undefined]);
    expect(grant.slots).toEqual([75_000, 76_250]);
  });

  it("refuses a caller whose turn would pass its deadline, and gives that turn to the next caller", () => {
    // Deadlines: the second caller's is before its turn (11,250); the third has none.
    const grant = reserveSlots(undefined, 10_000, INTERVAL, [10_500, 11_000, undefined, 11_250]);
    expect(grant.slots).toEqual([10_000, undefined, 11_250, undefined]);
    expect(grant.tat).toBe(12_500);
    expect(grant.granted).toBe(2);
  });

  it("moves nothing when every caller is refused", () => {
    const grant = reserveSlots(20_000, 10_000, INTERVAL, [15_000, 19_999]);
    expect(grant.slots).toEqual([undefined, undefined]);
    expect(grant.tat).toBe(20_000);
    expect(grant.granted).toBe(0);
  });

  it("reads a tat absurdly far ahead (a clock gone wrong) as free now, not as an hour's wait", () => {
    const grant = reserveSlots(10_000 + MAX_TAT_AHEAD_MS + 1, 10_000, INTERVAL, [undefined]);
    expect(grant.slots).toEqual([10_000]);
  });

  it("keeps every pair of turns from interleaved reservations at least an interval apart", () => {
    // Three "processes" reserve in a random interleaving at random times; the union of their turns obeys the rate.
    let tat: number | undefined;
    let now = 0;
    const turns: number[] = [];
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 300; i++) {
      now += Math.floor(random() * 900);
      const callers = 1 + Math.floor(random() * 3);
      const grant = reserveSlots(tat, now, INTERVAL, Array(callers).fill(undefined));
      tat = grant.tat;
      for (const slot of grant.slots) if (slot !== undefined) turns.push(slot);
    }
    turns.sort((a, b) => a - b);
    expect(Math.min(...turns.slice(1).map((t, i) => t - (turns[i] ?? 0)))).toBeGreaterThanOrEqual(INTERVAL);
  });

  it("refuses a non-positive interval", () => {
    expect(() => reserveSlots(undefined, 0, 0, [undefined])).toThrow(RangeError);
  });
});

describe("reserveFallbackSlots (a process pacing alone while the shared budget is unreachable)", () => {
  it("takes its share of the rate: at 0.1 of 0.8/s, one turn every 12.5 s", () => {
    const grant = reserveFallbackSlots(undefined, 0, 100_000, INTERVAL, 0.1, [undefined, undefined]);
    expect(grant.slots).toEqual([100_000, 112_500]);
    expect(grant.tat).toBe(125_000);
  });

  it("never starts before one fallback interval after a turn still held from the shared budget", () => {
    const grant = reserveFallbackSlots(undefined, 20_000, 10_000, INTERVAL, 0.5, [undefined]);
    expect(grant.slots).toEqual([22_500]);
  });

  it("goes on from its own schedule when that is later than the held turn", () => {
    const grant = reserveFallbackSlots(40_000, 20_000, 10_000, INTERVAL, 0.5, [undefined]);
    expect(grant.slots).toEqual([40_000]);
  });

  it("refuses callers past their deadline, as the shared budget does", () => {
    const grant = reserveFallbackSlots(undefined, 0, 100_000, INTERVAL, 0.1, [undefined, 110_000]);
    expect(grant.slots).toEqual([100_000, undefined]);
    expect(grant.granted).toBe(1);
  });

  it("refuses a share outside (0, 1]", () => {
    expect(() => reserveFallbackSlots(undefined, 0, 0, INTERVAL, 0, [undefined])).toThrow(/share/);
    expect(() => reserveFallbackSlots(undefined, 0, 0, INTERVAL, 1.5, [undefined])).toThrow(/share/);
  });
});

describe("a process's own token bucket", () => {
  it("refills at the rate since it was counted, capped at the burst", () => {
    expect(tokensAt({ tokens: 0, updatedAt: 1_000 }, 1_500, 4, 3)).toBe(2);
    expect(tokensAt({ tokens: 0.5, updatedAt: 1_000 }, 1_250, 2, 3)).toBe(1);
    expect(tokensAt({ tokens: 2, updatedAt: 1_000 }, 10_000, 4, 3)).toBe(3);
  });

  it("keeps what it holds when no time has passed", () => {
    expect(tokensAt({ tokens: 0.25, updatedAt: 5_000 }, 5_000, 10, 1)).toBe(0.25);
  });

  it("makes no caller wait for a token already there", () => {
    expect(tokenWaitMs(1, 0, 5)).toBe(0);
    expect(tokenWaitMs(3, 2, 5)).toBe(0);
  });

  it("makes a caller wait for its own token behind the callers ahead of it", () => {
    // 5/s: a token every 200 ms. Half a token held: the next caller waits 100 ms, the one behind it 300 ms.
    expect(tokenWaitMs(0.5, 0, 5)).toBe(100);
    expect(tokenWaitMs(0.5, 1, 5)).toBe(300);
    expect(tokenWaitMs(0, 4, 1)).toBe(5_000);
  });
});
