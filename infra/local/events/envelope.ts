/**
 * The event envelope EventBridge delivers to targets, and the validation of envelopes that the local AWS
 * services (the KMS emulator) post as their own events.
 * Shape: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html
 */
import { ValidationError } from "./errors.js";

export interface EventEnvelope {
  readonly version: "0";
  readonly id: string;
  readonly "detail-type": string;
  readonly source: string;
  readonly account: string;
  /** ISO 8601 in UTC without milliseconds, e.g. `2026-11-28T12:00:00Z`. */
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Readonly<Record<string, unknown>>;
}

/** EventBridge writes event times to the second: `2026-11-28T12:00:00Z`. */
export function formatEventTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const ACCOUNT_ID = /^\d{12}$/;

/**
 * Checks that `value` is a complete envelope, as an AWS service would send it.
 *
 * @param value the candidate envelope
 * @param position where it sits in the request, for the error message
 * @throws ValidationError naming the first field that is missing or malformed
 */
export function parseEnvelope(value: unknown, position: string): EventEnvelope {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError(`${position} must be an event envelope object`);
  }
  const record = value as Record<string, unknown>;
  const fail = (field: string, expected: string): never => {
    throw new ValidationError(`${position}: "${field}" must be ${expected}`);
  };
  if (record.version !== "0") fail("version", '"0"');
  for (const field of ["id", "detail-type", "source", "region"] as const) {
    const text = record[field];
    if (typeof text !== "string" || text.length === 0) fail(field, "a non-empty string");
  }
  if (typeof record.account !== "string" || !ACCOUNT_ID.test(record.account))
    fail("account", "a 12-digit account id");
  if (
    typeof record.time !== "string" ||
    !ISO_TIME.test(record.time) ||
    Number.isNaN(Date.parse(record.time))
  ) {
    fail("time", "an ISO 8601 UTC time such as 2026-11-28T12:00:00Z");
  }
  const resources = record.resources;
  if (!Array.isArray(resources) || !resources.every((r) => typeof r === "string")) {
    fail("resources", "an array of strings");
  }
  const detail = record.detail;
  if (typeof detail !== "object" || detail === null || Array.isArray(detail)) fail("detail", "a JSON object");

  return {
    version: "0",
    id: record.id as string,
    "detail-type": record["detail-type"] as string,
    source: record.source as string,
    account: record.account as string,
    time: formatEventTime(new Date(record.time as string)),
    region: record.region as string,
    resources: [...(resources as string[])],
    detail: structuredClone(detail as Record<string, unknown>),
  };
}
