/**
 * Client-side rate limiting per account, Region and operation, so a sweep over many keys stays inside KMS's request
 * quotas (per account and Region) instead of discovering them through ThrottlingException. A token bucket
 * refilled continuously at `ratePerSecond`, holding at most `burst` tokens; callers queue in order.
 *
 * KMS counts a quota per account and Region, across every caller: Tether's functions (api, sweep,
 * kms-events, each perhaps in several Lambda instances) must share one budget, not each take the whole
 * share. Operations listed in `shared.operations` are therefore paced by a {@link SharedBudget} (the
 * DynamoDB item of lib/store/dynamo-quota-budget.ts) that every process reserves its turns from; this
 * process still queues its own callers in order and hands them the turns it reserved.
 *
 * Every budget is per account and Region, as KMS counts them ("Each quota is calculated independently for each
 * Region of each AWS account", https://docs.aws.amazon.com/kms/latest/developerguide/limits.html): a member
 * account's calls never wait behind another account's, and a throttled member slows only itself. A caller
 * that names no account (a call without a key ARN) is paced in the deployment's own budget for the Region.
 */

import { reserveFallbackSlots, type SlotRequest, tokensAt, tokenWaitMs } from "../domain/quota-slots.js";
import { currentDeadline } from "./deadline.js";

export type { SlotRequest } from "../domain/quota-slots.js";

/**
 * The KMS operations whose quota Tether shares across its functions and instances (the others are paced per
 * process). AWS's defaults per account and Region (DefaultKmsQuotas, from
 * https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html): GetParametersForImport
 * 1/s, the one that bounds a mass restore; ImportKeyMaterial 15/s, which kms-events (up to 10 instances) and
 * the sweep can reach together; DeleteImportedKeyMaterial 15/s and RotateKeyOnDemand 5/s, rare but just as
 * per-account. DescribeKey (2,000/s) stays per process: Tether's share of it (1,600/s) is far above what its
 * capped concurrency sends, and a DynamoDB round trip before every DescribeKey (the probe's, the event
 * path's first call) would cost more than it protects.
 */
export const SHARED_KMS_OPERATIONS = [
  "GetParametersForImport",
  "ImportKeyMaterial",
  "DeleteImportedKeyMaterial",
  "RotateKeyOnDemand",
] as const;

/** One budget's id in this process: account (empty for the deployment's own), Region, operation. */
function budgetId(account: string | undefined, region: string, operation: string): string {
  return `${account ?? ""}\u0000${region}\u0000${operation}`;
}

/**
 * A request budget shared by every process of the deployment, per account, Region and operation (a port: the DynamoDB
 * adapter is lib/store/dynamo-quota-budget.ts). `reserve` grants each caller a start time, in order, no two
 * of any process closer than `intervalMs` (see reserveSlots in lib/domain/quota-slots.ts), or undefined for a caller
 * whose turn would come after its deadline.
 * @throws anything when the budget cannot be reached; the limiter then falls back to a local share
 */
export interface SharedBudget {
  reserve(request: SlotRequest): Promise<readonly (number | undefined)[]>;
}

export interface SharedBudgetOptions {
  readonly budget: SharedBudget;
  /** Which of `quotas`' operations the budget paces (the others stay per process). */
  readonly operations: readonly string[];
  /**
   * While the budget cannot be reached, this process paces a shared operation alone at this fraction of its
   * rate (never unlimited). Default 0.1: with the default share of 0.8, two processes on their fallback at
   * once still keep the whole under AWS's quota on average.
   */
  readonly fallbackShare?: number;
  /** How long after a failure the fallback is used before the budget is tried again. Default 5 s. */
  readonly fallbackMs?: number;
  /**
   * Reserve turns at most this far ahead (ms) in one round trip, holding them in-process: a busy process
   * reserves floor(horizonMs / interval) turns at once (ImportKeyMaterial at 12/s: 12 per round trip), and
   * never holds turns much further ahead than this, so other processes are not starved. Default 1000.
   */
  readonly horizonMs?: number;
  readonly log?: (level: "info" | "warn" | "error", message: string, fields: Record<string, unknown>) => void;
}

export interface RateLimiterOptions {
  /**
   * Requests per second per account and Region, by KMS operation name; operations not listed are not limited.
   */
  readonly quotas: Readonly<Record<string, number>>;
  /** Tokens a bucket may hold (1 = strictly even spacing). Defaults to 1. */
  readonly burst?: number;
  /**
   * Real time (epoch ms), not the functions' injected clock: KMS counts its quotas in real seconds, and the
   * local runner's clock (the emulator's, real time plus an offset a test moves by days) would turn a clock
   * move into a burst or a stall. Injected by tests only.
   */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Operations paced by a budget shared with the deployment's other processes (absent: all per process). */
  readonly shared?: SharedBudgetOptions;
}

