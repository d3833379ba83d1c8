import { ValidationError } from "./errors.js";

/**
 * ISO 8601 durations limited to weeks, days, hours, minutes and seconds (`P30D`, `PT1H`, `PT15M`,
 * `P1DT12H`). Years and months are refused: their length depends on the calendar, and a ValidTo limit
 * of 365 days must not silently become 366.
 */
const DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;

/**
 * Parses an ISO 8601 duration into milliseconds.
 * @throws ValidationError (field as given) when it is not a positive W/D/H/M/S duration
 */
export function parseDuration(value: unknown, field: string): number {
  const match = typeof value === "string" ? DURATION.exec(value) : null;
  if (match === null || value === "P" || (typeof value === "string" && value.endsWith("T"))) {
    throw new ValidationError(
      field,
      "must be an ISO 8601 duration in weeks, days, hours, minutes or seconds, e.g. P30D, PT1H, PT15M",
    );
  }
  const [, weeks, days, hours, minutes, seconds] = match;
  const ms =
    Number(weeks ?? 0) * WEEK_MS +
    Number(days ?? 0) * DAY_MS +
    Number(hours ?? 0) * HOUR_MS +
    Number(minutes ?? 0) * MINUTE_MS +
    Number(seconds ?? 0) * SECOND_MS;
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new ValidationError(field, "must be longer than zero and of a sane size");
  }
  return ms;
}

/** Formats milliseconds (whole seconds) as the shortest ISO 8601 duration in days, hours, minutes, seconds. */
export function formatDuration(ms: number): string {
  let rest = Math.floor(ms / SECOND_MS);
  const days = Math.floor(rest / 86_400);
  rest -= days * 86_400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const seconds = rest - minutes * 60;
  const time = `${hours ? `${hours}H` : ""}${minutes ? `${minutes}M` : ""}${seconds ? `${seconds}S` : ""}`;
  const date = days ? `${days}D` : "";
  if (!date && !time) return "PT0S";
  return `P${date}${time ? `T${time}` : ""}`;
}
