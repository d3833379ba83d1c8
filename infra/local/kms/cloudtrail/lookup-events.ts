/**
 * CloudTrail LookupEvents over the emulator's records, as
 * https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html describes it:
 * at most one lookup attribute (AccessKeyId, EventId, EventName, EventSource, ReadOnly, ResourceName,
 * ResourceType, Username), StartTime/EndTime, MaxResults 1..50 (default 50), NextToken only with the
 * same parameters, newest first, each event with its record as the `CloudTrailEvent` JSON string.
 * Management events only: `EventCategory: insight` finds nothing (no Insights locally).
 * The 2 requests/s quota per account and Region is applied by the emulator's quotas (faults.ts).
 */
import { createHash } from "node:crypto";
import { KmsApiError } from "../errors.js";
import type { TrailRecord } from "./records.js";

/**
 * X-Amz-Target prefixes of CloudTrail: the SDK for JavaScript v3 sends `CloudTrail_20131101.<Op>`,
 * the AWS CLI and the API reference `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Op>`.
 */
export const CLOUDTRAIL_TARGET_PREFIXES = [
  "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.",
  "CloudTrail_20131101.",
] as const;

/** The CloudTrail operation an X-Amz-Target names, or undefined when it is not CloudTrail's. */
export function cloudTrailOperation(target: string): string | undefined {
  const prefix = CLOUDTRAIL_TARGET_PREFIXES.find((p) => target.startsWith(p));
  return prefix === undefined ? undefined : target.slice(prefix.length);
}

export const LOOKUP_ATTRIBUTE_KEYS = [
  "EventId",
  "EventName",
  "ReadOnly",
  "Username",
  "ResourceType",
  "ResourceName",
  "EventSource",
  "AccessKeyId",
] as const;
type AttributeKey = (typeof LOOKUP_ATTRIBUTE_KEYS)[number];

const MAX_RESULTS = 50;

function refuse(type: string, message: string): KmsApiError {
  return new KmsApiError(type, message);
}

interface LookupRequest {
  attribute?: { key: AttributeKey; value: string };
  startTime?: number;
  endTime?: number;
  insight: boolean;
  maxResults: number;
  nextToken?: string;
}

function timestamp(body: Record<string, unknown>, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw refuse("SerializationException", `Expected a timestamp (epoch seconds) for member '${field}'`);
  }
  return value * 1000;
}

/**
 * @throws KmsApiError InvalidLookupAttributesException, InvalidMaxResultsException,
 *   InvalidTimeRangeException, InvalidEventCategoryException or SerializationException
 */
function readRequest(body: Record<string, unknown>): LookupRequest {
  const attributes = body.LookupAttributes;
  let attribute: LookupRequest["attribute"];
  if (attributes !== undefined && attributes !== null) {
    if (!Array.isArray(attributes))
      throw refuse("SerializationException", "Expected a list for member 'LookupAttributes'");
    if (attributes.length > 1) {
      throw refuse(
        "InvalidLookupAttributesException",
        "You cannot specify more than one lookup attribute in a request.",
      );
    }
    const first = attributes[0] as Record<string, unknown> | undefined;
    if (first !== undefined) {
      if (typeof first !== "object" || first === null) {
        throw refuse("SerializationException", "Expected a structure for member 'LookupAttributes'");
      }
      const key = first.AttributeKey;
      const value = first.AttributeValue;
      if (typeof key !== "string" || !LOOKUP_ATTRIBUTE_KEYS.includes(key as AttributeKey)) {
        throw refuse(
          "InvalidLookupAttributesException",
          `AttributeKey must be one of ${LOOKUP_ATTRIBUTE_KEYS.join(", ")}; got ${String(key)}.`,
        );
      }
      if (typeof value !== "string" || value.length < 1 || value.length > 2000) {
        throw refuse("InvalidLookupAttributesException", "AttributeValue must be 1 to 2000 characters.");
      }
      if (key === "ReadOnly" && value !== "true" && value !== "false") {
        throw refuse(
          "InvalidLookupAttributesException",
          "The ReadOnly attribute value must be true or false.",
        );
      }
      attribute = { key: key as AttributeKey, value };
    }
  }
  const startTime = timestamp(body, "StartTime");
  const endTime = timestamp(body, "EndTime");
  if (startTime !== undefined && endTime !== undefined && startTime > endTime) {
    throw refuse("InvalidTimeRangeException", "Start time must be before end time.");
  }
  const category = body.EventCategory;
  if (category !== undefined && category !== null && category !== "insight") {
    throw refuse("InvalidEventCategoryException", "EventCategory must be insight when specified.");
  }
  const max = body.MaxResults;
  let maxResults = MAX_RESULTS;
  if (max !== undefined && max !== null) {
    if (typeof max !== "number" || !Number.isInteger(max) || max < 1 || max > MAX_RESULTS) {
      throw refuse("InvalidMaxResultsException", `MaxResults must be from 1 to ${MAX_RESULTS}.`);
    }
    maxResults = max;
  }
  const token = body.NextToken;
  if (token !== undefined && token !== null && typeof token !== "string") {
    throw refuse("SerializationException", "Expected a string for member 'NextToken'");
  }
  return {
    ...(attribute ? { attribute } : {}),
    ...(startTime === undefined ? {} : { startTime }),
    ...(endTime === undefined ? {} : { endTime }),
    insight: category === "insight",
    maxResults,
    ...(typeof token === "string" && token.length > 0 ? { nextToken: token } : {}),
  };
}

