import type {
  AuditEventView,
  ImportPolicyInputBody,
  KeyActionResponse,
  KeyDetailResponse,
  KeyView,
  RotateResponse,
  SentinelsResponse,
} from "../api/schemas.js";
import { formatTime, formatWhen, paint, renderFields, renderTable, Style } from "./render.js";

/** How the API's answers look to a person. Every function returns text without a trailing newline. */

export interface ViewOptions {
  readonly now: Date;
  readonly color: boolean;
}

const STATUS_STYLE: Readonly<Record<string, Style>> = {
  active: Style.green,
  paused: Style.yellow,
  revoked: Style.red,
};

function status(state: string, color: boolean): string {
  const style = STATUS_STYLE[state];
  return style === undefined ? state : paint(state, style, color);
}

type RegionRecordView = KeyView["regions"][number];

const at = (iso: string | undefined): number => (iso === undefined ? Number.NaN : Date.parse(iso));

/**
 * What Tether knows of a Region's material, newest fact first: a loss it recorded after its last look at
 * KMS ("gone (expired)"), an import after that look ("imported" — the look before an import still says
 * PendingImport), else the KeyState of the last look, or "not imported" when it never looked.
 */
function regionState(region: RegionRecordView): string {
  const lastLook = at(region.lastObservedAt);
  if (region.lossCause !== undefined) {
    const newer = Number.isNaN(lastLook) || at(region.lossDetectedAt) >= lastLook;
    return newer
      ? `gone (${region.lossCause})`
      : `${region.lastObservedKeyState ?? "?"} (${region.lossCause})`;
  }
  if (region.materialExpected && !(at(region.lastImportedAt) < lastLook)) return "imported";
  return region.lastObservedKeyState ?? (region.materialExpected ? "imported" : "not imported");
}

/** The ValidTo Tether imported with, while it believes the material is there. */
function regionValidTo(region: RegionRecordView): string {
  return region.materialExpected ? formatTime(region.importedValidTo) : "-";
}

/** The API's summaries start with "key <id> in <region>: ", which the row already says. */
function withoutKeyPrefix(text: string): string {
  return text.replace(/^key \S+ in \S+: /, "");
}

/**
 * Keys, one row per Region: the key's id, alias and status on its first Region's row.
 */
export function keyListTable(keys: readonly KeyView[], options: ViewOptions): string {
  if (keys.length === 0) return "No managed keys.";
  const rows: string[][] = [];
  for (const key of keys) {
    key.regions.forEach((region, i) => {
      rows.push([
        i === 0 ? key.id : "",
        i === 0 ? (key.alias ?? "-") : "",
        i === 0 ? status(key.status.state, options.color) : "",
        i === 0 ? priorityOf(key) : "",
        region.region,
        regionState(region),
        regionValidTo(region),
        formatWhen(region.nextCheckAt, options.now),
      ]);
    });
    if (key.regions.length === 0) {
      rows.push([
        key.id,
        key.alias ?? "-",
        status(key.status.state, options.color),
        priorityOf(key),
        "-",
        "-",
        "-",
        "-",
      ]);
    }
  }
  return renderTable(
    ["ID", "ALIAS", "STATUS", "PRIORITY", "REGION", "STATE", "VALID TO", "NEXT CHECK"],
    rows,
    options.color,
  );
}

/** The key's priority; a policy from an older API that names none is normal. */
function priorityOf(key: KeyView): string {
  return key.policy.priority ?? "normal";
}

/** The policy in words: `expires after P30D, renewed P7D before; restore after loss: yes; ...`. */
export function policySummary(policy: ImportPolicyInputBody): string {
  const parts: string[] = [];
  if (policy.expirationModel === "KEY_MATERIAL_DOES_NOT_EXPIRE") {
    parts.push("material does not expire");
  } else {
    const validity =
      policy.validTo !== undefined
        ? `expires at ${formatTime(policy.validTo)}`
        : `expires after ${policy.validityPeriod ?? "the default period"}`;
    parts.push(
      policy.renewBefore === undefined ? validity : `${validity}, renewed ${policy.renewBefore} before`,
    );
  }
  parts.push(`restore after loss: ${yesNo(policy.restoreAfterLoss)}`);
  parts.push(`restore after out-of-band delete: ${yesNo(policy.restoreAfterOutOfBandDelete)}`);
  if (policy.reconcileInterval !== undefined) parts.push(`checked every ${policy.reconcileInterval}`);
  if (policy.attributionGrace !== undefined) {
    parts.push(`unexplained losses attributed for ${policy.attributionGrace}`);
  }
  if (policy.rotateEvery !== undefined) parts.push(`rotated every ${policy.rotateEvery}`);
  if (policy.rotationMethod !== undefined) parts.push(`rotation by ${policy.rotationMethod}`);
  if (policy.wrappingAlgorithm !== undefined || policy.wrappingKeySpec !== undefined) {
    parts.push(`wrapping ${policy.wrappingAlgorithm ?? "auto"}/${policy.wrappingKeySpec ?? "auto"}`);
  }
  return parts.join("; ");
}

