/**
 * Turns the untrusted parts of an API Gateway event into validated inputs: path parameters (URL-decoded,
 * bounded, no control characters), the query string (strict: unknown parameters are refused), and the body
 * (JSON only, size-limited, strict schema). The schemas come from lib/api/request-schemas.ts, which the
 * caller loads (app.ts, on the API's first request).
 */

import type { APIGatewayProxyEventV2WithIAMAuthorizer } from "aws-lambda";
import { ValidationError } from "../domain/errors.js";
import { duplicateMemberName } from "./duplicate-keys.js";
import { ErrorCode } from "./error-code.js";
import { HttpError } from "./http-error.js";
import type { RequestSchemas, Route } from "./route.js";
import { parseInput } from "./validate.js";

/**
 * Decodes each path parameter once and validates it (`id`: KeyReference).
 * @throws ValidationError naming the parameter
 */
export function readParams(
  raw: Readonly<Record<string, string>>,
  schemas: RequestSchemas,
): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, encoded] of Object.entries(raw)) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(encoded);
    } catch (error) {
      throw new ValidationError(name, "is not correctly URL-encoded", { cause: error });
    }
    params[name] = parseInput(schemas.KeyReference, decoded, name);
  }
  return params;
}

/**
 * The query string against the route's schema (none: no parameters allowed).
 * @throws ValidationError naming the parameter
 */
export function readQuery(
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
  route: Route,
  schemas: RequestSchemas,
): unknown {
  const query = event.queryStringParameters ?? {};
  return parseInput(route.query?.(schemas) ?? schemas.NoQuery, { ...query });
}

/**
 * The JSON body against the route's schema. An absent body is `{}` unless the route requires one.
 * @throws HttpError 413 over `maxBytes`, 415 when it is not declared application/json; ValidationError for
 *   an absent required body, malformed JSON, or a schema violation (naming the field)
 */
export function readBody(
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
  route: Route,
  maxBytes: number,
  schemas: RequestSchemas,
): unknown {
  if (route.body === undefined) return undefined;
  const schema = route.body(schemas);
  const raw = typeof event.body === "string" ? event.body : "";
  const bytes = event.isBase64Encoded === true ? Buffer.from(raw, "base64") : Buffer.from(raw, "utf8");
  if (bytes.length > maxBytes) {
    throw new HttpError(413, ErrorCode.PayloadTooLarge, `The request body is over ${maxBytes} bytes.`);
  }
  if (bytes.length === 0) {
    if (route.bodyRequired === true) throw new ValidationError("body", "is required (a JSON object)");
    return parseInput(schema, {});
  }
  const contentType = header(event, "content-type");
  const mediaType = contentType?.split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/json") {
    throw new HttpError(415, ErrorCode.UnsupportedMediaType, "Send the body as application/json.", {
      field: "content-type",
    });
  }
  let value: unknown;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError("body", "is not valid JSON", { cause: error });
  }
  const duplicate = duplicateMemberName(text);
  if (duplicate !== undefined) {
    throw new ValidationError(`body.${duplicate.slice(0, 64)}`, "appears more than once in one object");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError("body", "must be a JSON object");
  }
  return parseInput(schema, value);
}

/** A header by name, whatever its case (HTTP API lower-cases them; local callers may not). */
export function header(event: APIGatewayProxyEventV2WithIAMAuthorizer, name: string): string | undefined {
  const headers = event.headers ?? {};
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && typeof value === "string") return value;
  }
  return undefined;
}
