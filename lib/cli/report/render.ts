/**
 * The report's three formats, from the built report (build.ts): pure string functions.
 * - CSV: one row per key and Region (RFC 4180), every row field plus the row's open findings.
 * - JSON: the report as docs/report.schema.json describes it.
 * - HTML: one self-contained file (inline CSS and SVG, a Content-Security-Policy that allows nothing
 *   external): the summary, the findings, a timeline of the next 90 days, the inventory and the events.
 */
import { formatCsv } from "../csv.js";
import { CSV_COLUMNS } from "./build.js";
import type { InventoryReport, ReportRow } from "./schema.js";

export type ReportFormat = "csv" | "json" | "html";
export const REPORT_FORMATS: readonly ReportFormat[] = ["csv", "json", "html"];

const DAY_MS = 86_400_000;
export const TIMELINE_DAYS = 90;

export function renderReport(report: InventoryReport, format: ReportFormat): string {
  if (format === "json") return `${JSON.stringify(report, null, 2)}\n`;
  if (format === "csv") return renderCsv(report);
  return renderHtml(report);
}

const rowKey = (r: { keyId: string; region: string }) => `${r.keyId} ${r.region}`;

function findingsByRow(report: InventoryReport): Map<string, string[]> {
  const byRow = new Map<string, string[]>();
  for (const finding of report.findings) {
    const kinds = byRow.get(rowKey(finding)) ?? [];
    if (!kinds.includes(finding.kind)) kinds.push(finding.kind);
    byRow.set(rowKey(finding), kinds);
  }
  return byRow;
}

export function renderCsv(report: InventoryReport): string {
  const findings = findingsByRow(report);
  const rows = report.rows.map((row) => [
    ...CSV_COLUMNS.map((column) => {
      const value = row[column];
      return value === undefined ? "" : String(value);
    }),
    (findings.get(rowKey(row)) ?? []).join(";"),
  ]);
  return formatCsv([...CSV_COLUMNS, "findings"], rows);
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1b1f24}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}
table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #ccd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eef}td.num{text-align:right}.failing{color:#b00020;font-weight:600}.expiring{color:#a15c00}
.revoked{color:#666}.unattributed-loss{color:#6a1b9a;font-weight:600}
.summary span{display:inline-block;margin-right:1.5em}svg text{font:11px system-ui,sans-serif}`;

function renderHtml(report: InventoryReport): string {
  const s = report.summary;
  const title = `Tether inventory report ${report.generatedAt}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p>Period from ${escapeHtml(report.since)}; findings for material expiring within ${escapeHtml(report.warningWindow)}${report.api === undefined ? "" : `; read from ${escapeHtml(report.api)}`}. Material is named by reference and check value only.</p>
<p class="summary"><span>${s.keys} keys</span><span>${s.keyRegions} key-Regions</span><span class="failing">${s.failing} failing</span><span class="expiring">${s.expiring} expiring</span><span class="unattributed-loss">${s.unattributedLosses} unattributed losses</span><span>${s.events} events in the period</span></p>
<h2>Open findings</h2>
${findingsTable(report)}
<h2>Next ${TIMELINE_DAYS} days</h2>
${timelineSvg(report)}
<h2>Inventory</h2>
${inventoryTable(report)}
<h2>Rotations, key swaps, revokes and restores in the period</h2>
${eventsTable(report)}
</body>
</html>
`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[], empty: string): string {
  if (rows.length === 0) return `<p>${escapeHtml(empty)}</p>`;
  const head = `<tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((cell) => `<td>${cell}</td>`).join("")}</tr>`).join("\n");
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function findingsTable(report: InventoryReport): string {
  return table(
    ["kind", "key", "Region", "detail", "since"],
    report.findings.map((f) => [
      `<span class="${f.kind}">${escapeHtml(f.kind)}</span>`,
      escapeHtml(f.keyArn),
      escapeHtml(f.region),
      escapeHtml(f.detail),
      escapeHtml(f.since ?? ""),
    ]),
    "None.",
  );
}

function inventoryTable(report: InventoryReport): string {
  const columns = CSV_COLUMNS.filter((c) => c !== "keyId");
  return table(
    ["key", ...columns],
    report.rows.map((row) => [
      escapeHtml(row.keyId),
      ...columns.map((column) => {
        const value = row[column];
        return escapeHtml(value === undefined ? "" : String(value));
      }),
    ]),
    "No managed keys.",
  );
}

function eventsTable(report: InventoryReport): string {
  return table(
    ["time", "kind", "key", "Region", "by", "reason"],
    report.events.map((e) => [
      escapeHtml(e.time),
      escapeHtml(e.kind),
      escapeHtml(e.relatedKeyId === undefined ? e.keyId : `${e.keyId} (with ${e.relatedKeyId})`),
      escapeHtml(e.region ?? ""),
      escapeHtml(e.actor),
      escapeHtml(e.reason ?? ""),
    ]),
    "None in the period.",
  );
}

/**
 * The timeline: one line per key-Region, days 0 to 90 from the report's time; a circle at ValidTo, a
 * diamond at the planned renewal (red when it falls after ValidTo), the line red for a failing Region and
 * grey with "revoked" for a revoked key; material past ValidTo shows a red mark at day 0.
 */
export function timelineSvg(report: InventoryReport): string {
  const label = 340;
  const width = 900;
  const scale = (width - label - 20) / TIMELINE_DAYS;
  const lineHeight = 18;
  const top = 24;
  const height = top + report.rows.length * lineHeight + 10;
  const start = Date.parse(report.generatedAt);
  const failing = new Set(report.findings.filter((f) => f.kind === "failing").map(rowKey));
  const x = (iso: string) => {
    const days = (Date.parse(iso) - start) / DAY_MS;
    return days < 0 || days > TIMELINE_DAYS ? undefined : label + days * scale;
  };
  const ticks = [0, 15, 30, 45, 60, 75, 90].map(
    (d) =>
      `<line x1="${label + d * scale}" y1="${top - 6}" x2="${label + d * scale}" y2="${height - 10}" stroke="#dde"/><text x="${label + d * scale}" y="${top - 10}" text-anchor="middle">${d === 0 ? "now" : `+${d}d`}</text>`,
  );
  const lines = report.rows.map((row, i) =>
    timelineLine(row, top + i * lineHeight + 12, {
      label,
      width,
      x,
      start,
      failing: failing.has(rowKey(row)),
    }),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="ValidTo and planned renewals over the next ${TIMELINE_DAYS} days" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<title>ValidTo (circle) and planned renewals (diamond) per key and Region, next ${TIMELINE_DAYS} days</title>
${ticks.join("\n")}
${lines.join("\n")}
</svg>`;
}

