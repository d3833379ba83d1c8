/**
 * The audit events one region run collects before it records them all at once (audit first, then the
 * record: lib/lifecycle/region/reconcile-region.ts): facts, alerts (told as the alert policy says:
 * lib/domain/region-rules.ts alertDetailTypes), failed attempts and completed imports.
 */
import type { AlertFinding } from "../../domain/alerts.js";
import type { DeleteRecord } from "../../domain/attribution.js";
import {
  type AuditEvent,
  buildAlertEvent,
  buildFactEvent,
  buildImportFailedEvent,
  type FactDetailType,
} from "../../domain/audit-types.js";
import type { ImportInFlight, ManagedKey, RegionRecord } from "../../domain/managed-key.js";
import { alertDetailTypes, importedDetailType } from "../../domain/region-rules.js";
import { auditContext, fixedContext, keySubject, type Requester } from "../helpers/audit-context.js";
import type { LifecycleDeps } from "../ports.js";

export class RegionEvents {
  readonly #events: AuditEvent[] = [];

  constructor(
    private readonly deps: Pick<LifecycleDeps, "newId" | "clock">,
    private readonly by: Requester,
  ) {}

  /** Everything collected so far, in order. */
  get all(): AuditEvent[] {
    return [...this.#events];
  }

  fact(
    detailType: FactDetailType,
    key: ManagedKey,
    record: RegionRecord,
    now: Date,
    reason?: string,
    deletedBy?: DeleteRecord,
  ): void {
    const subject = { ...keySubject(key, record), reason, deletedBy };
    this.#events.push(buildFactEvent(detailType, auditContext(this.deps, this.by, now), subject));
  }

  alert(
    key: ManagedKey,
    record: RegionRecord,
    finding: AlertFinding,
    now: Date,
    deletedBy?: DeleteRecord,
  ): void {
    const subject = { ...keySubject(key, record), deletedBy };
    for (const detailType of alertDetailTypes(finding)) {
      this.#events.push(buildAlertEvent(detailType, auditContext(this.deps, this.by, now), subject, finding));
    }
  }

  importFailed(key: ManagedKey, record: RegionRecord, now: Date, errorName: string): void {
    this.#events.push(
      buildImportFailedEvent(auditContext(this.deps, this.by, now), keySubject(key, record), {
        errorName,
        attempt: record.consecutiveFailures,
      }),
    );
  }

  /** An import's fact, under the id and time its intent fixed (so a crash-recovered one is the same fact). */
  imported(key: ManagedKey, record: RegionRecord, intent: ImportInFlight, reason?: string): void {
    this.#events.push(
      buildFactEvent(
        importedDetailType(intent.kind),
        fixedContext(intent.eventId, intent.startedAt, intent),
        { ...keySubject(key, record), validTo: intent.validTo, reason },
      ),
    );
  }
}
