import type { z } from "zod";
import { ValidationError } from "../domain/errors.js";

/**
 * Parses `value` with a route's schema; the first problem becomes a ValidationError naming the field as a
 * dotted path under `prefix` (e.g. `policy.validityPeriod`, `replicaRegions.0`, or the unknown field itself).
 * @throws ValidationError
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, prefix?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new ValidationError(prefix ?? "body", "is invalid");
  const path = issue.path.map(String);
  if (issue.code === "unrecognized_keys") {
    const [name] = issue.keys;
    return fail([...path, name ?? "?"], "is not a known field");
  }
  return fail(path, oneLine(issue.message));

  function fail(segments: string[], message: string): never {
    const field = [prefix, ...segments].filter((s) => s !== undefined && s !== "").join(".");
    throw new ValidationError(field === "" ? "body" : field, message);
  }
}

function oneLine(message: string): string {
  return message.replace(/\s+/g, " ").slice(0, 300);
}
