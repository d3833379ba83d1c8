/**
 * CSV as RFC 4180 writes it (https://www.rfc-editor.org/rfc/rfc4180): comma-separated, a field with a
 * comma, quote, CR or LF in double quotes, a quote inside doubled. Pure: strings in, strings out.
 */

/** One parsed record and the line it started on (1-based), for messages that point at the file. */
export interface CsvRecord {
  readonly line: number;
  readonly fields: readonly string[];
}

/** Thrown for text that is not CSV (an unclosed quote, text after a closing quote). */
export class CsvSyntaxError extends Error {
  readonly line: number;

  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.name = "CsvSyntaxError";
    this.line = line;
  }
}

/**
 * Parses CSV text into records; blank lines are skipped, a leading BOM is dropped, CRLF and LF both end a
 * record.
 * @throws CsvSyntaxError naming the line
 */
export function parseCsv(text: string): CsvRecord[] {
  const source = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let start = 1;
  let quoted = false;
  let closed = false;
  const endRecord = () => {
    fields.push(field);
    if (fields.length > 1 || fields[0] !== "") records.push({ line: start, fields });
    fields = [];
    field = "";
    closed = false;
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    if (quoted) {
      if (c === '"' && source[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
        closed = true;
      } else {
        if (c === "\n") line++;
        field += c;
      }
    } else if (c === '"' && field === "" && !closed) {
      quoted = true;
    } else if (c === ",") {
      fields.push(field);
      field = "";
      closed = false;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && source[i + 1] === "\n") i++;
      endRecord();
      line++;
      start = line;
    } else if (closed || c === '"') {
      throw new CsvSyntaxError('a quote must enclose the whole field (write "" for a quote inside)', line);
    } else {
      field += c;
    }
  }
  if (quoted) throw new CsvSyntaxError("a quoted field is not closed", start);
  endRecord();
  return records;
}

/** One CSV field, quoted when it must be. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** CSV text (CRLF line ends, as RFC 4180 says) from a header and rows. */
export function formatCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, ...rows].map((row) => `${row.map(csvField).join(",")}\r\n`).join("");
}
