/**
 * Client-side rate limiting per Region and operation, so a sweep over many keys stays inside KMS's request
 * quotas (per account and Region) instead of discovering them through ThrottlingException. A token bucket
 * refilled continuously at `ratePerSecond`, holding at most `burst` tokens; callers queue in order.
 */
import { currentDeadline } from "./deadline.js";

export interface RateLimiterOptions {
  /** Requests per second per Region, by KMS operation name; operations not listed are not limited. */
  readonly quotas: Readonly<Record<string, number>>;
  /** Tokens a bucket may hold (1 = strictly even spacing). Defaults to 1. */
  readonly burst?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * The wait for a turn would end after the current work's deadline (lib/kms/deadline.ts): refused at once
 * rather than waited for. Translated to KmsThrottledError, like a throttle from KMS itself.
 */
export class RateLimitDeadlineError extends Error {
  constructor(region: string, operation: string, waitMs: number) {
    super(
      `A turn for ${operation} in ${region} is about ${Math.ceil(waitMs / 1000)} s away, past the deadline.`,
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

export class RateLimiter {
  readonly #quotas: Readonly<Record<string, number>>;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #buckets = new Map<string, Bucket>();

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
  }

  /**
   * Waits until `operation` may be called in `region`. Resolves at once for operations without a quota.
   * Rejects at once with RateLimitDeadlineError when the caller's deadline (currentDeadline) would pass
   * before its turn.
   */
  acquire(region: string, operation: string): Promise<void> {
    const rate = this.#quotas[operation];
    if (rate === undefined) return Promise.resolve();
    const id = `${region}\u0000${operation}`;
    let bucket = this.#buckets.get(id);
    if (bucket === undefined) {
      bucket = { tokens: this.#burst, updatedAt: this.#now(), tail: Promise.resolve(), waiting: 0 };
      this.#buckets.set(id, bucket);
    }
    const own = bucket;
    const deadline = currentDeadline();
    if (deadline !== undefined) {
      const now = this.#now();
      const tokens = Math.min(this.#burst, own.tokens + ((now - own.updatedAt) * rate) / 1000);
      const waitMs = (Math.max(0, own.waiting + 1 - tokens) * 1000) / rate;
      if (now + waitMs > deadline)
        return Promise.reject(new RateLimitDeadlineError(region, operation, waitMs));
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
      bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.updatedAt) * rate) / 1000);
      bucket.updatedAt = now;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return;
      }
      await this.#sleep(Math.ceil(((1 - bucket.tokens) * 1000) / rate));
    }
  }
}
