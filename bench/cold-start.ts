/**
 * Benchmark 4: cold start. Each function is bundled as serverless-esbuild bundles it (custom.esbuild in
 * serverless.yml: bundle, minify, sourcemap, esm, node22, platform node, .mjs, the createRequire banner),
 * zipped, and loaded by fresh `node` processes with the function's environment set; module-init time is
 * the dynamic import() of the bundle. The baseline is a bare handler bundled the same way that imports and
 * constructs the same AWS SDK clients (found in the function bundle's metafile) and nothing else.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { parse } from "yaml";
import { PROJECT_DIR, runNode } from "./lib/child.js";
import { type Summary, summarize } from "./lib/stats.js";

const run = promisify(execFile);
export const FUNCTIONS = ["api", "sweep", "kms-events"] as const;

/** The SDK clients a bare handler constructs, by package: the class each exports. */
const CLIENT_CLASSES: Readonly<Record<string, string>> = {
  "@aws-sdk/client-dynamodb": "DynamoDBClient",
  "@aws-sdk/client-eventbridge": "EventBridgeClient",
  "@aws-sdk/client-kms": "KMSClient",
  "@aws-sdk/client-secrets-manager": "SecretsManagerClient",
  "@aws-sdk/client-sts": "STSClient",
};

export interface ColdStartOptions {
  readonly initRuns: number;
  readonly log?: (line: string) => void;
}

export interface ColdStartRow {
  readonly name: string;
  readonly bundleKb: number;
  readonly zipKb: number;
  /** The zip as serverless-esbuild packages it: bundle and its source map. */
  readonly zipWithMapKb: number;
  readonly initMs: Summary;
  readonly bare: { readonly clients: readonly string[]; readonly zipKb: number; readonly initMs: Summary };
  /** initMs.median / bare.initMs.median */
  readonly initRatio: number;
}

interface EsbuildCustom {
  minify?: boolean;
  sourcemap?: boolean;
  target?: string;
  platform?: "node";
  format?: "esm" | "cjs";
  outputFileExtension?: string;
  banner?: { js?: string };
}

async function esbuildSettings(): Promise<EsbuildCustom> {
  const { readFile } = await import("node:fs/promises");
  // serverless.yml has ${...} variables but custom.esbuild is plain YAML: parse the whole file as data.
  const doc = parse(await readFile(join(PROJECT_DIR, "serverless.yml"), "utf8")) as {
    custom?: { esbuild?: EsbuildCustom };
  };
  const settings = doc.custom?.esbuild;
  if (settings === undefined) throw new Error("serverless.yml has no custom.esbuild");
  return settings;
}

async function bundle(entry: string, outDir: string, name: string, settings: EsbuildCustom) {
  const outfile = join(outDir, `${name}${settings.outputFileExtension ?? ".js"}`);
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: settings.minify ?? false,
    sourcemap: settings.sourcemap ?? false,
    target: settings.target ?? "node22",
    platform: settings.platform ?? "node",
    format: settings.format ?? "esm",
    banner: settings.banner?.js === undefined ? {} : { js: settings.banner.js },
    // Not in custom.esbuild: pkcs11js (the HSM vault) loads a native .node addon that esbuild cannot bundle
    // without a loader; "file" copies it beside the bundle so the bundle loads. serverless-esbuild would
    // need the same (or pkcs11js as external) — reported, not changed here.
    loader: { ".node": "file" },
    metafile: true,
    logLevel: "silent",
    absWorkingDir: PROJECT_DIR,
  });
  const clients = new Set<string>();
  for (const input of Object.keys(result.metafile?.inputs ?? {})) {
    const match = /node_modules\/(@aws-sdk\/client-[a-z0-9-]+)\//.exec(input);
    if (match?.[1] !== undefined) clients.add(match[1]);
  }
  return { outfile, clients: [...clients].sort() };
}

async function zipKb(dir: string, files: readonly string[], name: string): Promise<number> {
  const zip = join(dir, `${name}.zip`);
  await run("zip", ["-q", "-X", "-j", zip, ...files]);
  return (await stat(zip)).size / 1024;
}

async function initMs(file: string, env: NodeJS.ProcessEnv): Promise<number> {
  const script =
    "const t0 = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - t0));";
  return Number(await runNode(["--input-type=module", "-e", script, file], env));
}

/** What every function reads at init (lib/config.ts, the file vault); endpoints are never contacted. */
function functionEnv(vaultDir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    TETHER_TABLE_NAME: "tether-bench",
    TETHER_AUDIT_BUS_NAME: "tether-bench-audit",
    TETHER_SELF_PRINCIPALS: "arn:aws:sts::*:assumed-role/tether-*",
    TETHER_FILE_VAULT_DIR: vaultDir,
    TETHER_FILE_VAULT_PASSPHRASE: "bench-passphrase",
    POWERTOOLS_LOG_LEVEL: "ERROR",
  };
}

export async function benchColdStart(options: ColdStartOptions): Promise<ColdStartRow[]> {
  const log = options.log ?? (() => {});
  const settings = await esbuildSettings();
  const dir = await mkdtemp(join(tmpdir(), "tether-cold-"));
  const rows: ColdStartRow[] = [];
  try {
    const env = functionEnv(join(dir, "vault"));
    for (const name of FUNCTIONS) {
      const fn = await bundle(join(PROJECT_DIR, "functions", `${name}.ts`), join(dir, name), name, settings);
      const known = fn.clients.filter((client) => CLIENT_CLASSES[client] !== undefined);
      const bareSource = [
        ...known.map((client, i) => `import { ${CLIENT_CLASSES[client]} as C${i} } from "${client}";`),
        ...known.map((_, i) => `const c${i} = new C${i}({});`),
        `export const handler = async () => [${known.map((_, i) => `c${i}`).join(", ")}].length;`,
      ].join("\n");
      const bareEntry = join(PROJECT_DIR, "bench", "results", `.bare-${name}.mjs`);
      await writeFile(bareEntry, bareSource);
      let bare: Awaited<ReturnType<typeof bundle>>;
      try {
        bare = await bundle(bareEntry, join(dir, `bare-${name}`), `bare-${name}`, settings);
      } finally {
        await rm(bareEntry, { force: true });
      }
      const fnTimes: number[] = [];
      const bareTimes: number[] = [];
      // Interleaved, so drift in the machine's load falls on both alike.
      for (let i = 0; i < options.initRuns; i++) {
        fnTimes.push(await initMs(fn.outfile, env));
        bareTimes.push(await initMs(bare.outfile, env));
      }
      const row: ColdStartRow = {
        name,
        bundleKb: (await stat(fn.outfile)).size / 1024,
        zipKb: await zipKb(dir, [fn.outfile], `${name}-code`),
        zipWithMapKb: await zipKb(dir, [fn.outfile, `${fn.outfile}.map`], `${name}-deployed`),
        initMs: summarize(fnTimes),
        bare: {
          clients: known,
          zipKb: await zipKb(dir, [bare.outfile], `bare-${name}`),
          initMs: summarize(bareTimes),
        },
        initRatio: summarize(fnTimes).median / summarize(bareTimes).median,
      };
      rows.push(row);
      log(
        `cold-start: ${name}: zip ${row.zipKb.toFixed(0)} KB, init ${row.initMs.median.toFixed(1)} ms (bare ${row.bare.initMs.median.toFixed(1)} ms)`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}
