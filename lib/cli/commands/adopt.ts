import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  ManifestError,
  type ManifestRow,
  manifestFormat,
  POLICY_COLUMNS,
  parseManifest,
} from "../adopt/manifest.js";
import { type AdoptionResults, doneKeys, readResults, summarize, writeResults } from "../adopt/results.js";
import { type RowResult, runAdoption } from "../adopt/run.js";
import type { CommandSpec } from "../command.js";
import type { CliContext } from "../context.js";
import { UsageError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { booleanFlag, integerFlag, required, stringFlag } from "../flags.js";

const NAME = "keys adopt";
const DEFAULT_CONCURRENCY = 4;
const MAX_CONCURRENCY = 16;
/** Under API Gateway's default route throttle for POST /keys (apiWriteRate 5/s, infra/api.yml). */
const DEFAULT_RATE = 4;
const MAX_RATE = 1000;
/** The results file is rewritten after this many rows (and at the end). */
const SAVE_EVERY_ROWS = 25;
const BAR_WIDTH = 30;

export const adoptCommand: CommandSpec = {
  name: "adopt",
  summary: "Adopt many existing EXTERNAL keys from a CSV or JSON manifest (safe to run again)",
  args: [],
  flags: {
    manifest: {
      type: "string",
      value: "FILE",
      description: "the manifest: CSV with a header row, or JSON (an array of rows); required",
    },
    results: {
      type: "string",
      value: "FILE",
      description:
        "where to write what happened to each row (default: FILE.results.json, FILE.dry-run.json with --dry-run)",
    },
    "dry-run": {
      type: "boolean",
      description:
        "check every row (key exists, is EXTERNAL and unmanaged, material in the vault, check value matches) and change nothing",
    },
    concurrency: {
      type: "string",
      value: "N",
      description: `registrations at once, 1 to ${MAX_CONCURRENCY} (default ${DEFAULT_CONCURRENCY}); throttled answers are retried with backoff`,
    },
    rate: {
      type: "string",
      value: "N",
      description: `requests started per second at most (default ${DEFAULT_RATE}, under the API's POST /keys throttle of 5/s; raise it with apiWriteRate)`,
    },
  },
  notes: [
    "Columns (CSV header) or fields (JSON): keyArn, materialRef, checkValue (required); replicaRegions",
    "(separated by ; in CSV); policy fields as POST /keys takes them, flat in CSV or under policy in JSON:",
    `  ${POLICY_COLUMNS.join(", ")}`,
    "Example CSV:",
    "  keyArn,materialRef,checkValue,validityPeriod,renewBefore",
    "  arn:aws:kms:eu-west-1:111122223333:key/…,payments/k1,kcv-aes:…,P90D,P14D",
    "Each row is sent with an Idempotency-Key derived from its content; rows the results file records as",
    "done are skipped, and a key already managed with the row's material reference counts as done, so a",
    "rerun adopts only what is left. Exit code 6 when any row failed (the results file names each field).",
  ],
  async run(context, { flags }) {
    const manifestPath = resolve(context.cwd, required(stringFlag(flags, "manifest"), "manifest", NAME));
    const dryRun = booleanFlag(flags, "dry-run");
    const concurrency =
      integerFlag(flags, "concurrency", NAME, { min: 1, max: MAX_CONCURRENCY }) ?? DEFAULT_CONCURRENCY;
    const ratePerSecond = integerFlag(flags, "rate", NAME, { min: 1, max: MAX_RATE }) ?? DEFAULT_RATE;
    const resultsPath = resolve(
      context.cwd,
      stringFlag(flags, "results") ?? `${manifestPath}.${dryRun ? "dry-run" : "results"}.json`,
    );
    const rows = await readManifest(manifestPath);
    const done = dryRun ? new Set<string>() : doneKeys(await previousResults(resultsPath));
    const client = await context.client();
    const startedAt = context.now().toISOString();
    const finished: RowResult[] = [];
    const save = saver(resultsPath, manifestPath, dryRun, startedAt, rows.length);
    const results = await runAdoption({
      client,
      rows,
      dryRun,
      concurrency,
      ratePerSecond,
      done,
      onResult(result) {
        finished.push(result);
        report(context, result, finished, rows.length);
        if (finished.length % SAVE_EVERY_ROWS === 0) save(finished).catch(() => undefined);
      },
    });
    await save(results, context.now().toISOString());
    const summary = summarize(results, rows.length);
    if (context.json) context.out(JSON.stringify({ results: resultsPath, summary }, null, 2));
    else context.out(summaryLine(summary, dryRun, resultsPath));
    return summary.failed > 0 ? ExitCode.InvalidInput : undefined;
  },
};

async function readManifest(path: string): Promise<ManifestRow[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new UsageError(`--manifest: cannot read ${path} (${code})`, NAME, { cause: error });
  }
  try {
    return parseManifest(text, manifestFormat(path, text));
  } catch (error) {
    if (error instanceof ManifestError) {
      throw new UsageError(`--manifest ${path}: ${error.message}`, NAME, { cause: error });
    }
    throw error;
  }
}

