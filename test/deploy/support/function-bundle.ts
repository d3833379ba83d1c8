/**
 * A function bundled as serverless-esbuild bundles it for a stage: serverless.yml's custom.esbuild handed to
 * esbuild, its `${param:…}` variables (the `define` of the vault and of the endpoints) resolved from
 * params.default and the given overrides, as osls resolves `--param`. Faster than `osls package` when a test
 * needs one bundle, or one per parameter value.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";
import { parse } from "yaml";
import { REPO_ROOT } from "./packaged-service.js";

export interface EsbuildCustom {
  readonly define?: Record<string, string>;
  readonly exclude?: string[];
  readonly mainFields?: string[];
  readonly banner?: { js?: string };
}

export interface ServerlessBuildSettings {
  readonly esbuild: EsbuildCustom;
  readonly params: Readonly<Record<string, unknown>>;
}

/** custom.esbuild and params.default of serverless.yml (parsed as data: the parts read hold no other variables). */
export async function serverlessBuildSettings(): Promise<ServerlessBuildSettings> {
  const doc = parse(await readFile(join(REPO_ROOT, "serverless.yml"), "utf8")) as {
    params: { default: Record<string, unknown> };
    custom: { esbuild: EsbuildCustom };
  };
  return { esbuild: doc.custom.esbuild, params: doc.params.default };
}

/**
 * Bundles functions/<name>.ts to `outfile` with serverless.yml's esbuild settings.
 * @param params `--param` overrides of params.default
 * @throws Error when a `${param:…}` of custom.esbuild.define has no value, or esbuild fails
 */
export async function bundleFunction(
  name: string,
  outfile: string,
  params: Readonly<Record<string, string>> = {},
): Promise<{ outfile: string; inputs: string[] }> {
  const { esbuild, params: defaults } = await serverlessBuildSettings();
  const values: Record<string, unknown> = { ...defaults, ...params };
  const define = Object.fromEntries(
    Object.entries(esbuild.define ?? {}).map(([constant, value]) => [
      constant,
      value.replace(/\$\{param:([\w-]+)\}/g, (variable, param: string) => {
        const resolved = values[param];
        if (typeof resolved !== "string") throw new Error(`serverless.yml: ${variable} has no value`);
        return resolved;
      }),
    ]),
  );
  const result = await build({
    entryPoints: [join(REPO_ROOT, "functions", `${name}.ts`)],
    outfile,
    bundle: true,
    minify: true,
    platform: "node",
    format: "esm",
    target: "node22",
    ...(esbuild.mainFields === undefined ? {} : { mainFields: esbuild.mainFields }),
    external: esbuild.exclude ?? [],
    banner: esbuild.banner?.js === undefined ? {} : { js: esbuild.banner.js },
    define,
    metafile: true,
    logLevel: "silent",
    absWorkingDir: REPO_ROOT,
  });
  return { outfile, inputs: Object.keys(result.metafile?.inputs ?? {}) };
}
