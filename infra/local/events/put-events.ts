/**
 * PutEvents as EventBridge validates it: request-level failures throw, entry-level failures become
 * per-entry results, and every good entry becomes the envelope EventBridge would deliver.
 *
 * What AWS does, and where it is written down:
 * - Entries: 1..10, otherwise a request-level ValidationException
 *   (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html).
 * - Entry size as https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html computes it
 *   (Time 14 bytes, UTF-8 bytes of Source, DetailType, Detail and each resource); "the total entry size must be
 *   less than 256KB". AWS rejects the whole request with ValidationException "Total size of the entries in the
 *   request is over the limit." (recorded against AWS in LocalStack's validated snapshot
 *   tests/aws/services/events/test_events.snapshot.json, test_put_event_with_too_big_detail).
 * - Per-entry codes (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html):
 *   missing Source/DetailType/Detail -> InvalidArgument "Parameter X is not valid. Reason: X is a required
 *   argument."; Detail that is not a JSON object -> MalformedDetail "Detail is malformed." (same snapshots).
 * - Sources starting with "aws." are reserved for AWS services: NotAuthorizedForSourceException
 *   "Not authorized for the source." (observed against AWS in aws-samples/serverless-patterns#3089).
 * - An EventBusName that names no existing bus is accepted and the event silently dropped
 *   (https://github.com/aws/aws-sdk/issues/186, https://github.com/aws/aws-cli/issues/9186): the bus decides.
 * - Time: the AWS JSON protocol sends timestamps as epoch seconds; without Time, the time of the call is used.
 */
import type { EventEnvelope } from "./envelope.js";
import { formatEventTime } from "./envelope.js";
import { SerializationError, ValidationError } from "./errors.js";

export const PUT_EVENTS_LIMITS = {
  maxEntries: 10,
  /** "The total entry size must be less than 256KB." */
  maxTotalEntryBytes: 256 * 1024,
  timeBytes: 14,
} as const;

export const PUT_EVENTS_ERROR_CODES = {
  InvalidArgument: "InvalidArgument",
  MalformedDetail: "MalformedDetail",
  NotAuthorizedForSourceException: "NotAuthorizedForSourceException",
} as const;
export type PutEventsErrorCode = (typeof PUT_EVENTS_ERROR_CODES)[keyof typeof PUT_EVENTS_ERROR_CODES];

export const DEFAULT_EVENT_BUS_NAME = "default";

/** EventBusName: a name or an event bus ARN (pattern from the EventBridge API model). */
const EVENT_BUS_NAME_OR_ARN =
  /^(arn:aws[\w-]*:events:[a-z]{2}-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/.\-_A-Za-z0-9]+$/;
const EVENT_BUS_ARN = /^arn:aws[\w-]*:events:([a-z]{2}-[a-z]+-[\w-]+):([0-9]{12}):event-bus\/(.+)$/;

export type EntryOutcome =
  | { readonly accepted: true; readonly eventBusName: string; readonly event: EventEnvelope }
  | { readonly accepted: false; readonly errorCode: PutEventsErrorCode; readonly errorMessage: string };

export interface PutEventsContext {
  readonly accountId: string;
  /** The region of the request's SigV4 credential scope. */
  readonly region: string;
  readonly now: Date;
  readonly newEventId: () => string;
}

interface RawEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly Resources?: readonly string[];
  readonly Time?: number;
  readonly EventBusName?: string;
}

/**
 * Validates a PutEvents request body and turns each entry into an outcome, in request order.
 *
 * @throws SerializationError when a member has the wrong JSON type
 * @throws ValidationError for request-level constraints (entry count, total size, EventBusName pattern)
 */
export function evaluatePutEvents(body: unknown, context: PutEventsContext): EntryOutcome[] {
  const entries = readEntries(body);
  let totalBytes = 0;
  for (const entry of entries) totalBytes += entrySize(entry);
  if (totalBytes >= PUT_EVENTS_LIMITS.maxTotalEntryBytes) {
    throw new ValidationError("Total size of the entries in the request is over the limit.");
  }
  return entries.map((entry) => evaluateEntry(entry, context));
}

