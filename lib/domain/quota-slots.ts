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