/**
 * The wait for a turn would end after the current work's deadline (lib/kms/deadline.ts): refused at once
 * rather than waited for. Translated to KmsThrottledError, like a throttle from KMS itself.
 */
export class RateLimitDeadlineError extends Error {
  /** @param waitMs how far away the turn is, when known */
  constructor(region: string, operation: string, waitMs?: number, account?: string) {
    const where = account === undefined ? region : `${region} (account ${account})`;
    super(
      waitMs === undefined
        ? `The next turn for ${operation} in ${where} that Tether's shared quota budget has is past the deadline.`
        : `A turn for ${operation} in ${where} is about ${Math.ceil(waitMs / 1000)} s away, past the deadline.`,
    );
    this.name = "RateLimitDeadlineError";
  }
}

interface Bucket {
  tokens: number;
  updatedAt: number;
  /** Callers queued and not yet served: how long a new caller would wait. */
  waiting: number;
  /** The tail of the queue of callers waiting on this bucket. */
  tail: Promise<void>;
}

interface Waiter {
  readonly deadline: number | undefined;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** This process's queue for one shared (account, Region, operation) budget. */
interface SharedQueue {
  /** undefined: the deployment's own account (a caller that named none). */
  readonly account: string | undefined;
  readonly region: string;
  readonly operation: string;
  readonly intervalMs: number;
  readonly waiters: Waiter[];
  pumping: boolean;
  /** The last turn this process holds (epoch ms): a new caller waits at least until after it. */
  heldUntil: number;
  /** Until when the fallback paces this budget (epoch ms); 0 = use the shared budget. */
  fallbackUntil: number;
  /** The fallback's own schedule (quota-slots' tat). */
  fallbackTat: number | undefined;
}

export class RateLimiter {
  readonly #quotas: Readonly<Record<string, number>>;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #buckets = new Map<string, Bucket>();
  readonly #shared:
    | (Required<Omit<SharedBudgetOptions, "log" | "operations">> &
        Pick<SharedBudgetOptions, "log"> & { operations: ReadonlySet<string> })
    | undefined;
  readonly #queues = new Map<string, SharedQueue>();

