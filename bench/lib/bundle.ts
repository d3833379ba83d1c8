/**
 * Bundles a benchmark's child-process entry the way the functions are deployed: esbuild with serverless.yml's
 * custom.esbuild (bundle, minify, source map, target, ESM banner; `exclude` left external), so the child
 * runs as a Lambda runs the sweep — one bundle, plain node, no TypeScript loader in the process.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";
import { parse } from "yaml";
import { PROJECT_DIR } from "./child.js";

interface EsbuildCustom {
  readonly minify?: boolean;
  readonly sourcemap?: boolean;
  readonly target?: string;
  readonly platform?: "node";
  readonly format?: "esm" | "cjs";
  readonly banner?: { readonly js?: string };
  readonly exclude?: readonly string[];
  readonly outputFileExtension?: string;
}

/**
 * The NODE_OPTIONS the deployed functions run with (provider.environment.NODE_OPTIONS), split into
 * arguments, so a child started with them is as a Lambda is (e.g. --enable-source-maps).
 */
export async function lambdaNodeOptions(): Promise<string[]> {
  const doc = await serverlessYml();
  const options = doc.provider?.environment?.NODE_OPTIONS;
  return typeof options === "string" ? options.split(/\s+/).filter((a) => a.length > 0) : [];
}

/**
 * Writes `<outDir>/<name>.mjs` (and its map) from `entry` (relative to the project) and returns its path.
 * @throws Error when serverless.yml has no custom.esbuild, or esbuild fails
 */
export async function bundleEntry(entry: string, outDir: string, name: string): Promise<string> {
  const settings = (await serverlessYml()).custom?.esbuild;
  if (settings === undefined) throw new Error("serverless.yml has no custom.esbuild");
  const outfile = join(outDir, `${name}${settings.outputFileExtension ?? ".js"}`);
  await build({
    entryPoints: [join(PROJECT_DIR, entry)],
    outfile,
    bundle: true,
    minify: settings.minify ?? false,
    sourcemap: settings.sourcemap ?? false,
    target: settings.target ?? "node20",
    platform: settings.platform ?? "node",
    format: settings.format ?? "esm",
    banner: settings.banner?.js === undefined ? {} : { js: settings.banner.js },
    external: [...(settings.exclude ?? [])],
    logLevel: "silent",
    absWorkingDir: PROJECT_DIR,
  });
  return outfile;
}

async function serverlessYml(): Promise<{
  provider?: { environment?: Record<string, unknown> };
  custom?: { esbuild?: EsbuildCustom };
}> {
  // serverless.yml has ${...} variables, but the parts read here are plain YAML.
  return parse(await readFile(join(PROJECT_DIR, "serverless.yml"), "utf8"));
}
