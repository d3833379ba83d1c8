/**
 * The emulator's CloudTrail: the records of KMS calls, each delivered to EventBridge (the bus of its
 * Region, as `AWS API Call via CloudTrail` / `AWS Service Event via CloudTrail`) and shown by
 * LookupEvents only once its delay has passed on the emulator clock, so advancing the clock delivers.
 *
 * Two pipelines, two switches, because AWS has two: EventBridge receives CloudTrail events best
 * effort and only where a trail logs them ("To record events with a detail-type value of AWS API Call
 * via CloudTrail, a CloudTrail trail with logging enabled is required",
 * https://docs.aws.amazon.com/eventbridge/latest/ref/events.html), while the event history that
 * LookupEvents reads needs no trail and holds 90 days of management events
 * (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/view-cloudtrail-events.html).
 * So `drop`/`dropRate` drop EventBridge deliveries only; `lookupDrop`/`lookupDropRate` keep records
 * out of the event history. `lookupDelayMs` defaults to `delayMs`.
 */
import { randomUUID } from "node:crypto";
import type { ServiceEvent } from "../events.js";
import type { TrailRecord } from "./records.js";

export interface CloudTrailConfig {
  /** Delay before a record is delivered to EventBridge, in emulator-clock ms. */
  readonly delayMs: number;
  /** Probability (0..1) that a record never reaches EventBridge. */
  readonly dropRate: number;
  /** Delay before a record shows in LookupEvents; follows `delayMs` unless set. */
  readonly lookupDelayMs: number;
  /** Probability (0..1) that a record never shows in LookupEvents. */
  readonly lookupDropRate: number;
}

/** What `PUT /_admin/cloudtrail` takes: any subset; `drop: true` means `dropRate: 1`. */
export interface CloudTrailSettings {
  delayMs?: number;
  dropRate?: number;
  drop?: boolean;
  lookupDelayMs?: number;
  lookupDropRate?: number;
  lookupDrop?: boolean;
}

export const DEFAULT_CLOUDTRAIL_CONFIG: CloudTrailConfig = {
  delayMs: 3000,
  dropRate: 0,
  lookupDelayMs: 3000,
  lookupDropRate: 0,
};

/**
 * The event history kept per emulator (oldest dropped first; AWS keeps 90 days). Bounded so a long
 * `npm start` or a soak does not grow without end: some 2 KB a record, so at most about 40 MB.
 */
export const HISTORY_LIMIT = 20_000;
const HISTORY_DAYS_MS = 90 * 24 * 60 * 60 * 1000;

export class CloudTrailSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CloudTrailSettingsError";
  }
}

interface Stored {
  readonly record: TrailRecord;
  readonly sequence: number;
  readonly deliverAt: number;
  readonly lookupAt: number;
  readonly dropped: boolean;
  delivered: boolean;
  readonly inHistory: boolean;
}

/** A record as the admin interface shows it. */
export interface TrailEntry {
  readonly eventId: string;
  readonly eventName: string;
  readonly region: string;
  readonly detailType: string;
  readonly eventTime: string;
  readonly deliverAt: string;
  readonly delivered: boolean;
  readonly dropped: boolean;
  readonly lookupAt: string;
  readonly inHistory: boolean;
  readonly detail: Record<string, unknown>;
}

function rate(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new CloudTrailSettingsError(`${field} must be a number from 0 to 1`);
  }
  return value;
}

function delay(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new CloudTrailSettingsError(`${field} must be a number of milliseconds, 0 or more`);
  }
  return value;
}

export class CloudTrail {
  private config: CloudTrailConfig = DEFAULT_CLOUDTRAIL_CONFIG;
  private lookupDelayFollows = true;
  private stored: Stored[] = [];
  /** Records still to deliver: scanned on every call, so kept apart from the (long) history. */
  private undelivered: Stored[] = [];
  private sequence = 0;

  constructor(private readonly random: () => number = Math.random) {}

  settings(): CloudTrailConfig {
    return { ...this.config };
  }

