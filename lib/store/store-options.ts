import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** Minutes a Lambda can live at most (900 s): a half-done registration older than this has died. */
const DEFAULT_STALE_CLAIM_MS = 15 * 60 * 1000;
const DEFAULT_QUERY_CONCURRENCY = 8;

export interface DynamoStoreOptions {
  /** Built once at module scope by the caller and shared; the store only wraps it in a document client. */
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** "Now" where the store needs it itself (claim ages, lease checks on save); default the system clock. */
  readonly clock?: (() => Date) | undefined;
  /**
   * A claim whose key record is missing (a registration that died between its claims and its key record)
   * may be taken over by another registration after this long. Default 15 minutes: the longest a Lambda
   * runs, so the registration that made it cannot still be running.
   */
  readonly staleClaimMs?: number | undefined;
  /** How many shard Queries run at once in due() / unpublished(), and key reads in list(). Default 8. */
  readonly queryConcurrency?: number | undefined;
}

export interface ResolvedStoreOptions {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly clock: () => Date;
  readonly staleClaimMs: number;
  readonly queryConcurrency: number;
}

/**
 * Defaults applied in one place.
 * @throws RangeError on an empty table name or a non-positive number
 */
export function resolveStoreOptions(options: DynamoStoreOptions): ResolvedStoreOptions {
  if (typeof options.tableName !== "string" || options.tableName.length === 0) {
    throw new RangeError("tableName must not be empty");
  }
  const staleClaimMs = options.staleClaimMs ?? DEFAULT_STALE_CLAIM_MS;
  const queryConcurrency = options.queryConcurrency ?? DEFAULT_QUERY_CONCURRENCY;
  if (!(Number.isFinite(staleClaimMs) && staleClaimMs >= 0)) {
    throw new RangeError("staleClaimMs must be a non-negative number");
  }
  if (!(Number.isInteger(queryConcurrency) && queryConcurrency >= 1)) {
    throw new RangeError("queryConcurrency must be a positive integer");
  }
  return {
    doc: DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    }),
    tableName: options.tableName,
    clock: options.clock ?? (() => new Date()),
    staleClaimMs,
    queryConcurrency,
  };
}
