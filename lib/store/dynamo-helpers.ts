import { ValidationError } from "../domain/errors.js";

/** The one SDK error the store understands; matched by name, as the SDK sets it from the wire's __type. */
export function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}

/**
 * An UpdateExpression that SETs `set` and REMOVEs `remove`, every attribute name behind a placeholder
 * (`region`, `status` and friends are reserved words). Placeholders are `#u<n>` / `:u<n>` so conditions can
 * use their own names beside them.
 */
export function updateExpression(
  set: Record<string, unknown>,
  remove: readonly string[] = [],
): {
  UpdateExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
} {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  const removes: string[] = [];
  let n = 0;
  for (const [name, value] of Object.entries(set)) {
    names[`#u${n}`] = name;
    values[`:u${n}`] = value;
    sets.push(`#u${n} = :u${n}`);
    n++;
  }
  for (const name of remove) {
    names[`#u${n}`] = name;
    removes.push(`#u${n}`);
    n++;
  }
  const parts = [];
  if (sets.length > 0) parts.push(`SET ${sets.join(", ")}`);
  if (removes.length > 0) parts.push(`REMOVE ${removes.join(", ")}`);
  return {
    UpdateExpression: parts.join(" "),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** Runs `fn` over `items` with at most `concurrency` at once; results in input order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** Largest page any listing hands out; DynamoDB caps a page at 1 MB anyway. */
export const MAX_PAGE_LIMIT = 1000;

/**
 * Checks a page size.
 * @throws ValidationError (`limit`) unless an integer in 1..1000
 */
export function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new ValidationError("limit", `must be an integer from 1 to ${MAX_PAGE_LIMIT}`);
  }
  return limit;
}