function timelineLine(
  row: ReportRow,
  y: number,
  at: {
    label: number;
    width: number;
    x: (iso: string) => number | undefined;
    start: number;
    failing: boolean;
  },
): string {
  const revoked = row.status === "revoked";
  const colour = at.failing ? "#b00020" : revoked ? "#999" : "#3b5bdb";
  const name = `${row.alias ?? row.keyId} ${row.region}${revoked ? " (revoked)" : at.failing ? " (failing)" : ""}`;
  const parts = [
    `<g data-key="${escapeHtml(row.keyId)}" data-region="${escapeHtml(row.region)}"${at.failing ? ' data-failing="true"' : ""}${revoked ? ' data-revoked="true"' : ""}>`,
    `<text x="4" y="${y + 4}" fill="${colour}">${escapeHtml(name.length > 52 ? `${name.slice(0, 51)}…` : name)}</text>`,
    `<line x1="${at.label}" y1="${y}" x2="${at.width - 20}" y2="${y}" stroke="${colour}" stroke-width="${at.failing ? 3 : 1}" stroke-dasharray="${revoked ? "4 3" : "none"}"/>`,
  ];
  if (row.validTo !== undefined) {
    const vx = at.x(row.validTo);
    const expired = Date.parse(row.validTo) < at.start;
    if (vx !== undefined) {
      parts.push(
        `<circle cx="${vx}" cy="${y}" r="5" fill="${colour}"><title>ValidTo ${escapeHtml(row.validTo)}</title></circle>`,
      );
    } else if (expired) {
      parts.push(
        `<circle cx="${at.label}" cy="${y}" r="5" fill="#b00020"><title>expired ${escapeHtml(row.validTo)}</title></circle>`,
      );
    }
  }
  if (row.plannedRenewalAt !== undefined) {
    const rx = at.x(row.plannedRenewalAt);
    const late = row.validTo !== undefined && row.plannedRenewalAt > row.validTo;
    if (rx !== undefined) {
      parts.push(
        `<path d="M${rx} ${y - 6}L${rx + 6} ${y}L${rx} ${y + 6}L${rx - 6} ${y}Z" fill="${late ? "#b00020" : "#2b8a3e"}"><title>renewal planned ${escapeHtml(row.plannedRenewalAt)}${late ? " (after ValidTo)" : ""}</title></path>`,
      );
    }
  }
  parts.push("</g>");
  return parts.join("");
}
