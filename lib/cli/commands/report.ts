import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  type AuditEventView,
  HistoryResponse,
  KeyDetailResponse,
  KeyListResponse,
  type KeyView,
  MAX_PAGE_SIZE,
} from "../../api/schemas.js";
import { parseDuration } from "../../domain/duration.js";
import { route, type TetherApiClient } from "../client.js";
import type { CommandSpec } from "../command.js";
import { ApiError, UsageError } from "../errors.js";
import { choiceFlag, durationFlag, stringFlag, timestampFlag } from "../flags.js";
import { buildReport, type KeyEvidence } from "../report/build.js";
import { REPORT_FORMATS, type ReportFormat, renderReport } from "../report/render.js";
import { parseAnswer } from "./output.js";

const NAME = "report";
const DEFAULT_SINCE = "P30D";
const DEFAULT_WARNING_WINDOW = "P14D";
/** Keys read at once (each: its detail and its history). */
const READ_CONCURRENCY = 4;
/** Guards against a server that always answers with a next token. */
const MAX_PAGES = 1000;
const MAX_HISTORY_PAGES = 50;

export const reportCommand: CommandSpec = {
  name: "report",
  topLevel: true,
  summary:
    "The inventory report for auditors: every managed key and Region, events in the period, open findings",
  args: [],
  flags: {
    format: { type: "string", value: "F", description: "csv, json or html (default: csv)" },
    output: { type: "string", short: "o", value: "FILE", description: "write to FILE (default: stdout)" },
    since: {
      type: "string",
      value: "ISO|DURATION",
      description: `start of the period for rotations, key swaps, revokes and restores: a time (2025-07-01T00:00:00Z) or a duration back from now (default ${DEFAULT_SINCE})`,
    },
    "warning-window": {
      type: "string",
      value: "DURATION",
      description: `material expiring within this is a finding (default ${DEFAULT_WARNING_WINDOW})`,
    },
  },
  notes: [
    "Rows: key ARN, alias, spec and usage, vault and material reference (never material), check value,",
    "policy, ValidTo, last import and by whom, planned renewal, failures, and the period's events per row.",
    "Findings: failing Regions, material expiring within the warning window, unattributed losses.",
    "JSON follows docs/report.schema.json; HTML is one self-contained file with a 90-day timeline.",
    "Example: tether report --format html -o inventory.html --since 2025-01-01T00:00:00Z",
  ],
  async run(context, { flags }) {
    const format = choiceFlag(flags, "format", NAME, REPORT_FORMATS) ?? ("csv" as ReportFormat);
    const now = context.now();
    const since = sinceFlag(flags, now);
    const warningWindow = durationFlag(flags, "warning-window", NAME) ?? DEFAULT_WARNING_WINDOW;
    const output = stringFlag(flags, "output");
    const client = await context.client();
    const keys = await allKeys(client);
    const evidence: KeyEvidence[] = [];
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const key = keys[next++] as KeyView;
        evidence.push(await keyEvidence(client, key, since));
        context.progress(`reading keys: ${evidence.length}/${keys.length}`, evidence.length === keys.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, keys.length) }, worker));
    const report = buildReport({
      generatedAt: now,
      since,
      warningWindow,
      warningWindowMs: parseDuration(warningWindow, "warning-window"),
      api: client.apiUrl,
      keys: evidence,
    });
    const text = renderReport(report, format);
    if (output === undefined) {
      context.out(text.replace(/\r?\n$/, ""));
      return undefined;
    }
    const path = resolve(context.cwd, output);
    await writeFile(path, text, { mode: 0o600 });
    const s = report.summary;
    context.err(
      `wrote ${path}: ${s.keyRegions} key-Regions of ${s.keys} keys, ${s.failing} failing, ${s.expiring} expiring, ${s.unattributedLosses} unattributed losses, ${s.events} events since ${report.since}`,
    );
    return undefined;
  },
};

function sinceFlag(flags: Parameters<typeof stringFlag>[0], now: Date): Date {
  const raw = stringFlag(flags, "since") ?? DEFAULT_SINCE;
  if (raw.startsWith("P")) {
    const duration = durationFlag({ since: raw }, "since", NAME) as string;
    return new Date(now.getTime() - parseDuration(duration, "since"));
  }
  const at = timestampFlag({ since: raw }, "since", NAME) as string;
  if (Date.parse(at) > now.getTime()) throw new UsageError("--since must not be in the future", NAME);
  return new Date(at);
}

async function allKeys(client: TetherApiClient): Promise<KeyView[]> {
  const items: KeyView[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const body = await client.request("GET", route("keys"), {
      query: { limit: String(MAX_PAGE_SIZE), nextToken },
    });
    const answer = parseAnswer(KeyListResponse, body, "GET /keys");
    items.push(...answer.items);
    nextToken = answer.nextToken;
    if (nextToken === undefined) break;
  }
  return items;
}

/**
 * A key's detail and its history back to `since`, and further until every Region's last import is found
 * (so the report can say who made it), within MAX_HISTORY_PAGES.
 */
async function keyEvidence(client: TetherApiClient, key: KeyView, since: Date): Promise<KeyEvidence> {
  let detail: KeyDetailResponse;
  try {
    detail = parseAnswer(
      KeyDetailResponse,
      await client.request("GET", route("keys", key.id)),
      "GET /keys/{id}",
    );
  } catch (error) {
    // Unmanaged since the listing: reported as listed, without live state or history.
    if (error instanceof ApiError && error.status === 404) return { key, history: [] };
    throw error;
  }
  const history: AuditEventView[] = [];
  const oldestImport = Math.min(
    ...key.regions.map((r) =>
      r.lastImportedAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(r.lastImportedAt),
    ),
  );
  const back = Math.min(since.getTime(), oldestImport);
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_HISTORY_PAGES; page++) {
    const answer = parseAnswer(
      HistoryResponse,
      await client.request("GET", route("keys", key.id, "history"), {
        query: { limit: String(MAX_PAGE_SIZE), nextToken },
      }),
      "GET /keys/{id}/history",
    );
    history.push(...answer.items);
    nextToken = answer.nextToken;
    const oldest = answer.items.at(-1);
    if (nextToken === undefined || oldest === undefined || Date.parse(oldest.time) < back) break;
  }
  return { key, detail, history };
}
