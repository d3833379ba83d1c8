/**
 * The adoption manifest of `tether keys adopt`: CSV (a header row naming the columns) or JSON (an array of
 * rows, or `{"rows": [...]}`), one existing EXTERNAL key per row. Pure: text in, rows out; each row either
 * the POST /keys body it becomes or the error that keeps it from being sent, naming the field.
 */
import { createHash } from "node:crypto";
import { AdoptKeyBody, ImportPolicyInput } from "../../api/schemas.js";
import { CsvSyntaxError, parseCsv } from "../csv.js";

/** Columns besides the policy's own fields (expirationModel, validityPeriod, renewBefore, ...). */
export const KEY_COLUMNS = ["keyArn", "materialRef", "checkValue", "replicaRegions"] as const;
/** The policy fields a row may set, as the API names them; a CSV column may also be `policy.<field>`. */
export const POLICY_COLUMNS: readonly string[] = Object.keys(ImportPolicyInput.shape);
const BOOLEAN_COLUMNS = new Set(["restoreAfterLoss", "restoreAfterOutOfBandDelete"]);

/** A row's problem: which field, and what is wrong with it. */
export interface RowError {
  readonly field?: string | undefined;
  readonly message: string;
  /** The API's error code and HTTP status, when the API refused the row. */
  readonly code?: string | undefined;
  readonly status?: number | undefined;
}

/** One manifest row: its POST /keys body, or why it cannot be sent. */
export interface ManifestRow {
  /** 1-based position among the data rows (a CSV's header is not a row). */
  readonly row: number;
  /** The CSV line it starts on, for messages. */
  readonly line?: number | undefined;
  readonly keyArn?: string | undefined;
  readonly body?: Record<string, unknown> | undefined;
  readonly error?: RowError | undefined;
  /** Derived from the body: a rerun of the same row sends the same Idempotency-Key. */
  readonly idempotencyKey?: string | undefined;
}

/** The manifest as a whole cannot be read (not CSV or JSON, an unknown column, no rows). */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManifestError";
  }
}

export type ManifestFormat = "csv" | "json";