function yesNo(value: boolean | undefined): string {
  return value === undefined ? "default" : value ? "yes" : "no";
}

function statusLine(key: KeyView, color: boolean): string {
  const { state, reason, actor, at } = key.status;
  const detail = [reason && `"${reason}"`, actor && `by ${actor}`, at && `at ${formatTime(at)}`].filter(
    Boolean,
  );
  return detail.length === 0 ? status(state, color) : `${status(state, color)} — ${detail.join(" ")}`;
}

/** The key's own fields (not its Regions). */
export function keyFields(key: KeyView, options: ViewOptions): string {
  return renderFields([
    ["ID", key.id],
    ["Alias", key.alias],
    ["Key ARN", key.keyArn],
    ["Key spec", `${key.keySpec}${key.multiRegion ? " (Multi-Region)" : ""}`],
    ["Status", statusLine(key, options.color)],
    ["Priority", priorityOf(key)],
    ["Material ref", key.materialRef],
    ["Check value", key.checkValue],
    ["Policy", policySummary(key.policy)],
    ["Replaced by", key.supersededBy && `${key.supersededBy} (key swap; this key is kept for decryption)`],
    ["Replaces", key.supersedes],
    [
      "Unfinished swap",
      key.pendingSwap &&
        `to ${key.pendingSwap.successorId}, started ${formatTime(key.pendingSwap.startedAt)} by ${key.pendingSwap.actor}; rotate again to finish it`,
    ],
    ["Description", key.description],
    ["Created", formatTime(key.createdAt)],
    ["Updated", formatTime(key.updatedAt)],
  ]);
}

/** GET /keys/{id}: the key, then per Region what KMS says now and what Tether plans next. */
export function keyDetail(detail: KeyDetailResponse, options: ViewOptions): string {
  const { key } = detail;
  const rows = detail.regions.map((entry) => {
    const record = key.regions.find((region) => region.region === entry.region);
    const observed = entry.observed.error
      ? `unknown (${entry.observed.error})`
      : entry.observed.found === false
        ? "not found in KMS"
        : (entry.observed.keyState ?? "-");
    const failures =
      record && record.consecutiveFailures > 0 ? ` [${record.consecutiveFailures} failures]` : "";
    return [
      entry.region,
      observed,
      formatTime(entry.observed.validTo),
      formatTime(record?.lastImportedAt),
      `${withoutKeyPrefix(entry.nextAction.summary)}${failures}${entry.nextAction.renewAt ? ` (renew from ${formatTime(entry.nextAction.renewAt)})` : ""}`,
      entry.nextAction.due
        ? `due now (${formatTime(entry.nextAction.at)})`
        : formatWhen(entry.nextAction.at, options.now),
      entry.warmParameters === undefined
        ? "-"
        : entry.warmParameters
          ? `warm to ${formatTime(record?.importParameters?.validTo)}`
          : "cold",
    ];
  });
  const table = renderTable(
    ["REGION", "KMS STATE", "VALID TO", "LAST IMPORT", "NEXT ACTION", "WHEN", "IMPORT PARAMETERS"],
    rows,
    options.color,
  );
  const materials = detail.regions.flatMap((entry) =>
    (entry.materials ?? []).map((m) => [
      entry.region,
      m.keyMaterialId.slice(0, 16),
      m.state,
      m.importState ?? "-",
      formatTime(m.validTo),
      formatTime(m.rotationDate),
    ]),
  );
  const materialTable =
    materials.length === 0
      ? ""
      : `\n\n${renderTable(["REGION", "MATERIAL", "STATE", "IMPORT", "VALID TO", "ROTATED"], materials, options.color)}`;
  // How many Regions a restore would find warm import parameters in (no GetParametersForImport call).
  const warm =
    detail.warmParameters === undefined
      ? ""
      : `\nWarm params:   ${detail.warmParameters.warm} of ${detail.warmParameters.regions} Regions`;
  return `${keyFields(key, options)}${warm}\n\n${table}${materialTable}`;
}

