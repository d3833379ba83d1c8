/**
 * Runs the rows of an adoption manifest against the API: a bounded number of requests at once, throttled
 * answers retried with backoff, each row's outcome recorded. The API and KMS limits are respected by the
 * bound (`concurrency` registrations in flight; each registration makes one GetParametersForImport and one
 * ImportKeyMaterial call per Region, which Tether's own KMS rate limiter paces) and by backing off on 429,
 * 503 and an unreachable API.
 */
import { AdoptionCheckResponse, KeyActionResponse, KeyDetailResponse } from "../../api/schemas.js";
import { route, type TetherApiClient } from "../client.js";
import { ApiError, ApiUnreachableError } from "../errors.js";
import type { ManifestRow, RowError } from "./manifest.js";

export type RowStatus =
  /** Registered by this run. */
  | "adopted"
  /** Done already: an earlier run's results file records it with the same Idempotency-Key. */
  | "skipped"
  /** Already managed with the row's material reference (adopted earlier, results file or not). */
  | "already-managed"
  /** Dry run: every check passed; nothing was changed. */
  | "checked"
  /** The API refused the row (or the manifest row is invalid): `error` says which field and why. */
  | "failed";

export interface RowResult {
  readonly row: number;
  readonly line?: number | undefined;
  readonly keyArn?: string | undefined;
  readonly status: RowStatus;
  readonly idempotencyKey?: string | undefined;
  /** Tether's id for the key, once managed. */
  readonly keyId?: string | undefined;
  /** Per Region, what the first import did (adopted rows). */
  readonly regions?: Readonly<Record<string, string>> | undefined;
  readonly error?: RowError | undefined;
  readonly attempts: number;
}

export interface AdoptRunOptions {
  readonly client: Pick<TetherApiClient, "request">;
  readonly rows: readonly ManifestRow[];
  readonly dryRun: boolean;
  readonly concurrency: number;
  /** Requests started per second at most, all workers together (API Gateway throttles POST /keys). */
  readonly ratePerSecond?: number | undefined;
  /** Idempotency keys an earlier run finished: those rows are skipped without a request. */
  readonly done: ReadonlySet<string>;
  /** Called as each row finishes, in the order they finish. */
  readonly onResult?: ((result: RowResult) => void) | undefined;
  /** Waits between retries; injected in tests. */
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
  /** Attempts per row for throttled or unanswered requests (default 5). */
  readonly maxAttempts?: number | undefined;
}

const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 8_000;

/** Every row's result, in manifest order. Never throws for a row's failure; each row records its own. */
export async function runAdoption(options: AdoptRunOptions): Promise<RowResult[]> {
  const paced = { ...options, pace: pacer(options) };
  const results: RowResult[] = new Array(options.rows.length);
  let next = 0;
  const worker = async () => {
    while (next < options.rows.length) {
      const index = next++;
      const row = options.rows[index] as ManifestRow;
      const result = await adoptRow(paced, row);
      results[index] = result;
      options.onResult?.(result);
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency, options.rows.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

/** Spaces request starts 1/rate apart across every worker (no limit without a rate). */
function pacer(options: AdoptRunOptions): () => Promise<void> {
  const rate = options.ratePerSecond;
  if (rate === undefined || rate <= 0) return async () => {};
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let next = 0;
  return async () => {
    const now = Date.now();
    const at = Math.max(now, next);
    next = at + 1000 / rate;
    if (at > now) await sleep(at - now);
  };
}

type PacedOptions = AdoptRunOptions & { readonly pace: () => Promise<void> };

async function adoptRow(options: PacedOptions, row: ManifestRow): Promise<RowResult> {
  const base = { row: row.row, line: row.line, keyArn: row.keyArn, idempotencyKey: row.idempotencyKey };
  if (row.body === undefined || row.idempotencyKey === undefined) {
    return { ...base, status: "failed", error: row.error ?? { message: "invalid row" }, attempts: 0 };
  }
  if (!options.dryRun && options.done.has(row.idempotencyKey)) {
    return { ...base, status: "skipped", attempts: 0 };
  }
  const maxAttempts = options.maxAttempts ?? 5;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      await options.pace();
      return { ...base, ...(await send(options, row)), attempts: attempt };
    } catch (error) {
      if (attempt < maxAttempts && retryable(error)) {
        const backoff = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
        await sleep(backoff / 2 + Math.random() * (backoff / 2));
        continue;
      }
      return { ...base, ...(await refused(options, row, error)), attempts: attempt };
    }
  }
}

async function send(
  options: AdoptRunOptions,
  row: ManifestRow,
): Promise<Pick<RowResult, "status" | "keyId" | "regions">> {
  if (options.dryRun) {
    AdoptionCheckResponse.parse(
      await options.client.request("POST", route("keys", "check"), { body: row.body, idempotencyKey: false }),
    );
    return { status: "checked" };
  }
  const answer = KeyActionResponse.parse(
    await options.client.request("POST", route("keys"), {
      body: row.body,
      idempotencyKey: row.idempotencyKey,
    }),
  );
  const regions = Object.fromEntries(Object.entries(answer.regions).map(([r, o]) => [r, o.kind]));
  return { status: "adopted", keyId: answer.key.id, regions };
}

/**
 * A refusal, except a 409 for a key that is already managed with the row's material reference: that row
 * was adopted before (by an earlier run whose results file is gone, say), so it counts as done.
 */
async function refused(
  options: AdoptRunOptions,
  row: ManifestRow,
  error: unknown,
): Promise<Pick<RowResult, "status" | "keyId" | "error">> {
  if (!options.dryRun && error instanceof ApiError && error.status === 409 && row.keyArn !== undefined) {
    const managed = await managedKey(options, row.keyArn);
    if (managed !== undefined && managed.materialRef === row.body?.materialRef) {
      return { status: "already-managed", keyId: managed.id };
    }
  }
  return { status: "failed", error: rowError(error) };
}

async function managedKey(
  options: AdoptRunOptions,
  keyArn: string,
): Promise<{ id: string; materialRef: string } | undefined> {
  try {
    const detail = KeyDetailResponse.parse(await options.client.request("GET", route("keys", keyArn)));
    return { id: detail.key.id, materialRef: detail.key.materialRef };
  } catch {
    return undefined;
  }
}

function retryable(error: unknown): boolean {
  if (error instanceof ApiUnreachableError) return true;
  if (!(error instanceof ApiError)) return false;
  // 409 "still in progress" for the same Idempotency-Key: its answer comes once the first finishes.
  const inProgress =
    error.status === 409 && error.field === "Idempotency-Key" && /in progress/.test(error.message);
  return error.status === 429 || error.status === 503 || inProgress;
}

function rowError(error: unknown): RowError {
  if (error instanceof ApiError) {
    return {
      field: error.field?.replace(/^body\./, "").replace(/^policy\./, ""),
      message: error.message,
      code: error.code,
      status: error.status,
    };
  }
  return { message: error instanceof Error ? error.message : String(error) };
}
