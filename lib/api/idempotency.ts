/**
 * POSTs honour an `Idempotency-Key` header through Powertools idempotency, persisted on Tether's table:
 * a retried request does the work once and gets the first answer back.
 *
 * - Key: the header + the caller's ARN + the route and its path parameters, so two callers (or two keys, or
 *   two actions) never share an answer even with the same header value.
 * - Payload validation on the body: the same key with another body is refused (409), not answered with
 *   the first body's result.
 * - Only answers are stored; a request that failed (any thrown error) leaves no record, so a retry runs.
 * - Items live under one static partition (`IDEMPOTENCY#api`) that no lib/store item uses (those are
 *   `KEY#`, `ARN#`, `ALIAS#`, `SYSTEM#`), and carry none of the table's index attributes, so they never
 *   appear in a listing, the due-work index or the outbox.
 * - Expiry: Powertools writes `expiration` (epoch seconds) and treats an expired record as absent itself
 *   (its conditional PutItem and its own check), so it works without DynamoDB TTL — dynalite has none. On
 *   AWS, enable TTL on `expiration` so old records are deleted.
 * https://docs.powertools.aws.dev/lambda/typescript/latest/features/idempotency/
 */
import { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { ValidationError } from "../domain/errors.js";
import type { RouteResult } from "./route.js";

/** The partition of every idempotency record in the Tether table. */
export const IDEMPOTENCY_PARTITION = "IDEMPOTENCY#api";
export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** Where Powertools writes a record's expiry (epoch seconds); the deployed table has TTL on it. */
export const IDEMPOTENCY_EXPIRY_ATTRIBUTE = "expiration";
/** How long an answer is replayed (Powertools' default is one hour). */
const DEFAULT_EXPIRES_AFTER_SECONDS = 60 * 60;
/** Visible ASCII, bounded: the header is part of a hashed key, and an echo of it must be harmless. */
const KEY_VALUE = /^[\x21-\x7e]{1,255}$/;

/** What identifies one idempotent request, and (`body`) what must be equal when it is retried. */
export interface IdempotentRequest {
  readonly key: string;
  readonly caller: string;
  /** `POST /keys/{id}/revoke` */
  readonly route: string;
  readonly params: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export interface IdempotencyGuard {
  /**
   * Runs `execute` once per request identity; a retry gets the stored answer.
   * @throws IdempotencyValidationError (same key, other body), IdempotencyAlreadyInProgressError, and
   *   whatever `execute` throws (then nothing is stored)
   */
  run(
    request: IdempotentRequest,
    context: Context,
    execute: () => Promise<RouteResult>,
  ): Promise<RouteResult>;
}

/**
 * Checks an Idempotency-Key header value.
 * @throws ValidationError (`Idempotency-Key`)
 */
export function parseIdempotencyKey(value: string): string {
  if (!KEY_VALUE.test(value)) {
    throw new ValidationError(IDEMPOTENCY_HEADER, "must be 1 to 255 visible ASCII characters");
  }
  return value;
}

/** The guard on Tether's table, with the SDK client passed in (reused across invocations). */
export function dynamoIdempotency(options: {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly expiresAfterSeconds?: number;
}): IdempotencyGuard {
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: options.tableName,
    keyAttr: "pk",
    sortKeyAttr: "sk",
    expiryAttr: IDEMPOTENCY_EXPIRY_ATTRIBUTE,
    staticPkValue: IDEMPOTENCY_PARTITION,
    awsSdkV3Client: options.client,
  });
  const config = new IdempotencyConfig({
    eventKeyJmesPath: "[key, caller, route, params]",
    payloadValidationJmesPath: "body",
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: options.expiresAfterSeconds ?? DEFAULT_EXPIRES_AFTER_SECONDS,
  });
  const once = makeIdempotent(
    (_request: IdempotentRequest, execute: () => Promise<RouteResult>) => execute(),
    { persistenceStore, config, keyPrefix: "tether-api", dataIndexArgument: 0 },
  );
  return {
    run(request, context, execute) {
      // In-progress records expire with the invocation, so a request killed by a timeout can be retried.
      config.registerLambdaContext(context);
      return once(request, execute);
    },
  };
}
