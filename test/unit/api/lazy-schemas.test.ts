/**
 * The API builds no zod schema at cold start: routes name their schemas by a function of where they live,
 * the request schemas are built on first read, and zod is reached from the function entries only through
 * dynamic import() (esbuild evaluates such modules when they are first imported). The cold-start benchmark
 * (bench/cold-start.ts) measures what this saves; this test keeps an import from undoing it.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import * as z from "zod";
import { requestSchemas } from "../../../lib/api/request-schemas.js";
import { apiRoutes } from "../../../lib/api/routes/index.js";
import * as S from "../../../lib/api/schemas.js";

const PROJECT_DIR = fileURLToPath(new URL("../../../", import.meta.url));

/** The inputs a bundle evaluates on import: reachable from the entry without crossing a dynamic import(). */
function staticInputs(metafile: Metafile, entry: string): Set<string> {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  for (let input = queue.shift(); input !== undefined; input = queue.shift()) {
    for (const imported of metafile.inputs[input]?.imports ?? []) {
      if (imported.kind === "dynamic-import" || imported.external === true || seen.has(imported.path))
        continue;
      seen.add(imported.path);
      queue.push(imported.path);
    }
  }
  return seen;
}

async function bundleInputs(entry: string): Promise<{ all: string[]; atInit: Set<string> }> {
  const serverless = parse(await readFile(`${PROJECT_DIR}serverless.yml`, "utf8")) as {
    custom: { esbuild: { mainFields: string[]; exclude: string[] } };
  };
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    format: "esm",
    target: "node22",
    mainFields: serverless.custom.esbuild.mainFields,
    external: serverless.custom.esbuild.exclude,
    absWorkingDir: PROJECT_DIR,
    outdir: "out",
    logLevel: "silent",
  });
  return { all: Object.keys(result.metafile.inputs), atInit: staticInputs(result.metafile, entry) };
}

describe("schemas built on first use", () => {
  it("gives every route's schemas from the request and response schemas, once built, the same instance", () => {
    for (const route of apiRoutes) {
      const query = route.query?.(requestSchemas);
      const body = route.body?.(requestSchemas);
      if (route.query !== undefined) expect(query, route.operationId).toBeInstanceOf(z.ZodType);
      if (route.body !== undefined) expect(body, route.operationId).toBeInstanceOf(z.ZodType);
      expect(route.response.schema(S), route.operationId).toBeInstanceOf(z.ZodType);
      // Read again: the same object, so the OpenAPI document's $refs and the handler's validation agree.
      expect(route.query?.(requestSchemas)).toBe(query);
      expect(route.body?.(requestSchemas)).toBe(body);
    }
    expect(requestSchemas.RegisterKeyBody).toBe(S.RegisterKeyBody);
    expect(requestSchemas.ImportPolicyInput).toBe(S.ImportPolicyInput);
    expect(S.KeyView.shape.policy).toBe(S.ImportPolicyInput);
  });

  it.each(["functions/api.ts", "functions/kms-events.ts", "functions/sweep.ts"])(
    "%s evaluates no zod at cold start (zod only behind dynamic import)",
    async (entry) => {
      const { all, atInit } = await bundleInputs(entry);
      // Only the api uses zod at all (its request schemas); the others no longer bundle it.
      expect(all.some((input) => input.includes("node_modules/zod/"))).toBe(entry === "functions/api.ts");
      // The walk from the entry did reach the function's module graph (not just the entry itself).
      expect(atInit.has("lib/config.ts")).toBe(true);
      expect([...atInit].filter((input) => input.includes("node_modules/zod/"))).toEqual([]);
      for (const lazy of [
        "lib/api/request-schemas.ts",
        "lib/api/response-schemas.ts",
        "lib/api/openapi.ts",
      ]) {
        expect(atInit.has(lazy), lazy).toBe(false);
      }
    },
    30_000,
  );
});
