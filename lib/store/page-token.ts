import { ValidationError } from "../domain/errors.js";

/** Longer than any key we issue (pk + sk + index keys, well under 2 KB of JSON) yet bounded. */
const MAX_TOKEN_LENGTH = 4096;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A DynamoDB LastEvaluatedKey whose attributes are all strings (every key Tether pages over is). */
export type StringKey = Record<string, string>;

/** The opaque nextToken of a page: base64url of the LastEvaluatedKey's JSON. */
export function encodePageToken(lastEvaluatedKey: Record<string, unknown> | undefined): string | undefined {
  if (lastEvaluatedKey === undefined) return undefined;
  return Buffer.from(JSON.stringify(lastEvaluatedKey), "utf8").toString("base64url");
}

/**
 * Reads a nextToken back into an ExclusiveStartKey, trusting nothing: exactly the expected attribute names,
 * string values, and whatever `check` adds (e.g. that a history token belongs to the key asked about). A
 * forged or foreign token is the caller's mistake, so it is a ValidationError, never an SDK error (a 500).
 * @throws ValidationError (`nextToken`)
 */
export function decodePageToken(
  token: string | undefined,
  attributes: readonly string[],
  check: (key: StringKey) => boolean,
): StringKey | undefined {
  if (token === undefined) return undefined;
  const invalid = () => new ValidationError("nextToken", "is not a token issued by this listing");
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH || !BASE64URL.test(token)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch (error) {
    throw new ValidationError("nextToken", "is not a token issued by this listing", { cause: error });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw invalid();
  const entries = Object.entries(parsed);
  if (entries.length !== attributes.length) throw invalid();
  const key: StringKey = {};
  for (const name of attributes) {
    const value: unknown = (parsed as Record<string, unknown>)[name];
    if (!Object.hasOwn(parsed, name) || typeof value !== "string" || value.length === 0) throw invalid();
    key[name] = value;
  }
  if (!check(key)) throw invalid();
  return key;
}