function matches(record: TrailRecord, attribute: LookupRequest["attribute"]): boolean {
  if (!attribute) return true;
  const { key, value } = attribute;
  switch (key) {
    case "EventId":
      return record.eventId === value;
    case "EventName":
      return record.eventName === value;
    case "ReadOnly":
      return String(record.readOnly) === value;
    case "Username":
      return record.username === value;
    case "ResourceType":
      return record.resources.some((r) => r.type === value);
    case "ResourceName":
      return record.resources.some((r) => r.arn === value);
    case "EventSource":
      return record.eventSource === value;
    case "AccessKeyId":
      return record.accessKeyId === value;
  }
}

/** The parameters a NextToken is bound to (MaxResults may change between pages). */
function fingerprint(request: LookupRequest, region: string): string {
  const basis = JSON.stringify([
    region,
    request.attribute ?? null,
    request.startTime ?? null,
    request.endTime ?? null,
    request.insight,
  ]);
  return createHash("sha256").update(basis).digest("base64url").slice(0, 16);
}

interface Cursor {
  f: string;
  /** The last event returned: its time and id. */
  t: number;
  id: string;
}

function readToken(token: string, expected: string): Cursor {
  let cursor: Cursor | undefined;
  try {
    cursor = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Cursor;
  } catch {
    cursor = undefined;
  }
  if (!cursor || typeof cursor.t !== "number" || typeof cursor.id !== "string" || cursor.f !== expected) {
    throw refuse(
      "InvalidNextTokenException",
      "A token that is not valid, or a token that was previously used in a request with different parameters.",
    );
  }
  return cursor;
}

/**
 * Answers LookupEvents over `history` (the Region's visible records, newest first).
 * @throws KmsApiError for what AWS refuses
 */
export function lookupEvents(
  body: Record<string, unknown>,
  region: string,
  history: readonly TrailRecord[],
): Record<string, unknown> {
  const request = readRequest(body);
  const print = fingerprint(request, region);
  if (request.insight) return { Events: [] };
  // CloudTrail's eventTime is to the second; so are the comparisons.
  const second = (ms: number) => Math.floor(ms / 1000) * 1000;
  let candidates = history.filter(
    (record) =>
      (request.startTime === undefined || second(record.eventTime) >= request.startTime) &&
      (request.endTime === undefined || second(record.eventTime) <= request.endTime) &&
      matches(record, request.attribute),
  );
  if (request.nextToken !== undefined) {
    const cursor = readToken(request.nextToken, print);
    const at = candidates.findIndex((r) => r.eventId === cursor.id);
    candidates = at >= 0 ? candidates.slice(at + 1) : candidates.filter((r) => r.eventTime < cursor.t);
  }
  const page = candidates.slice(0, request.maxResults);
  const last = page[page.length - 1];
  const more = candidates.length > page.length && last !== undefined;
  return {
    Events: page.map((record) => ({
      EventId: record.eventId,
      EventName: record.eventName,
      ReadOnly: String(record.readOnly),
      ...(record.accessKeyId === undefined ? {} : { AccessKeyId: record.accessKeyId }),
      EventTime: Math.floor(record.eventTime / 1000),
      EventSource: record.eventSource,
      ...(record.username === undefined ? {} : { Username: record.username }),
      Resources: record.resources.map((r) => ({ ResourceType: r.type, ResourceName: r.arn })),
      CloudTrailEvent: record.detailJson,
    })),
    ...(more
      ? {
          NextToken: Buffer.from(
            JSON.stringify({ f: print, t: last.eventTime, id: last.eventId } satisfies Cursor),
          ).toString("base64url"),
        }
      : {}),
  };
}
