/**
 * The results file of `tether keys adopt`: what happened to each row, written atomically (a temporary file
 * renamed over it) as the run goes and when it ends, so a stopped run leaves a whole file, never half of
 * one. A later run reads it and skips the rows it records as done.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import type { RowResult, RowStatus } from "./run.js";

export interface AdoptionResults {
  readonly manifest: string;
  readonly dryRun: boolean;
  readonly startedAt: string;
  /** Absent while the run is under way. */
  readonly finishedAt?: string | undefined;
  readonly summary: Readonly<Record<RowStatus, number>> & { readonly rows: number };
  /** Manifest order; rows not finished yet are absent. */
  readonly rows: readonly RowResult[];
}

const DONE: ReadonlySet<RowStatus> = new Set(["adopted", "skipped", "already-managed"]);

/** Counts per status. */
export function summarize(
  rows: readonly (RowResult | undefined)[],
  total: number,
): AdoptionResults["summary"] {
  const summary: Record<RowStatus, number> = {
    adopted: 0,
    skipped: 0,
    "already-managed": 0,
    checked: 0,
    failed: 0,
  };
  for (const row of rows) if (row !== undefined) summary[row.status]++;
  return { rows: total, ...summary };
}

/** The Idempotency-Keys of rows an earlier (real, not dry) run finished. */
export function doneKeys(previous: unknown): Set<string> {
  const done = new Set<string>();
  const results = previous as Partial<AdoptionResults> | undefined;
  if (results?.dryRun !== false || !Array.isArray(results.rows)) return done;
  for (const row of results.rows) {
    if (row && DONE.has(row.status) && typeof row.idempotencyKey === "string") done.add(row.idempotencyKey);
  }
  return done;
}

/**
 * The earlier results file's content, or undefined when there is none.
 * @throws Error when it exists but is not JSON (the caller names the flag)
 */
export async function readResults(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return JSON.parse(text);
}

/** Writes the file whole: to a temporary name first, then renamed over the old one. */
export async function writeResults(path: string, results: AdoptionResults): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(results, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, path);
}
