/**
 * When the sweep may skip a priority band of the due-work index without reading it. Pure: the store
 * (lib/store/due-band-marks.ts) keeps one small item with a mark per sparse band and asks these rules.
 *
 * Each band is 16 shards, one Query each; a sweep with nothing due would otherwise send 16 empty Queries per
 * band on every run, 64 in all, though the critical, high and low bands are usually nearly empty. A sparse
 * band's mark says:
 *   touchedAt   the last time anything filed a Region in the band or moved one's due time (every such write
 *               sets it, before its own write, and clears quietUntil);
 *   quietUntil  nothing in the band is due before this (set by a sweep that looked ahead and found the band's
 *               earliest due time; absent: the band must be read).
 * The normal band has no mark: it holds most Regions, and a mark every save wrote would be one hot item.
 *
 * A sweep sets quietUntil only on condition that the band was not touched within QUIET_MARGIN_MS: the index
 * it looked ahead in is eventually consistent, and a writer's own write follows its touch at once (the next
 * request); a touch that old belongs to a write the index shows (a function runs 15 minutes at most), and a
 * writer that stops between its touch and its write leaves only a mark lifted for nothing — so quietUntil
 * never hides a Region, and the order of service is unchanged: a band with nothing due gives nothing either
 * way.
 */
import { PRIORITIES, Priority } from "./import-policy.js";

/** The bands with a mark: every priority but normal. */
export const SPARSE_BANDS: readonly Priority[] = PRIORITIES.filter((p) => p !== Priority.Normal);

/**
 * How old a band's last touch must be before a sweep may mark the band quiet: Lambda's longest timeout
 * (900 s, https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html), so a writer that touched
 * the band has finished its write by then, and that write has long reached the index (reads of a global
 * secondary index are eventually consistent,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html; writes
 * reach it within about a second, https://repost.aws/knowledge-center/dynamodb-missing-table-items-gsi).
 */
export const QUIET_MARGIN_MS = 15 * 60 * 1000;

/** quietUntil of a band found empty: until something touches it. */
export const QUIET_FOR_GOOD = Number.MAX_SAFE_INTEGER;

export interface BandMark {
  /** Epoch ms of the last touch; undefined when never touched since marks exist. */
  readonly touchedAt?: number | undefined;
  /** Epoch ms before which nothing in the band is due; undefined: unknown. */
  readonly quietUntil?: number | undefined;
}

/** Whether the band is a sparse one, with a mark. */
export function isSparseBand(priority: Priority): boolean {
  return SPARSE_BANDS.includes(priority);
}

/** Whether a sweep at `now` must read the band (a normal band always; a sparse one unless quiet until after now). */
export function mustReadBand(priority: Priority, mark: BandMark | undefined, now: number): boolean {
  if (!isSparseBand(priority)) return true;
  return mark?.quietUntil === undefined || mark.quietUntil <= now;
}

/**
 * Whether a sweep that found nothing due in a sparse band should look ahead for its earliest due time, to
 * mark it quiet: not when it is quiet already, and not while a recent touch would refuse the mark anyway.
 */
export function shouldLookAhead(priority: Priority, mark: BandMark | undefined, now: number): boolean {
  if (!isSparseBand(priority) || !mustReadBand(priority, mark, now)) return false;
  return mark?.touchedAt === undefined || mark.touchedAt <= now - QUIET_MARGIN_MS;
}

/**
 * The quietUntil a look-ahead earns: the band's earliest due time when that is after now, QUIET_FOR_GOOD for
 * an empty band; undefined when something is due already (nothing to mark).
 * @param earliest the smallest due time in the band (epoch ms), undefined when the band holds nothing
 */
export function quietUntil(earliest: number | undefined, now: number): number | undefined {
  if (earliest === undefined) return QUIET_FOR_GOOD;
  return earliest > now ? earliest : undefined;
}

/** The oldest touch that still refuses a quiet mark set at `now`. */
export function quietCutoff(now: number): number {
  return now - QUIET_MARGIN_MS;
}
