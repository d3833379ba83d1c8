import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { reserveSlots, type SlotRequest } from "../domain/quota-slots.js";
import { isConditionFailed } from "./dynamo-helpers.js";
import { type DynamoStoreOptions, type ResolvedStoreOptions, resolveStoreOptions } from "./store-options.js";

/**
 * One KMS request budget per account, Region and operation (KMS counts its quotas per account and Region:
 * https://docs.aws.amazon.com/kms/latest/developerguide/limits.html), shared by every function and Lambda
 * instance of the deployment (the limiter's SharedBudget, lib/kms/rate-limiter.ts):
 *   QUOTA#<account>#<region>#<operation>   BUDGET   tat: epoch ms before which no further call may start
 *   QUOTA#<region>#<operation>             BUDGET   the same, for a caller that named no account (the
 *                                                   deployment's own; the item of a single-account deployment)
 * A reservation reads `tat`, computes the callers' turns (lib/domain/quota-slots.ts) and writes the new
 * `tat` on condition that nobody moved it meanwhile (optimistic concurrency), trying again on a conflict.
 * The last value this process wrote is kept and tried first, so a busy process alone costs one conditional
 * write per reservation; a conflict costs a consistent read and another write.
 * The table is the deployment's, so two deployments in one account share nothing: each takes its own share.
 */
export const QUOTA_PREFIX = "QUOTA#";
export const QUOTA_SK = "BUDGET";
export const quotaPk = (region: string, operation: string, account?: string): string =>
  account === undefined
    ? `${QUOTA_PREFIX}${region}#${operation}`
    : `${QUOTA_PREFIX}${account}#${region}#${operation}`;

export interface QuotaBudgetOptions extends DynamoStoreOptions {
  /** Conflicting writes tolerated per reservation before it fails (and the limiter falls back). Default 10. */
  readonly maxAttempts?: number;
  /** Waits between conflicting attempts (jittered, growing); injected by tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export class QuotaBudgetContentionError extends Error {
  constructor(pk: string, attempts: number) {
    super(`The quota budget ${pk} changed under ${attempts} reservations in a row.`);
    this.name = "QuotaBudgetContentionError";
  }
}

export class DynamoQuotaBudget {
  readonly #o: ResolvedStoreOptions;
  readonly #maxAttempts: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  /** The `tat` this process last read or wrote, per item (undefined value: the item did not exist). */
  readonly #known = new Map<string, number | undefined>();
  /** DynamoDB requests sent (reads and writes), for the cost figures. */
  requests = 0;

  constructor(options: QuotaBudgetOptions) {
    this.#o = resolveStoreOptions(options);
    this.#maxAttempts = options.maxAttempts ?? 10;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
    if (!(Number.isInteger(this.#maxAttempts) && this.#maxAttempts >= 1)) {
      throw new RangeError("maxAttempts must be a positive integer");
    }
  }

  /**
   * Reserves turns for callers in order (undefined: refused, past its deadline; nothing is written when
   * every caller is refused).
   * @throws QuotaBudgetContentionError after maxAttempts conflicting writes; DynamoDB's errors as they come
   */
  async reserve(request: SlotRequest): Promise<readonly (number | undefined)[]> {
    const pk = quotaPk(request.region, request.operation, request.account);
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const current = this.#known.has(pk) ? this.#known.get(pk) : await this.#read(pk);
      const grant = reserveSlots(current, request.now(), request.intervalMs, request.deadlines);
      if (grant.granted === 0 || grant.tat === undefined) return grant.slots;
      try {
        this.requests++;
        await this.#o.doc.send(
          new PutCommand({
            TableName: this.#o.tableName,
            Item: { pk, sk: QUOTA_SK, tat: grant.tat, intervalMs: request.intervalMs },
            ...(current === undefined
              ? { ConditionExpression: "attribute_not_exists(pk)" }
              : {
                  ConditionExpression: "tat = :current",
                  ExpressionAttributeValues: { ":current": current },
                }),
          }),
        );
        this.#known.set(pk, grant.tat);
        return grant.slots;
      } catch (error) {
        if (!isConditionFailed(error)) {
          this.#known.delete(pk);
          throw error;
        }
        // Another process reserved meanwhile: after a short jittered pause (so racing processes spread out),
        // read its value and compute again.
        this.#known.delete(pk);
        await this.#sleep(Math.ceil(this.#random() * 5 * attempt));
      }
    }
    throw new QuotaBudgetContentionError(pk, this.#maxAttempts);
  }

  async #read(pk: string): Promise<number | undefined> {
    this.requests++;
    const out = await this.#o.doc.send(
      new GetCommand({
        TableName: this.#o.tableName,
        Key: { pk, sk: QUOTA_SK },
        ConsistentRead: true,
        ProjectionExpression: "tat",
      }),
    );
    const tat = out.Item?.tat;
    const value = typeof tat === "number" && Number.isFinite(tat) ? tat : undefined;
    this.#known.set(pk, value);
    return value;
  }
}