  constructor(options: RateLimiterOptions) {
    for (const [operation, rate] of Object.entries(options.quotas)) {
      if (!(Number.isFinite(rate) && rate > 0)) {
        throw new RangeError(`quota for ${operation} must be a positive number of requests per second`);
      }
    }
    this.#quotas = options.quotas;
    this.#burst = options.burst ?? 1;
    if (!(this.#burst >= 1)) throw new RangeError("burst must be at least 1");
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    const shared = options.shared;
    if (shared !== undefined) {
      const fallbackShare = shared.fallbackShare ?? 0.1;
      if (!(fallbackShare > 0 && fallbackShare <= 1)) {
        throw new RangeError("fallbackShare must be greater than 0 and at most 1");
      }
      const horizonMs = shared.horizonMs ?? 1000;
      if (!(horizonMs >= 0)) throw new RangeError("horizonMs must not be negative");
      const fallbackMs = shared.fallbackMs ?? 5000;
      if (!(fallbackMs >= 0)) throw new RangeError("fallbackMs must not be negative");
      this.#shared = {
        budget: shared.budget,
        operations: new Set(shared.operations),
        fallbackShare,
        fallbackMs,
        horizonMs,
        ...(shared.log === undefined ? {} : { log: shared.log }),
      };
    }
  }

  /**
   * Waits until `operation` may be called in `region` of `account` (absent: the deployment's own account).
   * Resolves at once for operations without a quota. Rejects at once with RateLimitDeadlineError when the
   * caller's deadline (currentDeadline) would pass before its turn.
   */
  acquire(region: string, operation: string, account?: string): Promise<void> {
    const rate = this.#quotas[operation];
    if (rate === undefined) return Promise.resolve();
    if (this.#shared?.operations.has(operation)) return this.#acquireShared(account, region, operation, rate);
    const id = budgetId(account, region, operation);
    let bucket = this.#buckets.get(id);
    if (bucket === undefined) {
      bucket = { tokens: this.#burst, updatedAt: this.#now(), tail: Promise.resolve(), waiting: 0 };
      this.#buckets.set(id, bucket);
    }
    const own = bucket;
    const deadline = currentDeadline();
    if (deadline !== undefined) {
      const now = this.#now();
      const waitMs = tokenWaitMs(tokensAt(own, now, rate, this.#burst), own.waiting, rate);
      if (now + waitMs > deadline)
        return Promise.reject(new RateLimitDeadlineError(region, operation, waitMs, account));
    }
    own.waiting++;
    const turn = own.tail
      .then(() => this.#take(own, rate))
      .finally(() => {
        own.waiting--;
      });
    own.tail = turn.catch(() => undefined);
    return turn;
  }

  async #take(bucket: Bucket, rate: number): Promise<void> {
    for (;;) {
      const now = this.#now();
      bucket.tokens = tokensAt(bucket, now, rate, this.#burst);
      bucket.updatedAt = now;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return;
      }
      await this.#sleep(Math.ceil(tokenWaitMs(bucket.tokens, 0, rate)));
    }
  }

  #acquireShared(account: string | undefined, region: string, operation: string, rate: number) {
    const id = budgetId(account, region, operation);
    let queue = this.#queues.get(id);
    if (queue === undefined) {
      queue = {
        account,
        region,
        operation,
        intervalMs: 1000 / rate,
        waiters: [],
        pumping: false,
        heldUntil: 0,
        fallbackUntil: 0,
        fallbackTat: undefined,
      };
      this.#queues.set(id, queue);
    }
    const own = queue;
    const deadline = currentDeadline();
    if (deadline !== undefined) {
      // A lower bound on the wait (this process's own queue alone): refused at once if even that is too long.
      // The budget refuses the rest after its round trip, when other processes' turns are known.
      const now = this.#now();
      const earliest = Math.max(now, own.heldUntil + own.intervalMs) + own.waiters.length * own.intervalMs;
      if (earliest > deadline) {
        return Promise.reject(new RateLimitDeadlineError(region, operation, earliest - now, account));
      }
    }
    return new Promise<void>((resolve, reject) => {
      own.waiters.push({ deadline, resolve, reject });
      if (!own.pumping) {
        own.pumping = true;
        void this.#pump(own).finally(() => {
          own.pumping = false;
        });
      }
    });
  }

  /** Serves a shared queue's waiters in order, a batch per reservation, until it is empty. */
  async #pump(queue: SharedQueue): Promise<void> {
    const shared = this.#shared;
    if (shared === undefined) return;
    const maxBatch = Math.max(1, Math.floor(shared.horizonMs / queue.intervalMs));
    while (queue.waiters.length > 0) {
      // Hold turns at most `horizonMs` ahead: wait until the last one held is that close.
      const ahead = queue.heldUntil - shared.horizonMs - this.#now();
      if (ahead > 0) {
        await this.#sleep(Math.ceil(ahead));
        continue;
      }
      const batch = queue.waiters.splice(0, maxBatch);
      const deadlines = batch.map((w) => w.deadline);
      let slots: readonly (number | undefined)[];
      try {
        slots = await this.#reserve(queue, deadlines);
      } catch (error) {
        for (const waiter of batch) waiter.reject(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      const now = this.#now();
      batch.forEach((waiter, i) => {
        const slot = slots[i];
        if (slot === undefined) {
          waiter.reject(new RateLimitDeadlineError(queue.region, queue.operation, undefined, queue.account));
          return;
        }
        queue.heldUntil = Math.max(queue.heldUntil, slot);
        // Whole milliseconds, rounded up: a timer never fires before its turn.
        if (slot <= now) waiter.resolve();
        else void this.#sleep(Math.ceil(slot - now)).then(waiter.resolve);
      });
    }
  }

  /** Turns from the shared budget; while it cannot be reached, from the conservative local fallback. */
  async #reserve(queue: SharedQueue, deadlines: readonly (number | undefined)[]) {
    const shared = this.#shared;
    if (shared === undefined) throw new Error("no shared budget");
    if (this.#now() >= queue.fallbackUntil) {
      try {
        const slots = await shared.budget.reserve({
          ...(queue.account === undefined ? {} : { account: queue.account }),
          region: queue.region,
          operation: queue.operation,
          intervalMs: queue.intervalMs,
          deadlines,
          now: this.#now,
        });
        if (queue.fallbackUntil !== 0) {
          queue.fallbackUntil = 0;
          shared.log?.("info", "KMS quota budget reachable again", {
            account: queue.account,
            region: queue.region,
            operation: queue.operation,
          });
        }
        return slots;
      } catch (error) {
        if (queue.fallbackUntil === 0) {
          shared.log?.("warn", "KMS quota budget unreachable: pacing on a local fallback share", {
            account: queue.account,
            region: queue.region,
            operation: queue.operation,
            requestsPerSecond: (1000 / queue.intervalMs) * shared.fallbackShare,
            errorName: error instanceof Error ? error.name : typeof error,
          });
        }
        queue.fallbackUntil = this.#now() + shared.fallbackMs;
      }
    }
    const grant = reserveFallbackSlots(
      queue.fallbackTat,
      queue.heldUntil,
      this.#now(),
      queue.intervalMs,
      shared.fallbackShare,
      deadlines,
    );
    queue.fallbackTat = grant.tat;
    return grant.slots;
  }
}
