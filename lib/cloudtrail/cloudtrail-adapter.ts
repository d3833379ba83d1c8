import {
  CloudTrailClient,
  type CloudTrailClientConfig,
  type Event,
  LookupEventsCommand,
} from "@aws-sdk/client-cloudtrail";
import type { DeleteRecord } from "../domain/attribution.js";
import { errorName, TetherError } from "../domain/errors.js";
import type { AwsRegion } from "../domain/ids.js";
import type { RateLimiter } from "../kms/rate-limiter.js";
import type { CloudTrailPort } from "../lifecycle/ports.js";

/**
 * LookupEvents is limited to two requests per second, per account, per Region; past that CloudTrail
 * throttles. https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
 */
export const LOOKUP_EVENTS_PER_SECOND = 2;
/**
 * Tether's share of it: half, leaving the rest for people reading the event history (the console) and other
 * tools. All Tether's functions and instances share it through one budget per Region (lib/composition-root.ts).
 */
export const TETHER_LOOKUP_EVENTS_PER_SECOND = LOOKUP_EVENTS_PER_SECOND / 2;

/** The calls that remove a key's material (the key itself, for a deletion). */
export const MATERIAL_REMOVING_CALLS: readonly string[] = [
  "DeleteImportedKeyMaterial",
  "ScheduleKeyDeletion",
];

/** Pages read per lookup at most (50 events each): a key with more events than that in the window is not normal. */
const MAX_PAGES = 4;

/** A lookup failed (throttled, refused, unreachable); `errorName` is the SDK's error class, never its message. */
export class CloudTrailError extends TetherError {
  readonly errorName: string;
  constructor(region: string, errorName: string, options?: ErrorOptions) {
    super(`CloudTrail LookupEvents in ${region} failed (${errorName}).`, options);
    this.name = "CloudTrailError";
    this.errorName = errorName;
  }
}

export interface CloudTrailAdapterOptions {
  /** Endpoint override (the local KMS emulator serves LookupEvents); absent on AWS. */
  readonly endpoint?: string | undefined;
  /** Paces LookupEvents per Region (quota `LookupEvents`); absent: no client-side pacing. */
  readonly rateLimiter?: RateLimiter | undefined;
  /** Anything else the SDK takes (credentials) — tests use it. */
  readonly clientConfig?: Omit<CloudTrailClientConfig, "region" | "endpoint"> | undefined;
}

/**
 * CloudTrail event history by the key's ARN (LookupAttribute ResourceName): no trail is needed, management
 * events of the last 90 days are there. Translates only: which deletes, by whom, when, from where.
 */
export class CloudTrailAdapter implements CloudTrailPort {
  readonly #clients = new Map<string, CloudTrailClient>();

  constructor(private readonly options: CloudTrailAdapterOptions = {}) {}

  async materialDeletes(
    region: AwsRegion,
    keyArn: string,
    since: Date,
    until: Date,
  ): Promise<DeleteRecord[]> {
    const client = this.#client(region);
    const found: DeleteRecord[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      let events: Event[];
      try {
        await this.options.rateLimiter?.acquire(region, "LookupEvents");
        const answer = await client.send(
          new LookupEventsCommand({
            LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: keyArn }],
            StartTime: since,
            EndTime: until,
            MaxResults: 50,
            ...(nextToken === undefined ? {} : { NextToken: nextToken }),
          }),
        );
        events = answer.Events ?? [];
        nextToken = answer.NextToken;
      } catch (error) {
        throw new CloudTrailError(region, errorName(error), {
          cause: error,
        });
      }
      for (const event of events) {
        const record = deleteRecordOf(event);
        if (record !== undefined) found.push(record);
      }
      if (nextToken === undefined) break;
    }
    return found.sort((a, b) => b.at.getTime() - a.at.getTime());
  }

  #client(region: string): CloudTrailClient {
    let client = this.#clients.get(region);
    if (client === undefined) {
      client = new CloudTrailClient({
        ...this.options.clientConfig,
        region,
        ...(this.options.endpoint === undefined ? {} : { endpoint: this.options.endpoint }),
      });
      this.#clients.set(region, client);
    }
    return client;
  }
}

/**
 * A successful material-removing call from one LookupEvents result, or undefined. The record itself
 * (CloudTrailEvent, a JSON string) says who (userIdentity.arn, or invokedBy for a service), from where
 * (sourceIPAddress) and whether the call failed (errorCode: then it removed nothing).
 */
export function deleteRecordOf(event: Event): DeleteRecord | undefined {
  const eventName = event.EventName;
  if (eventName === undefined || !MATERIAL_REMOVING_CALLS.includes(eventName)) return undefined;
  let detail: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(event.CloudTrailEvent ?? "{}");
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      detail = parsed as Record<string, unknown>;
    }
  } catch {
    // An unreadable record still names the call, its time and user name (from the lookup's own fields).
  }
  if (typeof detail.errorCode === "string") return undefined;
  const identity = (
    typeof detail.userIdentity === "object" && detail.userIdentity !== null ? detail.userIdentity : {}
  ) as Record<string, unknown>;
  const principal =
    stringOr(identity.arn) ?? stringOr(identity.invokedBy) ?? stringOr(event.Username) ?? "unknown";
  const time = stringOr(detail.eventTime);
  const at = time !== undefined && !Number.isNaN(new Date(time).getTime()) ? new Date(time) : event.EventTime;
  if (at === undefined || Number.isNaN(at.getTime())) return undefined;
  const sourceIp = stringOr(detail.sourceIPAddress);
  return { eventName, principal, at, ...(sourceIp === undefined ? {} : { sourceIp }) };
}

function stringOr(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