  /**
   * Changes the settings for records made from now on.
   * @throws CloudTrailSettingsError naming the bad field
   */
  configure(settings: CloudTrailSettings): CloudTrailConfig {
    const known = ["delayMs", "dropRate", "drop", "lookupDelayMs", "lookupDropRate", "lookupDrop"];
    for (const field of Object.keys(settings)) {
      if (!known.includes(field))
        throw new CloudTrailSettingsError(`unknown setting ${field} (known: ${known.join(", ")})`);
    }
    const next = { ...this.config };
    if (settings.delayMs !== undefined) next.delayMs = delay(settings.delayMs, "delayMs");
    if (settings.lookupDelayMs !== undefined) {
      next.lookupDelayMs = delay(settings.lookupDelayMs, "lookupDelayMs");
      this.lookupDelayFollows = false;
    } else if (this.lookupDelayFollows) next.lookupDelayMs = next.delayMs;
    if (settings.dropRate !== undefined) next.dropRate = rate(settings.dropRate, "dropRate");
    if (settings.lookupDropRate !== undefined)
      next.lookupDropRate = rate(settings.lookupDropRate, "lookupDropRate");
    for (const [flag, field] of [
      ["drop", "dropRate"],
      ["lookupDrop", "lookupDropRate"],
    ] as const) {
      const value = settings[flag];
      if (value === undefined) continue;
      if (typeof value !== "boolean") throw new CloudTrailSettingsError(`${flag} must be true or false`);
      next[field] = value ? 1 : 0;
    }
    this.config = next;
    return this.settings();
  }

  /** Back to the defaults; the history is kept (see clear). */
  resetSettings(): void {
    this.config = DEFAULT_CLOUDTRAIL_CONFIG;
    this.lookupDelayFollows = true;
  }

  clear(): void {
    this.stored = [];
    this.undelivered = [];
  }

  /** Keeps a record; its fate (delays, drops) is decided now, with the settings of now. */
  add(record: TrailRecord): void {
    const dropped = this.config.dropRate > 0 && this.random() < this.config.dropRate;
    const hidden = this.config.lookupDropRate > 0 && this.random() < this.config.lookupDropRate;
    const stored: Stored = {
      record,
      sequence: this.sequence++,
      deliverAt: record.eventTime + this.config.delayMs,
      lookupAt: record.eventTime + this.config.lookupDelayMs,
      dropped,
      delivered: false,
      inHistory: !hidden,
    };
    this.stored.push(stored);
    if (!dropped) this.undelivered.push(stored);
    if (this.stored.length > HISTORY_LIMIT) this.stored.splice(0, this.stored.length - HISTORY_LIMIT);
  }

  /** Delivers every record due by `now`, oldest first. Returns how many. */
  deliverDue(now: number, deliver: (event: ServiceEvent) => void): number {
    let count = 0;
    if (this.undelivered.length === 0) return 0;
    const due = this.undelivered.filter((s) => s.deliverAt <= now);
    if (due.length === 0) return 0;
    this.undelivered = this.undelivered.filter((s) => s.deliverAt > now);
    due.sort((a, b) => a.deliverAt - b.deliverAt || a.sequence - b.sequence);
    for (const item of due) {
      item.delivered = true;
      deliver(envelope(item.record));
      count += 1;
    }
    return count;
  }

  /** The records LookupEvents may show in `region` at `now`, newest first. */
  history(region: string, now: number): TrailRecord[] {
    return this.stored
      .filter((s) => s.inHistory && s.record.region === region && s.lookupAt <= now)
      .filter((s) => s.record.eventTime >= now - HISTORY_DAYS_MS)
      .sort((a, b) => b.record.eventTime - a.record.eventTime || b.sequence - a.sequence)
      .map((s) => s.record);
  }

  /** Every record, for the admin interface. */
  entries(): TrailEntry[] {
    return this.stored.map((s) => ({
      eventId: s.record.eventId,
      eventName: s.record.eventName,
      region: s.record.region,
      detailType: s.record.detailType,
      eventTime: new Date(s.record.eventTime).toISOString(),
      deliverAt: new Date(s.deliverAt).toISOString(),
      delivered: s.delivered,
      dropped: s.dropped,
      lookupAt: new Date(s.lookupAt).toISOString(),
      inHistory: s.inHistory,
      detail: JSON.parse(s.record.detailJson) as Record<string, unknown>,
    }));
  }
}

/** The EventBridge envelope of a record (the fixtures under test/fixtures/kms-events show AWS's). */
export function envelope(record: TrailRecord): ServiceEvent {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": record.detailType,
    source: "aws.kms",
    account: record.account,
    time: `${new Date(record.eventTime).toISOString().slice(0, 19)}Z`,
    region: record.region,
    resources: [],
    detail: JSON.parse(record.detailJson) as Record<string, unknown>,
  };
}