/** csv or json: a `.json` name or text starting with `[` or `{` is JSON, anything else CSV. */
export function manifestFormat(fileName: string, text: string): ManifestFormat {
  if (/\.json$/i.test(fileName)) return "json";
  if (/\.csv$/i.test(fileName)) return "csv";
  return /^\s*[[{]/.test(text) ? "json" : "csv";
}

/**
 * Reads a manifest. Rows that repeat an earlier row's keyArn or materialRef are refused (one key per
 * reference, one registration per key).
 * @throws ManifestError for a manifest that cannot be read at all
 */
export function parseManifest(text: string, format: ManifestFormat): ManifestRow[] {
  const raw = format === "json" ? jsonRows(text) : csvRows(text);
  if (raw.length === 0) throw new ManifestError("the manifest has no rows");
  const seenArn = new Map<string, number>();
  const seenRef = new Map<string, number>();
  return raw.map(({ row, line, fields, error }) => {
    const keyArn = typeof fields.keyArn === "string" ? fields.keyArn : undefined;
    if (error !== undefined) return { row, line, keyArn, error };
    const checked = checkRow(fields);
    if ("error" in checked) return { row, line, keyArn, error: checked.error };
    const repeated = repeatOf(checked.body, seenArn, seenRef, row);
    if (repeated !== undefined) return { row, line, keyArn, error: repeated };
    return { row, line, keyArn, body: checked.body, idempotencyKey: rowIdempotencyKey(checked.body) };
  });
}

interface RawRow {
  readonly row: number;
  readonly line?: number | undefined;
  readonly fields: Record<string, unknown>;
  readonly error?: RowError | undefined;
}

function jsonRows(text: string): RawRow[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(`not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const rows = Array.isArray(parsed) ? parsed : (parsed as { rows?: unknown } | null)?.rows;
  if (!Array.isArray(rows)) throw new ManifestError('JSON must be an array of rows or {"rows": [...]}');
  return rows.map((value, i) =>
    typeof value === "object" && value !== null && !Array.isArray(value)
      ? { row: i + 1, fields: { ...value } as Record<string, unknown> }
      : { row: i + 1, fields: {}, error: { message: "a row must be a JSON object" } },
  );
}

function csvRows(text: string): RawRow[] {
  let records: ReturnType<typeof parseCsv>;
  try {
    records = parseCsv(text);
  } catch (error) {
    if (error instanceof CsvSyntaxError) throw new ManifestError(`not CSV: ${error.message}`);
    throw error;
  }
  const [header, ...data] = records;
  if (header === undefined) return [];
  const columns = header.fields.map((name) => name.trim());
  const known = new Set<string>([...KEY_COLUMNS, ...POLICY_COLUMNS]);
  for (const column of columns) {
    if (!known.has(column.replace(/^policy\./, ""))) {
      throw new ManifestError(
        `unknown column "${column}" (columns: ${[...KEY_COLUMNS, ...POLICY_COLUMNS].join(", ")})`,
      );
    }
  }
  return data.map((record, i) => {
    if (record.fields.length !== columns.length) {
      return {
        row: i + 1,
        line: record.line,
        fields: {},
        error: { message: `has ${record.fields.length} fields, the header ${columns.length}` },
      };
    }
    return { row: i + 1, line: record.line, ...csvFields(columns, record.fields) };
  });
}

/** A CSV row as the JSON row it stands for: empty cells are absent, policy columns go under `policy`. */
function csvFields(
  columns: readonly string[],
  cells: readonly string[],
): { fields: Record<string, unknown>; error?: RowError } {
  const fields: Record<string, unknown> = {};
  const policy: Record<string, unknown> = {};
  for (const [i, column] of columns.entries()) {
    const cell = (cells[i] ?? "").trim();
    if (cell === "") continue;
    const name = column.replace(/^policy\./, "");
    if (name === "replicaRegions") {
      fields.replicaRegions = cell.split(/[;\s]+/).filter((r) => r.length > 0);
    } else if (BOOLEAN_COLUMNS.has(name)) {
      if (cell !== "true" && cell !== "false") {
        return { fields, error: { field: name, message: `must be true or false (got "${cell}")` } };
      }
      policy[name] = cell === "true";
    } else if (POLICY_COLUMNS.includes(name)) {
      policy[name] = cell;
    } else {
      fields[name] = cell;
    }
  }
  if (Object.keys(policy).length > 0) fields.policy = policy;
  return { fields };
}

function checkRow(fields: Record<string, unknown>): { body: Record<string, unknown> } | { error: RowError } {
  const { mode, ...rest } = fields;
  if (mode !== undefined && mode !== "adopt") {
    return {
      error: { field: "mode", message: 'a manifest adopts existing keys: mode must be "adopt" or absent' },
    };
  }
  for (const name of ["keyArn", "materialRef", "checkValue"]) {
    if (rest[name] === undefined) return { error: { field: name, message: "is required" } };
  }
  const body = { mode: "adopt", ...rest };
  const parsed = AdoptKeyBody.safeParse(body);
  if (parsed.success) return { body };
  const issue = parsed.error.issues[0];
  const path = issue?.path.join(".") ?? "";
  if (issue?.code === "unrecognized_keys") {
    const where = path === "" ? "" : `${path}.`;
    return { error: { field: `${where}${issue.keys[0]}`, message: "is not a manifest field" } };
  }
  return {
    error: { field: path.replace(/^policy\./, "") || undefined, message: issue?.message ?? "invalid" },
  };
}

function repeatOf(
  body: Record<string, unknown>,
  seenArn: Map<string, number>,
  seenRef: Map<string, number>,
  row: number,
): RowError | undefined {
  const arn = String(body.keyArn);
  const ref = String(body.materialRef);
  const arnRow = seenArn.get(arn);
  if (arnRow !== undefined) return { field: "keyArn", message: `repeats row ${arnRow}` };
  const refRow = seenRef.get(ref);
  if (refRow !== undefined) {
    return { field: "materialRef", message: `repeats row ${refRow} (one managed key per reference)` };
  }
  seenArn.set(arn, row);
  seenRef.set(ref, row);
  return undefined;
}

/**
 * The Idempotency-Key a row is sent with: a hash of its body, so running the same manifest again sends the
 * same key (the API answers a repeat with its first answer, doing nothing) and an edited row a new one.
 */
export function rowIdempotencyKey(body: Readonly<Record<string, unknown>>): string {
  return `tether-adopt-${createHash("sha256").update(canonicalJson(body)).digest("hex").slice(0, 40)}`;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
