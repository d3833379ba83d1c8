import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ConsoleAssets } from "./server.js";

/**
 * Set by scripts/build-cli.ts when it bundles the CLI: the page, already built, inside the one file.
 * Undefined when the CLI runs from source (tsx), which builds the page on start instead.
 */
declare const __TETHER_CONSOLE_ASSETS__: ConsoleAssets | undefined;

const PAGE_ENTRY = fileURLToPath(new URL("./page/main.ts", import.meta.url));
const PAGE_CSS = fileURLToPath(new URL("./page/console.css", import.meta.url));

/** The page's script and stylesheet: built into the packaged CLI, or built now with esbuild from source. */
export async function loadConsoleAssets(): Promise<ConsoleAssets> {
  if (typeof __TETHER_CONSOLE_ASSETS__ !== "undefined") return __TETHER_CONSOLE_ASSETS__;
  return buildConsoleAssets();
}

/** Bundles lib/console/page with esbuild (a dev dependency: only the repository's CLI gets here). */
export async function buildConsoleAssets(): Promise<ConsoleAssets> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [PAGE_ENTRY],
    write: false,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["chrome120", "firefox120"],
    minify: true,
    legalComments: "none",
  });
  const js = result.outputFiles?.[0]?.text;
  if (js === undefined) throw new Error("esbuild produced no console script");
  return { js, css: await readFile(PAGE_CSS, "utf8") };
}
