/**
 * Read models for operators: lists, one key with its live KMS state and plan, a key's history. Nothing
 * here changes state — showKey runs the decision table to say what Tether would do, and does not do it.
 */
import type { AuditEvent } from "../../domain/audit-types.js";
import { decide, type RegionDecision } from "../../domain/decision.js";
import { NotFoundError } from "../../domain/errors.js";
import { isTetherKeyId } from "../../domain/ids.js";
import type { KeyMaterialInfo } from "../../domain/key-material.js";
import { ExpirationModel, KeySpec } from "../../domain/kms-constants.js";
import type { KeyStatusState, ManagedKey, RegionRecord } from "../../domain/managed-key.js";
import type { ObservedKeyState } from "../../domain/observed.js";
import { parametersUsable } from "../../domain/warm-parameters.js";
import { chooseWrapping } from "../../domain/wrapping.js";
import type { LifecycleDeps, Page } from "../ports.js";
import { loadKey } from "./operator-actions.js";

export interface ListKeysRequest {
  readonly limit: number;
  readonly nextToken?: string | undefined;
  readonly status?: KeyStatusState | undefined;
  /** Keys with a Region whose material (as Tether imported it) expires before this time. */
  readonly expiringBefore?: Date | undefined;
  /** Keys in this AWS account (12 digits: the deployment's own or a member's). */
  readonly account?: string | undefined;
}

/** With a filter, read at most this many times `limit` keys for one answer. */
const FILTER_SCAN_FACTOR = 4;

/**
 * Managed keys, a page at a time, optionally filtered by status, by expiry and by account.
 *
 * Cost of filtering: the table lists keys in id order and has no index on status or ValidTo, so a filter
 * is applied to the keys as they are read. One answer reads store pages until `limit` keys matched or
 * `FILTER_SCAN_FACTOR × limit` keys were read — so a filtered page may hold fewer than `limit` keys (even
 * none) and still carry a nextToken: follow it until it is absent. A full filtered listing reads every key
 * once, like an unfiltered one; what the filter saves is bytes on the wire, not reads.
 * @throws ValidationError (`nextToken`, `limit`) for a token not issued by this listing or a bad limit
 */
export async function listKeys(deps: LifecycleDeps, request: ListKeysRequest): Promise<Page<ManagedKey>> {
  const filtered =
    request.status !== undefined || request.expiringBefore !== undefined || request.account !== undefined;
  if (!filtered) return deps.keys.list({ limit: request.limit, nextToken: request.nextToken });
  const items: ManagedKey[] = [];
  let nextToken = request.nextToken;
  let read = 0;
  do {
    // Never read more than still fits, so the store's token resumes exactly after the last key looked at.
    const page = await deps.keys.list({ limit: request.limit - items.length, nextToken });
    read += page.items.length;
    items.push(...page.items.filter((key) => matches(key, request)));
    nextToken = page.nextToken;
  } while (
    nextToken !== undefined &&
    items.length < request.limit &&
    read < FILTER_SCAN_FACTOR * request.limit
  );
  return { items, nextToken };
}

function matches(key: ManagedKey, request: ListKeysRequest): boolean {
  if (request.status !== undefined && key.status.state !== request.status) return false;
  if (request.account !== undefined && key.account !== request.account) return false;
  const before = request.expiringBefore;
  if (before !== undefined) {
    return key.regions.some(
      (r) =>
        r.materialExpected &&
        r.importedValidTo !== undefined &&
        r.importedValidTo.getTime() < before.getTime(),
    );
  }
  return true;
}

/** One Region of showKey: what KMS says now, and what Tether plans. */
export interface RegionInsight {
  readonly region: string;
  /** The live DescribeKey, or the error class name when KMS could not be asked. */
  readonly observed: ObservedKeyState | { readonly error: string };
  readonly nextAction: PlannedAction;
  /**
   * Every material of a symmetric key in this Region, oldest first, with its state and ValidTo
   * (ListKeyRotations); absent for other key specs, which KMS does not rotate, or when KMS could not say.
   */
  readonly materials?: readonly KeyMaterialInfo[] | undefined;
  /**
   * Whether the Region holds warm import parameters: a stored set of the wrapping an import would use now,
   * valid past the use margin — a restore here needs no GetParametersForImport call.
   */
  readonly warmParameters: boolean;
}

