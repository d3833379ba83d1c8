/**
 * The console's fleet and timeline, as plain data: one row per key × Region from the API's answers, the
 * filters, the sort, and what the timeline draws. No DOM and no I/O, so the page and the tests share it.
 */
import type { KeyDetailResponse, KeyView } from "../api/response-schemas.js";
import { DAY_MS, parseDuration } from "../domain/duration.js";

export type PlannedAction = KeyDetailResponse["regions"][number]["nextAction"];

export interface FleetRow {
  readonly keyId: string;
  readonly alias: string | undefined;
  readonly region: string;
  readonly status: string;
  readonly validTo: string | undefined;
  readonly nextCheckAt: string;
  /** From GET /keys/{id}, once the page has fetched it. */
  readonly nextAction: PlannedAction | undefined;
  readonly failing: boolean;
  /** The last thing that happened in the Region, in words. */
  readonly lastOutcome: string;
  readonly renewBeforeMs: number | undefined;
}

/** One row per key × Region; `details` holds the answers of GET /keys/{id} fetched so far. */
export function fleetRows(
  keys: readonly KeyView[],
  details: ReadonlyMap<string, KeyDetailResponse>,
): FleetRow[] {
  return keys.flatMap((key) =>
    key.regions.map((region) => {
      const detail = details.get(key.id)?.regions.find((r) => r.region === region.region);
      return {
        keyId: key.id,
        alias: key.alias,
        region: region.region,
        status: key.status.state,
        validTo: region.importedValidTo,
        nextCheckAt: region.nextCheckAt,
        nextAction: detail?.nextAction,
        failing: region.consecutiveFailures > 0,
        lastOutcome: lastOutcome(region),
        renewBeforeMs: renewBefore(key),
      };
    }),
  );
}

function lastOutcome(region: KeyView["regions"][number]): string {
  if (region.consecutiveFailures > 0) {
    return `failing ×${region.consecutiveFailures}${region.lastFailure ? `: ${region.lastFailure}` : ""}`;
  }
  if (region.lossCause !== undefined) return `material lost (${region.lossCause})`;
  if (region.lastImportedAt !== undefined) return `imported ${region.lastImportedAt}`;
  return "not imported yet";
}

function renewBefore(key: KeyView): number | undefined {
  if (key.policy.renewBefore === undefined) return undefined;
  try {
    return parseDuration(key.policy.renewBefore, "renewBefore");
  } catch {
    return undefined;
  }
}

export interface FleetFilter {
  readonly status?: string | undefined;
  readonly region?: string | undefined;
  /** Only rows whose ValidTo is within this many days of now (or already past). */
  readonly expiringWithinDays?: number | undefined;
  readonly failingOnly?: boolean | undefined;
}

export function filterRows(rows: readonly FleetRow[], filter: FleetFilter, now: Date): FleetRow[] {
  return rows.filter((row) => {
    if (filter.status && row.status !== filter.status) return false;
    if (filter.region && row.region !== filter.region) return false;
    if (filter.failingOnly && !row.failing) return false;
    if (filter.expiringWithinDays !== undefined) {
      if (row.validTo === undefined) return false;
      if (Date.parse(row.validTo) > now.getTime() + filter.expiringWithinDays * DAY_MS) return false;
    }
    return true;
  });
}

export const SORT_COLUMNS = ["key", "region", "status", "validTo", "nextAction", "lastOutcome"] as const;
export type SortColumn = (typeof SORT_COLUMNS)[number];

function sortValue(row: FleetRow, column: SortColumn): string {
  switch (column) {
    case "key":
      return row.alias ?? row.keyId;
    case "region":
      return row.region;
    case "status":
      return row.status;
    case "validTo":
      // No ValidTo (material that does not expire) sorts last.
      return row.validTo ?? "~";
    case "nextAction":
      return row.nextAction?.at ?? row.nextCheckAt;
    case "lastOutcome":
      return row.lastOutcome;
  }
}

/** By code unit, not locale: ISO times compare as times, and "~" (no ValidTo) after every digit. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortRows(rows: readonly FleetRow[], column: SortColumn, ascending: boolean): FleetRow[] {
  const sign = ascending ? 1 : -1;
  return [...rows].sort((a, b) => {
    const order = compare(sortValue(a, column), sortValue(b, column));
    return order !== 0 ? sign * order : compare(`${a.keyId}/${a.region}`, `${b.keyId}/${b.region}`);
  });
}

export interface TimelineLane {
  readonly keyId: string;
  readonly label: string;
  readonly region: string;
  /** Days from now (may be negative: already past) or undefined when not in the window. */
  readonly validToDay: number | undefined;
  readonly renewalDay: number | undefined;
  /** The renewal would come later than the policy allows: at or after ValidTo, or the Region is failing. */
  readonly renewalLate: boolean;
  readonly failing: boolean;
  readonly revoked: boolean;
}

/**
 * What the expiry timeline draws for the next `days` days: a lane per key × Region with a ValidTo or a
 * planned renewal in the window (or failing or revoked), soonest first. The planned renewal is when the
 * renew window opens (ValidTo − renewBefore) or, if later, when the sweep next looks at the Region.
 */
export function timelineLanes(rows: readonly FleetRow[], now: Date, days = 90): TimelineLane[] {
  const day = (iso: string | undefined) =>
    iso === undefined ? undefined : (Date.parse(iso) - now.getTime()) / DAY_MS;
  const lanes = rows.map((row): TimelineLane => {
    const validToDay = day(row.validTo);
    const revoked = row.status === "revoked";
    let renewalDay: number | undefined;
    let windowOpen = false;
    if (validToDay !== undefined && row.renewBeforeMs !== undefined && !revoked && row.status !== "paused") {
      const opens = validToDay - row.renewBeforeMs / DAY_MS;
      windowOpen = opens <= 0;
      renewalDay = Math.max(opens, day(row.nextAction?.at ?? row.nextCheckAt) ?? opens);
    }
    // Late: the renewal would come at or after ValidTo, or its window is open and the Region is failing.
    const renewalLate =
      renewalDay !== undefined &&
      validToDay !== undefined &&
      (renewalDay >= validToDay || (row.failing && windowOpen));
    return {
      keyId: row.keyId,
      label: `${row.alias ?? row.keyId} · ${row.region}`,
      region: row.region,
      validToDay,
      renewalDay,
      renewalLate,
      failing: row.failing,
      revoked,
    };
  });
  const inWindow = (d: number | undefined) => d !== undefined && d <= days;
  return lanes
    .filter((lane) => inWindow(lane.validToDay) || inWindow(lane.renewalDay) || lane.failing || lane.revoked)
    .sort((a, b) => (a.validToDay ?? Number.POSITIVE_INFINITY) - (b.validToDay ?? Number.POSITIVE_INFINITY));
}
