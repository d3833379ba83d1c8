import type { Route } from "./route.js";

export type RouteMatch =
  | { readonly kind: "found"; readonly route: Route; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: "not-found" }
  | { readonly kind: "method-not-allowed"; readonly allow: readonly string[] };

interface CompiledRoute {
  readonly route: Route;
  /** A literal segment, or `{ param }`. */
  readonly segments: ReadonlyArray<string | { readonly param: string }>;
}

/**
 * Method + path → route. Paths are matched segment by segment on the raw (still URL-encoded) path, so an
 * encoded `/` inside `{id}` (`alias%2Fname`, a key ARN) stays one segment; parameters come back still
 * encoded, for the caller to decode and validate. An unknown path is "not-found"; a known path with another
 * method is "method-not-allowed" with the methods it has.
 */
export class Router {
  readonly #routes: readonly CompiledRoute[];

  constructor(routes: readonly Route[]) {
    this.#routes = routes.map((route) => ({
      route,
      segments: split(route.path).map((s) => {
        const param = /^\{([A-Za-z]+)\}$/.exec(s)?.[1];
        return param === undefined ? s : { param };
      }),
    }));
  }

  get routes(): readonly Route[] {
    return this.#routes.map((r) => r.route);
  }

  match(method: string, rawPath: string): RouteMatch {
    const segments = split(rawPath);
    const allow: string[] = [];
    for (const compiled of this.#routes) {
      const params = matchSegments(compiled.segments, segments);
      if (params === undefined) continue;
      if (compiled.route.method === method) return { kind: "found", route: compiled.route, params };
      allow.push(compiled.route.method);
    }
    return allow.length === 0 ? { kind: "not-found" } : { kind: "method-not-allowed", allow };
  }
}

function split(path: string): string[] {
  return path.split("/").slice(1);
}

function matchSegments(
  pattern: CompiledRoute["segments"],
  segments: readonly string[],
): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i];
    const actual = segments[i] ?? "";
    if (expected === undefined) return undefined;
    if (typeof expected === "string") {
      if (expected !== actual) return undefined;
    } else {
      if (actual === "") return undefined;
      params[expected.param] = actual;
    }
  }
  return params;
}