export interface PlannedAction {
  /** What the decision table says now; "unknown" when KMS could not be asked. */
  readonly kind: RegionDecision["kind"] | "unknown";
  readonly summary: string;
  /** When the sweep next looks at this Region (an action decided now happens then). */
  readonly at: Date;
  /** Whether that time has come (the next sweep acts). */
  readonly due: boolean;
  /** For expiring material with nothing to do now: when its renew window opens. */
  readonly renewAt?: Date | undefined;
}

export interface KeyInsight {
  readonly key: ManagedKey;
  readonly regions: readonly RegionInsight[];
}

/**
 * A managed key with each Region's live DescribeKey and the next planned action. Reads only: the decision
 * table is asked, nothing is imported, recorded or audited.
 * @throws NotFoundError
 */
export async function showKey(deps: LifecycleDeps, reference: string): Promise<KeyInsight> {
  const key = await loadKey(deps, reference);
  const now = deps.clock();
  const wrapping = chooseWrapping(
    key.keySpec,
    key.policy.wrapping,
    await deps.vault.supportedWrappings?.(key.keySpec),
  );
  const regions = await Promise.all(
    key.regions.map(
      async (record): Promise<RegionInsight> => ({
        ...(await regionInsight(deps, key, record, now)),
        warmParameters: parametersUsable(record.storedParameters, wrapping, now),
      }),
    ),
  );
  return { key, regions };
}

async function regionInsight(
  deps: LifecycleDeps,
  key: ManagedKey,
  record: RegionRecord,
  now: Date,
): Promise<Omit<RegionInsight, "warmParameters">> {
  let observed: ObservedKeyState;
  try {
    observed = await deps.kms.describeKey(record.region, record.keyArn);
  } catch (error) {
    // A throttled or unreachable KMS in one Region must not hide the others; the class name only.
    const name = error instanceof Error ? error.name : "Error";
    return {
      region: record.region,
      observed: { error: name },
      nextAction: {
        kind: "unknown",
        summary: `KMS could not be asked about ${record.region} (${name})`,
        at: record.nextCheckAt,
        due: record.nextCheckAt.getTime() <= now.getTime(),
      },
    };
  }
  const materials =
    key.keySpec === KeySpec.SYMMETRIC_DEFAULT
      ? await deps.kms.listKeyMaterials(record.region, record.keyArn).catch(() => undefined)
      : undefined;
  return { region: record.region, observed, nextAction: plan(key, record, observed, now), materials };
}

function plan(key: ManagedKey, record: RegionRecord, observed: ObservedKeyState, now: Date): PlannedAction {
  const decision = decide(key, record, observed, now);
  const action: PlannedAction = {
    kind: decision.kind,
    summary: decision.summary,
    at: record.nextCheckAt,
    due: record.nextCheckAt.getTime() <= now.getTime(),
  };
  const validTo = observed.found ? observed.validTo : undefined;
  if (
    decision.kind === "none" &&
    key.policy.expirationModel === ExpirationModel.KEY_MATERIAL_EXPIRES &&
    validTo !== undefined
  ) {
    return { ...action, renewAt: new Date(validTo.getTime() - key.policy.renewBeforeMs) };
  }
  return action;
}

/**
 * A key's audit history, newest first. A key Tether no longer manages is still found by its Tether id
 * (its history stays after DELETE); by ARN or alias only while it is managed.
 * @throws NotFoundError when the reference names no managed key and no history; ValidationError
 *   (`nextToken`, `limit`)
 */
export async function keyHistory(
  deps: LifecycleDeps,
  reference: string,
  options: { limit: number; nextToken?: string | undefined },
): Promise<Page<AuditEvent>> {
  const id = (await deps.keys.resolve(reference)) ?? (isTetherKeyId(reference) ? reference : undefined);
  if (id === undefined) throw new NotFoundError("Managed key", reference);
  const page = await deps.history.history(id, options);
  if (page.items.length === 0 && options.nextToken === undefined) {
    throw new NotFoundError("Managed key", reference);
  }
  return page;
}
