/**
 * The arithmetic of a shared request budget, kept pure (no I/O, no clock) so it is tested on its own.
 *
 * A budget is a virtual schedule (GCRA, the "generic cell rate algorithm"): one number, `tat`, the earliest
 * time the next call may start. Each call granted takes the slot `max(tat, now)` and moves `tat` on by one
 * interval (1000 / rate ms). So any two calls granted from one budget, by whatever process, start at least
 * one interval apart: the rate holds in every window, not only on average, which is what a quota counted per
 * second (KMS's, https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html) needs.
 * Idle time is not saved up (no burst): a budget left alone for a minute grants its next call at once, and
 * the one after that an interval later.
 */

/**
 * One reservation from a shared budget, as the rate limiter (lib/kms/rate-limiter.ts) asks for it and the
 * budget's adapter (lib/store/dynamo-quota-budget.ts) serves it: slots for callers in order, refusing those
 * past their deadline.
 */
export interface SlotRequest {
  /** The account whose quota it is (KMS counts per account and Region); absent: the deployment's own. */
  readonly account?: string;
  readonly region: string;
  readonly operation: string;
  /** 1000 / the budget's requests per second. */
  readonly intervalMs: number;
  /** One per caller, epoch ms (undefined: no deadline). */
  readonly deadlines: readonly (number | undefined)[];
  /** The limiter's clock (epoch ms). */
  readonly now: () => number;
}

/** What {@link reserveSlots} grants: a start time per caller (undefined = refused, past its deadline). */
export interface SlotGrant {
  /** Epoch ms at which each caller may start, in the callers' order; undefined for a caller refused. */
  readonly slots: readonly (number | undefined)[];
  /** The budget's `tat` after the grant (unchanged when nothing was granted). */
  readonly tat: number | undefined;
  /** How many slots were granted. */
  readonly granted: number;
}

/**
 * A stored `tat` further ahead than this is not a queue but a clock gone wrong (a process whose clock ran
 * far ahead): it is read as "free now" rather than making every caller wait for it.
 */
export const MAX_TAT_AHEAD_MS = 60 * 60 * 1000;

/**
 * Grants slots to callers in order. A caller whose slot would start after its deadline is refused and takes
 * nothing, so the callers behind it get the slot instead (they may have later deadlines).
 * @param tat the budget's stored `tat` (undefined: never used)
 * @param now epoch ms
 * @param intervalMs 1000 / requests per second
 * @param deadlines one per caller, epoch ms (undefined: no deadline)
 */
export function reserveSlots(
  tat: number | undefined,
  now: number,
  intervalMs: number,
  deadlines: readonly (number | undefined)[],
): SlotGrant {
  if (!(Number.isFinite(intervalMs) && intervalMs > 0)) {
    throw new RangeError("intervalMs must be a positive number of milliseconds");
  }
  let next = tat === undefined || tat > now + MAX_TAT_AHEAD_MS ? now : Math.max(tat, now);
  let granted = 0;
  const slots = deadlines.map((deadline) => {
    if (deadline !== undefined && next > deadline) return undefined;
    const slot = next;
    next += intervalMs;
    granted++;
    return slot;
  });
  return { slots, tat: granted === 0 ? tat : next, granted };
}

/**
 * The slots a process grants on its own while the shared budget cannot be reached: the same schedule at
 * `share` of the rate (a longer interval), never starting before one interval (at that rate) after the last
 * turn the process still holds from the shared budget.
 * @param tat the fallback's own schedule (undefined: not used yet)
 * @param heldUntil the last turn held from the shared budget (epoch ms; 0: none)
 * @param share the fraction of the rate the fallback takes, in (0, 1]
 */
export function reserveFallbackSlots(
  tat: number | undefined,
  heldUntil: number,
  now: number,
  intervalMs: number,
  share: number,
  deadlines: readonly (number | undefined)[],
): SlotGrant {
  if (!(share > 0 && share <= 1)) throw new RangeError("share must be greater than 0 and at most 1");
  const fallbackInterval = intervalMs / share;
  return reserveSlots(Math.max(tat ?? 0, heldUntil + fallbackInterval), now, fallbackInterval, deadlines);
}

/**
 * A process's own token bucket (the limiter's pacing of operations not shared across processes): at most
 * `burst` tokens, refilled continuously at `ratePerSecond`, one token a call.
 */
export interface TokenBucket {
  readonly tokens: number;
  /** When `tokens` was counted (epoch ms). */
  readonly updatedAt: number;
}

/** The tokens a bucket holds at `now`: what it held, plus the refill since, capped at `burst`. */
export function tokensAt(bucket: TokenBucket, now: number, ratePerSecond: number, burst: number): number {
  return Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) * ratePerSecond) / 1000);
}

/**
 * How long (ms) until a caller behind `ahead` others gets a token from a bucket holding `tokens` now:
 * 0 when there is one for it already.
 */
export function tokenWaitMs(tokens: number, ahead: number, ratePerSecond: number): number {
  return (Math.max(0, ahead + 1 - tokens) * 1000) / ratePerSecond;
}
