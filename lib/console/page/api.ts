/**
 * Calls to the Tether API through the console's server, which signs them with the operator's credentials.
 * The page never holds credentials; the server checks the header below (see lib/console/guard.ts).
 */

export interface ApiAnswer {
  readonly ok: boolean;
  readonly status: number;
  /** The body as the API gave it (parsed JSON, or the text when it is not JSON). */
  readonly body: unknown;
}

/**
 * One call; a POST carries a fresh Idempotency-Key unless `idempotencyKey` is false (routes that refuse one,
 * such as POST /operations/{id}/approve, which dedupes by approver instead).
 */
export async function api(
  method: string,
  path: string,
  body?: unknown,
  { idempotencyKey = true }: { idempotencyKey?: boolean } = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { "x-tether-console": "1", accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method === "POST" && idempotencyKey) headers["idempotency-key"] = crypto.randomUUID();
  const response = await fetch(`/api${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text.length === 0 ? {} : JSON.parse(text);
  } catch {
    // not JSON: shown as text
  }
  return { ok: response.ok, status: response.status, body: parsed };
}

/** GET that throws on an error answer (the message shows the API's error as given). */
export async function get<T>(path: string): Promise<T> {
  const answer = await api("GET", path);
  if (!answer.ok) throw new Error(`GET ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as T;
}

/** Path segments encoded as the API expects (an alias such as alias/a/b stays one segment). */
export function route(...segments: string[]): string {
  return `/${segments.map((segment) => encodeURIComponent(segment)).join("/")}`;
}
