import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { reserveSlots } from "../../../lib/domain/quota-slots.js";
import { withDeadline } from "../../../lib/kms/deadline.js";
import {
  RateLimitDeadlineError,
  RateLimiter,
  type SharedBudget,
  type SlotRequest,
} from "../../../lib/kms/rate-limiter.js";

/**
 * The limiter's shared path with an in-memory budget (the same arithmetic the DynamoDB budget runs) standing
 * for the table, and vitest's fake clock: several limiters are several processes sharing one budget.
 */
class MemoryBudget implements SharedBudget {
  readonly tat = new Map<string, number | undefined>();
  readonly reservations: SlotRequest[] = [];
  failing: Error | undefined;
  async reserve(request: SlotRequest) {
    this.reservations.push(request);
    await Promise.resolve();
    if (this.failing !== undefined) throw this.failing;
    const id = `${request.region}/${request.operation}`;
    const grant = reserveSlots(this.tat.get(id), request.now(), request.intervalMs, request.deadlines);
    this.tat.set(id, grant.tat);
    return grant.slots;
  }
}

const GPFI = "GetParametersForImport";
/** Time between consecutive calls. */
const gaps = (times: readonly number[]): number[] => times.slice(1).map((t, i) => t - (times[i] ?? 0));
const REGION = "eu-west-1";
const T0 = 1_000_000;

function limiter(budget: SharedBudget, log?: (level: string, message: string) => void, rate = 0.8) {
  return new RateLimiter({
    quotas: { [GPFI]: rate, ImportKeyMaterial: 12, DescribeKey: 1600 },
    shared: {
      budget,
      operations: [GPFI, "ImportKeyMaterial"],
      ...(log === undefined ? {} : { log }),
    },
  });
}

/** Starts `count` acquires and records when each is served (fake time). */
function served(l: RateLimiter, count: number, operation = GPFI): { times: number[]; all: Promise<unknown> } {
  const times: number[] = [];
  const all = Promise.all(
    Array.from({ length: count }, () => l.acquire(REGION, operation).then(() => times.push(Date.now() - T0))),
  );
  return { times, all };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe("RateLimiter with a shared budget", () => {
  it("three processes at once share one 0.8/s: every two calls 1,250 ms apart, none sooner", async () => {
    const budget = new MemoryBudget();
    const processes = [limiter(budget), limiter(budget), limiter(budget)];
    const runs = processes.map((l) => served(l, 4));
    await vi.advanceTimersByTimeAsync(20_000);
    await Promise.all(runs.map((r) => r.all));
    const all = runs.flatMap((r) => r.times).sort((a, b) => a - b);
    expect(all).toHaveLength(12);
    expect(Math.min(...gaps(all))).toBeGreaterThanOrEqual(1250);
    // 12 calls at 0.8/s: the last at 11 × 1,250 ms, not a third of that as three unshared limiters allowed.
    expect(all.at(-1)).toBe(13_750);
  });

  it("serves one process's callers in the order they came", async () => {
    const budget = new MemoryBudget();
    const l = limiter(budget);
    const order: number[] = [];
    const all = Promise.all([0, 1, 2, 3].map((i) => l.acquire(REGION, GPFI).then(() => order.push(i))));
    await vi.advanceTimersByTimeAsync(10_000);
    await all;
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it("reserves a busy process's turns in batches: ImportKeyMaterial at 12/s, 12 per round trip", async () => {
    const budget = new MemoryBudget();
    const l = limiter(budget);
    const run = served(l, 120, "ImportKeyMaterial");
    await vi.advanceTimersByTimeAsync(20_000);
    await run.all;
    expect(run.times.at(-1)).toBe(Math.ceil(119 * (1000 / 12)));
    // 120 turns: the first alone (the others had not queued yet), then batches of 12.
    expect(budget.reservations.length).toBeLessThanOrEqual(12);
    // GetParametersForImport at 0.8/s holds no turn ahead: one reservation per turn.
    const gpfi = served(l, 5);
    await vi.advanceTimersByTimeAsync(10_000);
    await gpfi.all;
    expect(budget.reservations.filter((r) => r.operation === GPFI)).toHaveLength(5);
  });

  it("leaves per-process operations (DescribeKey) off the budget", async () => {
    const budget = new MemoryBudget();
    const l = limiter(budget);
    await l.acquire(REGION, "DescribeKey");
    await l.acquire(REGION, "Encrypt");
    expect(budget.reservations).toHaveLength(0);
  });

  it("refuses at the deadline: at once when its own queue is too long, after the round trip when others hold the turns", async () => {
    const budget = new MemoryBudget();
    const other = limiter(budget);
    const l = limiter(budget);
    // Another process, busy, holds the turns at 0 and 1,250 ms (it reserves up to a second ahead): the
    // next turn is at 2,500 ms, after this caller's deadline, which its own (empty) queue could not tell.
    const held = served(other, 4);
    await vi.advanceTimersByTimeAsync(1);
    const outcome = withDeadline(T0 + 2_000, () =>
      l.acquire(REGION, GPFI).then(
        () => "served",
        (error: Error) => error.name,
      ),
    );
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await outcome).toBe("RateLimitDeadlineError");
    await held.all;
    // Its own queue: three callers queued at 0.8/s, a fourth with 2 s left is refused before any round trip.
    const mine = served(l, 3);
    const before = budget.reservations.length;
    const refused = withDeadline(Date.now() + 2_000, () => l.acquire(REGION, GPFI)).catch((e: Error) => e);
    expect(await refused).toBeInstanceOf(RateLimitDeadlineError);
    expect(budget.reservations.length).toBeLessThanOrEqual(before + 1);
    await vi.advanceTimersByTimeAsync(10_000);
    await mine.all;
  });

  it("falls back to a tenth of the rate, logged once, when the budget fails, and returns to it after", async () => {
    const budget = new MemoryBudget();
    budget.failing = Object.assign(new Error("throttled"), {
      name: "ProvisionedThroughputExceededException",
    });
    const logs: string[] = [];
    const l = limiter(budget, (level, message) => logs.push(`${level}: ${message}`));
    const run = served(l, 3);
    await vi.advanceTimersByTimeAsync(60_000);
    await run.all;
    // 0.8/s × 0.1 = one call every 12.5 s: never unlimited.
    expect(run.times).toEqual([0, 12_500, 25_000]);
    expect(logs.filter((m) => m.startsWith("warn"))).toHaveLength(1);
    budget.failing = undefined;
    const after = served(l, 2);
    await vi.advanceTimersByTimeAsync(60_000);
    await after.all;
    expect(logs.at(-1)).toMatch(/^info: KMS quota budget reachable again/);
    expect(gaps(after.times)).toEqual([1250]);
  });
});
