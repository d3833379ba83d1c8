/**
 * How every use case names who did what in its audit events: the context (event id, time, actor,
 * correlation) and the subject (the key in one Region). One way, so events of one run read alike.
 */
import type { AuditContext } from "../../domain/audit-types.js";
import { findRegion, type ManagedKey } from "../../domain/managed-key.js";
import type { LifecycleDeps } from "../ports.js";

/** Who asked, under which correlation: a request, a trigger, or an intent recorded on a key. */
export interface Requester {
  readonly actor: string;
  readonly correlationId: string;
}

/** A new event's context: a fresh id, at `time` (now by default). */
export function auditContext(
  deps: Pick<LifecycleDeps, "newId" | "clock">,
  by: Requester,
  time: Date = deps.clock(),
): AuditContext {
  return { id: deps.newId(), time, actor: by.actor, correlationId: by.correlationId };
}

/**
 * The context of an event whose id and time were fixed in advance (an intent's), so writing it again after
 * a crash is the same fact.
 */
export function fixedContext(id: string, time: Date, by: Requester): AuditContext {
  return { id, time, actor: by.actor, correlationId: by.correlationId };
}

/** The key's ARN in its primary Region (the key's own ARN where the record has no primary). */
export function primaryArn(key: ManagedKey): string {
  return findRegion(key, key.primaryRegion)?.keyArn ?? key.kmsKeyId;
}

/** What an event about the key in one Region (its primary by default) is about. */
export function keySubject(
  key: ManagedKey,
  where: { readonly keyArn: string; readonly region: string } = {
    keyArn: primaryArn(key),
    region: key.primaryRegion,
  },
): { readonly keyId: string; readonly keyArn: string; readonly region: string; readonly checkValue: string } {
  return { keyId: key.id, keyArn: where.keyArn, region: where.region, checkValue: key.checkValue };
}
