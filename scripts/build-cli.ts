/**
 * `npm run build:cli` (`npm run pack:cli` also packs it): the CLI and its console as a package of its own
 * in dist/cli/: one ES module bundle (`tether.mjs`, every dependency and the console's page inside) that
 * runs on plain Node 20+, and a package.json with the `tether` binary and no dependencies, so
 * `npm install -g tether-<version>.tgz` works on a machine without this repository or a registry.
 *
 * Why a package of its own and not `npm pack` of the repository: the repository's package.json lists the
 * functions' runtime dependencies (the AWS SDK, pkcs11js with its native build, ...), which an install would
 * fetch and build, though the bundle needs none of them.
 */
import { execFileSync } from "node:child_process";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { buildConsoleAssets } from "../lib/console/assets.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
export const CLI_PACKAGE_DIR = join(ROOT, "dist/cli");
const BUNDLE = "tether.mjs";

/** Builds dist/cli/; returns its path. */
export async function buildCli(outDir: string = CLI_PACKAGE_DIR): Promise<string> {
  const root = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
    version: string;
    description: string;
    engines: Record<string, string>;
  };
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const assets = await buildConsoleAssets();
  const result = await build({
    entryPoints: [join(ROOT, "bin/tether.ts")],
    outdir: outDir,
    entryNames: "tether",
    outExtension: { ".js": ".mjs" },
    // What only some commands need (the credential chain: lib/cli/main.ts loads it on first use) goes to
    // chunks/, so `tether --help` parses less.
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minify: true,
    legalComments: "none",
    metafile: true,
    // Only the repository's CLI builds the page at run time; the bundle carries it built.
    define: { __TETHER_CONSOLE_ASSETS__: JSON.stringify(assets) },
    external: ["esbuild"],
    banner: {
      // CommonJS dependencies inside an ES module bundle still call require for Node's own modules.
      js: '#!/usr/bin/env node\nimport { createRequire as __tetherRequire } from "node:module";\nconst require = __tetherRequire(import.meta.url);',
    },
  });
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
  await chmod(join(outDir, BUNDLE), 0o755);
  const manifest = {
    name: "tether-cli",
    version: root.version,
    description: `${root.description} The operator CLI and its web console.`,
    type: "module",
    bin: { tether: BUNDLE },
    files: [BUNDLE, "chunks/", "README.md"],
    engines: root.engines,
    license: "UNLICENSED",
  };
  await writeFile(join(outDir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(
    join(outDir, "README.md"),
    "# tether-cli\n\nThe Tether operator CLI (`tether --help`) and its web console (`tether console`), " +
      "built from the Tether repository by `npm run build:cli`. One file, no dependencies; Node 20 or later.\n",
  );
  console.log(`built ${join(outDir, BUNDLE)} (${(bytes / 1024 / 1024).toFixed(1)} MiB)`);
  return outDir;
}

/** `npm pack` of dist/cli/ into `destination`; returns the tarball's path. */
export function packCli(packageDir: string, destination: string): string {
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", destination], {
    cwd: packageDir,
    encoding: "utf8",
  });
  const [packed] = JSON.parse(out) as { filename: string }[];
  if (packed === undefined) throw new Error("npm pack reported no tarball");
  return join(destination, packed.filename);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = await buildCli();
  if (process.argv.includes("--pack")) {
    console.log(`packed ${packCli(dir, join(ROOT, "dist"))}`);
  }
}
