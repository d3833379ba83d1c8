import type { AuditEvent } from "../domain/audit-types.js";
import { ValidationError } from "../domain/errors.js";
import { CorruptRecordError } from "./errors.js";
import { eventSk, historyPk, outboxShard } from "./item-keys.js";
import type { Item } from "./key-items.js";

/** Keeps pk + sk far below DynamoDB's 2 KB / 1 KB key limits. */
const MAX_EVENT_ID_LENGTH = 256;
const MAX_KEY_ID_LENGTH = 512;

/**
 * An audit event as an unpublished history item: the event itself (strings and numbers only, as the
 * domain type allows), plus the sparse outbox index attributes that markPublished removes.
 * @throws ValidationError when the event's time is not a canonical UTC ISO 8601 string (its sort key
 *   would not sort as time does) or its id / keyId is empty or over-long
 */
export function unpublishedEventItem(event: AuditEvent): Item {
  const time = new Date(event.time);
  if (Number.isNaN(time.getTime()) || time.toISOString() !== event.time) {
    throw new ValidationError("time", "must be an ISO 8601 UTC time as Date.toISOString writes it");
  }
  if (typeof event.id !== "string" || event.id.length === 0 || event.id.length > MAX_EVENT_ID_LENGTH) {
    throw new ValidationError("id", `must be 1 to ${MAX_EVENT_ID_LENGTH} characters`);
  }
  if (typeof event.keyId !== "string" || event.keyId.length === 0 || event.keyId.length > MAX_KEY_ID_LENGTH) {
    throw new ValidationError("keyId", `must be 1 to ${MAX_KEY_ID_LENGTH} characters`);
  }
  return {
    ...eventKey(event),
    eventId: event.id,
    event: { ...event },
    outboxShard: outboxShard(event.id),
    outboxAt: time.getTime(),
  };
}

/** The primary key of an event's item. */
export function eventKey(event: Pick<AuditEvent, "keyId" | "time" | "id">): { pk: string; sk: string } {
  return { pk: historyPk(event.keyId), sk: eventSk(event.time, event.id) };
}

/**
 * The event stored in an item (from the table or the outbox index).
 * @throws CorruptRecordError when the item carries no recognisable event
 */
export function eventFromItem(item: Item): AuditEvent {
  const event = item.event;
  const where = { pk: String(item.pk), sk: String(item.sk) };
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    throw new CorruptRecordError(where, "event: not a map");
  }
  for (const name of ["id", "time", "keyId", "detailType", "actor", "correlationId"]) {
    if (typeof (event as Item)[name] !== "string")
      throw new CorruptRecordError(where, `event.${name}: not a string`);
  }
  return event as AuditEvent;
}