/** POST /keys/{id}/rotate: the primary's materials after an in-key rotation, or the two keys of a swap. */
export function rotationResult(result: RotateResponse, options: ViewOptions): string {
  const { key } = result;
  const name = key.alias === undefined ? key.id : `${key.id} (${key.alias})`;
  if (result.successor !== undefined) {
    const successor = result.successor;
    const verb = result.resumed ? "Finished the interrupted key swap of" : "Swapped";
    const table = renderTable(
      ["", "KEY", "KEY ARN", "ALIAS", "MATERIAL REF"],
      [
        ["old", key.id, key.keyArn, key.alias ?? "-", key.materialRef],
        ["new", successor.id, successor.keyArn, successor.alias ?? "-", successor.materialRef],
      ],
      options.color,
    );
    return `${verb} ${key.id}: ${successor.alias ?? "the alias"} now names ${successor.id}; the old key stays managed for decryption until you retire it (tether keys unmanage / revoke)\n\n${table}`;
  }
  const rows = (result.materials ?? []).map((m) => [
    m.keyMaterialId.slice(0, 16),
    m.state,
    formatTime(m.validTo),
    formatTime(m.rotationDate),
  ]);
  const table = renderTable(["MATERIAL", "STATE", "VALID TO", "ROTATED"], rows, options.color);
  const verb = result.resumed ? "Finished the interrupted rotation of" : "Rotated";
  return `${verb} ${name} — ${result.rotations ?? 0} of 25 on-demand rotations used; material ref ${key.materialRef}\n\n${table}`;
}

/** What an action did in each Region, then the key as it is now. */
export function actionResult(verb: string, result: KeyActionResponse, options: ViewOptions): string {
  const { key } = result;
  const name = key.alias === undefined ? key.id : `${key.id} (${key.alias})`;
  const rows = Object.entries(result.regions).map(([region, outcome]) => {
    const record = key.regions.find((r) => r.region === region);
    return [
      region,
      outcome.errorName === undefined ? outcome.kind : `${outcome.kind}: ${outcome.errorName}`,
      record === undefined ? "-" : regionState(record),
      record === undefined ? "-" : regionValidTo(record),
    ];
  });
  const table =
    rows.length === 0
      ? "No Region was acted on."
      : renderTable(["REGION", "OUTCOME", "STATE", "VALID TO"], rows, options.color);
  return `${verb} ${name} — status ${statusLine(key, options.color)}\n\n${table}`;
}

/** Audit history, newest first. */
export function historyTable(events: readonly AuditEventView[], options: ViewOptions): string {
  if (events.length === 0) return "No history.";
  const rows = events.map((event) => [
    formatTime(event.time),
    event.detailType,
    event.region ?? "-",
    event.actor,
    eventDetail(event),
  ]);
  return renderTable(["TIME", "EVENT", "REGION", "ACTOR", "DETAIL"], rows, options.color);
}

function eventDetail(event: AuditEventView): string {
  const parts: string[] = [];
  if (event.summary !== undefined) parts.push(withoutKeyPrefix(event.summary));
  if (event.reason !== undefined) parts.push(`reason: ${withoutKeyPrefix(event.reason)}`);
  if (event.validTo !== undefined) parts.push(`valid to ${formatTime(event.validTo)}`);
  if (event.errorName !== undefined) {
    parts.push(`${event.errorName}${event.attempt === undefined ? "" : ` (attempt ${event.attempt})`}`);
  }
  if (event.severity !== undefined && event.reasonCode !== undefined) {
    parts.push(`[${event.severity} ${event.reasonCode}]`);
  }
  return parts.length === 0 ? "-" : parts.join("; ");
}

/** `tether sentinels`: one row per Region. */
export function sentinelsTable(items: SentinelsResponse["items"], options: ViewOptions): string {
  if (items.length === 0) return "No sentinels yet (the sweep creates them on its next run).";
  const rows = items.map((s) => [
    s.region,
    s.state !== "ready"
      ? "creating"
      : s.detectionBlind === true
        ? `${s.lastProbeState ?? "-"} (BLIND: no regional-loss detection)`
        : (s.lastProbeState ?? "-"),
    s.lastProbeAt === undefined ? "-" : formatTime(s.lastProbeAt),
    s.incident === undefined
      ? "none"
      : `REGIONAL LOSS since ${formatTime(s.incident.openedAt)} (${s.incident.keysMadeDue} key-Regions to restore)`,
    s.keyArn ?? "-",
  ]);
  return renderTable(["REGION", "STATE", "LAST PROBE", "INCIDENT", "KEY ARN"], rows, options.color);
}