async function previousResults(path: string): Promise<unknown> {
  try {
    return await readResults(path);
  } catch (error) {
    throw new UsageError(
      `--results: ${path} exists but cannot be read as a results file (${error instanceof Error ? error.message : String(error)}); move it away or name another`,
      NAME,
      { cause: error },
    );
  }
}

/** Saves the results file, one write at a time, rows in manifest order. */
function saver(path: string, manifest: string, dryRun: boolean, startedAt: string, total: number) {
  let chain: Promise<void> = Promise.resolve();
  return (rows: readonly RowResult[], finishedAt?: string): Promise<void> => {
    const ordered = [...rows].sort((a, b) => a.row - b.row);
    const results: AdoptionResults = {
      manifest,
      dryRun,
      startedAt,
      ...(finishedAt === undefined ? {} : { finishedAt }),
      summary: summarize(ordered, total),
      rows: ordered,
    };
    // A failed write is reported by the last one (awaited), not lost as an unhandled rejection.
    chain = chain.catch(() => undefined).then(() => writeResults(path, results));
    return chain;
  };
}

/** A bar on a terminal; a plain line per row otherwise (on stderr: stdout keeps the summary). */
function report(context: CliContext, result: RowResult, finished: readonly RowResult[], total: number): void {
  if (!context.interactive) {
    context.err(rowLine(result));
    return;
  }
  if (result.status === "failed") context.progress(rowLine(result), true);
  const failed = finished.filter((r) => r.status === "failed").length;
  const filled = Math.round((finished.length / total) * BAR_WIDTH);
  const bar = `${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}`;
  context.progress(
    `[${bar}] ${finished.length}/${total}${failed > 0 ? `, ${failed} failed` : ""}`,
    finished.length === total,
  );
}

export function rowLine(result: RowResult): string {
  const where = `row ${result.row}${result.line === undefined ? "" : ` (line ${result.line})`}`;
  const key = result.keyArn ?? "(no keyArn)";
  if (result.status !== "failed") {
    return `${where} ${result.status}: ${key}${result.keyId === undefined ? "" : ` as ${result.keyId}`}`;
  }
  const error = result.error;
  const field = error?.field === undefined ? "" : `${error.field}: `;
  const code = error?.status === undefined ? "" : ` (${error.status} ${error.code ?? ""})`.replace(" )", ")");
  return `${where} failed: ${key}: ${field}${error?.message ?? "refused"}${code}`;
}

function summaryLine(summary: AdoptionResults["summary"], dryRun: boolean, path: string): string {
  const parts = dryRun
    ? [`${summary.checked} would be adopted`, `${summary.failed} failed`]
    : [
        `${summary.adopted} adopted`,
        `${summary.skipped + summary["already-managed"]} already done`,
        `${summary.failed} failed`,
      ];
  return `${summary.rows} rows: ${parts.join(", ")}${dryRun ? " (dry run: nothing changed)" : ""}. Results: ${path}`;
}