function evaluateEntry(entry: RawEntry, context: PutEventsContext): EntryOutcome {
  for (const field of ["Source", "DetailType", "Detail"] as const) {
    if (!entry[field]) {
      return reject(
        "InvalidArgument",
        `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
      );
    }
  }
  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail as string);
  } catch {
    detail = undefined;
  }
  if (typeof detail !== "object" || detail === null || Array.isArray(detail)) {
    return reject("MalformedDetail", "Detail is malformed.");
  }
  const source = entry.Source as string;
  if (source.startsWith("aws.")) {
    return reject("NotAuthorizedForSourceException", "Not authorized for the source.");
  }
  const time = entry.Time === undefined ? context.now : new Date(entry.Time * 1000);
  const event: EventEnvelope = {
    version: "0",
    id: context.newEventId(),
    "detail-type": entry.DetailType as string,
    source,
    account: context.accountId,
    time: formatEventTime(time),
    region: context.region,
    resources: [...(entry.Resources ?? [])],
    detail: detail as Record<string, unknown>,
  };
  return { accepted: true, eventBusName: resolveEventBusName(entry.EventBusName, context), event };
}

/**
 * A bus ARN of this account and region names a local bus; an ARN of another account or region is kept whole,
 * so it names no local bus and the event is dropped as AWS drops events for a bus it does not know.
 */
function resolveEventBusName(nameOrArn: string | undefined, context: PutEventsContext): string {
  if (nameOrArn === undefined) return DEFAULT_EVENT_BUS_NAME;
  const arn = EVENT_BUS_ARN.exec(nameOrArn);
  if (!arn) return nameOrArn;
  const [, region, account, name] = arn as unknown as [string, string, string, string];
  return region === context.region && account === context.accountId ? name : nameOrArn;
}

function reject(errorCode: PutEventsErrorCode, errorMessage: string): EntryOutcome {
  return { accepted: false, errorCode, errorMessage };
}

function entrySize(entry: RawEntry): number {
  let size = entry.Time === undefined ? 0 : PUT_EVENTS_LIMITS.timeBytes;
  size += Buffer.byteLength(entry.Source ?? "", "utf8");
  size += Buffer.byteLength(entry.DetailType ?? "", "utf8");
  size += Buffer.byteLength(entry.Detail ?? "", "utf8");
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource, "utf8");
  return size;
}

function readEntries(body: unknown): RawEntry[] {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new SerializationError("Request body must be a JSON object");
  }
  const entries = (body as Record<string, unknown>).Entries;
  if (entries === undefined || entries === null) {
    throw new ValidationError(
      "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null",
    );
  }
  if (!Array.isArray(entries)) throw new SerializationError("Entries must be a JSON array");
  if (entries.length < 1) {
    throw new ValidationError(
      "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: " +
        "Member must have length greater than or equal to 1",
    );
  }
  if (entries.length > PUT_EVENTS_LIMITS.maxEntries) {
    // AWS prints every entry back in this message; the local bus names only the count.
    throw new ValidationError(
      `1 validation error detected: Value '[${entries.length} entries]' at 'entries' failed to satisfy ` +
        `constraint: Member must have length less than or equal to ${PUT_EVENTS_LIMITS.maxEntries}`,
    );
  }
  return entries.map((entry, index) => readEntry(entry, index + 1));
}

function readEntry(value: unknown, position: number): RawEntry {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SerializationError(`Entries[${position}] must be a JSON object`);
  }
  const record = value as Record<string, unknown>;
  for (const field of ["Source", "DetailType", "Detail", "EventBusName", "TraceHeader"] as const) {
    const member = record[field];
    if (member !== undefined && member !== null && typeof member !== "string") {
      throw new SerializationError(`Entries[${position}].${field} must be a string`);
    }
  }
  const resources = record.Resources;
  if (resources !== undefined && resources !== null) {
    if (!Array.isArray(resources) || !resources.every((r) => typeof r === "string")) {
      throw new SerializationError(`Entries[${position}].Resources must be an array of strings`);
    }
  }
  const time = record.Time;
  if (time !== undefined && time !== null && (typeof time !== "number" || !Number.isFinite(time))) {
    // The AWS JSON 1.1 protocol carries timestamps as epoch seconds.
    throw new SerializationError(`Entries[${position}].Time must be a timestamp in epoch seconds`);
  }
  const eventBusName = record.EventBusName;
  if (typeof eventBusName === "string") {
    if (eventBusName.length === 0) {
      throw new ValidationError(
        `1 validation error detected: Value '' at 'entries.${position}.member.eventBusName' failed to satisfy ` +
          "constraint: Member must have length greater than or equal to 1",
      );
    }
    if (eventBusName.length > 256 || !EVENT_BUS_NAME_OR_ARN.test(eventBusName)) {
      throw new ValidationError(
        `1 validation error detected: Value '${eventBusName}' at 'entries.${position}.member.eventBusName' ` +
          "failed to satisfy constraint: Member must satisfy regular expression pattern: " +
          "(arn:aws[\\w-]*:events:[a-z]{2}-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?[/\\.\\-_A-Za-z0-9]+",
      );
    }
  }
  return {
    ...(typeof record.Source === "string" ? { Source: record.Source } : {}),
    ...(typeof record.DetailType === "string" ? { DetailType: record.DetailType } : {}),
    ...(typeof record.Detail === "string" ? { Detail: record.Detail } : {}),
    ...(Array.isArray(resources) ? { Resources: resources as string[] } : {}),
    ...(typeof time === "number" ? { Time: time } : {}),
    ...(typeof eventBusName === "string" ? { EventBusName: eventBusName } : {}),
  };
}
