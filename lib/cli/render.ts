/**
 * Plain-text rendering for people: aligned tables and readable times. No colour unless asked (the caller
 * decides from the terminal); widths are measured without ANSI codes so coloured cells still line up.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escape sequences is the point.
const ANSI = /\u001b\[[0-9;]*m/g;

export const Style = {
  bold: "1",
  dim: "2",
  red: "31",
  green: "32",
  yellow: "33",
} as const;
export type Style = (typeof Style)[keyof typeof Style];

export function paint(text: string, style: Style, color: boolean): string {
  return color ? `\u001b[${style}m${text}\u001b[0m` : text;
}

export function visibleLength(text: string): number {
  return text.replace(ANSI, "").length;
}

/**
 * An aligned table: a header row, then rows; columns separated by two spaces, trailing spaces trimmed.
 * Cells must be single-line (newlines are shown as spaces).
 */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  color = false,
): string {
  const clean = rows.map((row) => headers.map((_, i) => (row[i] ?? "").replace(/[\r\n]+/g, " ")));
  const widths = headers.map((header, i) =>
    Math.max(visibleLength(header), ...clean.map((row) => visibleLength(row[i] ?? ""))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) =>
        i === cells.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - visibleLength(cell)),
      )
      .join("  ")
      .trimEnd();
  const head = line(headers.map((header) => paint(header, Style.bold, color)));
  return [head, ...clean.map(line)].join("\n");
}

/** `label: value` lines with the values aligned; undefined values are left out. */
export function renderFields(fields: readonly (readonly [string, string | undefined])[]): string {
  const present = fields.filter((field): field is readonly [string, string] => field[1] !== undefined);
  const width = Math.max(0, ...present.map(([label]) => label.length + 1));
  return present.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${value}`).join("\n");
}

/** `2025-07-01 12:00:00Z`: UTC, seconds, no milliseconds. "-" when absent. */
export function formatTime(iso: string | undefined): string {
  if (iso === undefined) return "-";
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return iso;
  return `${time.toISOString().slice(0, 19).replace("T", " ")}Z`;
}

/** `in 6d 23h`, `3h 5m ago`, `now`: the two largest units. */
export function formatRelative(iso: string | undefined, now: Date): string {
  if (iso === undefined) return "";
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return "";
  const deltaMs = time - now.getTime();
  const seconds = Math.round(Math.abs(deltaMs) / 1000);
  if (seconds < 60) return "now";
  const units: [string, number][] = [
    ["d", 86_400],
    ["h", 3600],
    ["m", 60],
  ];
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count}${unit}`);
    if (parts.length === 2) break;
  }
  const text = parts.filter((part) => !part.startsWith("0")).join(" ");
  return deltaMs >= 0 ? `in ${text}` : `${text} ago`;
}

/** Time and relative time together: `2025-07-01 12:00:00Z (in 6d 23h)`. */
export function formatWhen(iso: string | undefined, now: Date): string {
  if (iso === undefined) return "-";
  const relative = formatRelative(iso, now);
  return relative ? `${formatTime(iso)} (${relative})` : formatTime(iso);
}
