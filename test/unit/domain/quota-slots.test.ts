import { describe, expect, it } from "vitest";
import { MAX_TAT_AHEAD_MS, reserveSlots } from "../../../lib/domain/quota-slots.js";

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
