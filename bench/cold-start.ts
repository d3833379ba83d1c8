/**
 * Benchmark 4: cold start. Each function is bundled as serverless-esbuild bundles it (custom.esbuild in
 * serverless.yml, passed to esbuild the way the plugin passes it, its `define` of the vault resolved for
 * the default stage as osls resolves it, so only the file vault's adapter is bundled), zipped, and loaded
 * by fresh `node` processes with the function's environment set; module-init time is the dynamic import()
 * of the bundle.
 * The baseline is a bare handler bundled the same way that imports and constructs the AWS SDK clients the
 * function's bundle evaluates at init (found in its metafile: reachable from the entry without crossing a
 * dynamic import()) and nothing else.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { type BuildOptions, build, type Metafile } from "esbuild";
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

/**
 * Options of custom.esbuild that are serverless-esbuild's own, not esbuild's: the plugin removes them before
 * calling esbuild (node_modules/serverless-esbuild/dist/bundle.js), and so does this benchmark.
 */
const PLUGIN_OPTIONS = new Set([
  "concurrency",
  "zipConcurrency",
  "exclude",
  "nativeZip",
  "packager",
  "packagePath",
  "watch",
  "keepOutputDirectory",
  "packagerOptions",
  "installExtraArgs",
  "outputFileExtension",
  "outputBuildFolder",
  "outputWorkFolder",
  "nodeExternals",
  "skipBuild",
  "skipRebuild",
  "skipBuildExcludeFns",
  "stripEntryResolveExtensions",
  "disposeContext",
]);

export interface ColdStartOptions {
  readonly initRuns: number;
  readonly log?: (line: string) => void;
}

export interface ColdStartRow {
  readonly name: string;
  /** Every code file of the build (the bundle, and chunks if custom.esbuild splits). */
  readonly bundleKb: number;
  readonly zipKb: number;
  /** The zip as serverless-esbuild packages it: code and source maps. */
  readonly zipWithMapKb: number;
  /** Wall time of the import(). */
  readonly initMs: Summary;
  /** CPU time (user + system) of the import(): less sensitive than wall time to other work on the machine. */
  readonly initCpuMs: Summary;
  readonly bare: {
    readonly clients: readonly string[];
    readonly zipKb: number;
    readonly initMs: Summary;
    readonly initCpuMs: Summary;
  };
  /** SDK clients in the bundle that only a dynamic import() reaches (a vault adapter's), not evaluated at init. */
  readonly lazyClients: readonly string[];
  /** initMs.median / bare.initMs.median */
  readonly initRatio: number;
  /** initCpuMs.median / bare.initCpuMs.median */
  readonly initCpuRatio: number;
  /**
   * The machine's 1-minute load average when this function's runs began and ended: other work on the machine
   * inflates wall times (and, less, CPU times) of both sides; above the core count, trust the CPU ratio.
   */
  readonly machineLoad: { readonly before: number; readonly after: number };
}

type EsbuildCustom = Record<string, unknown> & {
  exclude?: string[];
  external?: string[];
  outputFileExtension?: string;
};

/**
 * custom.esbuild of serverless.yml, its `${param:…}` variables resolved as osls resolves them for the default
 * stage (params.default): `define` names the stage's vault, so the bundles hold the adapter a default-stage
 * deployment holds (the file vault) and no other.
 * @throws Error when custom.esbuild is missing or holds a variable this benchmark cannot resolve
 */
export async function esbuildSettings(): Promise<EsbuildCustom> {
  // serverless.yml has ${...} variables elsewhere; custom.esbuild has only ${param:…}: parse the file as data.
  const doc = parse(await readFile(join(PROJECT_DIR, "serverless.yml"), "utf8")) as {
    params?: { default?: Record<string, unknown> };
    custom?: { esbuild?: EsbuildCustom };
  };
  const settings = doc.custom?.esbuild;
  if (settings === undefined) throw new Error("serverless.yml has no custom.esbuild");
  const params = doc.params?.default ?? {};
  const resolve = (value: unknown): unknown => {
    if (typeof value === "string") {
      const resolved = value.replace(/\$\{param:([\w-]+)\}/g, (variable, name: string) => {
        const param = params[name];
        if (typeof param !== "string" && typeof param !== "number") {
          throw new Error(
            `serverless.yml: custom.esbuild uses ${variable}, which params.default does not set`,
          );
        }
        return String(param);
      });
      if (resolved.includes("${")) throw new Error(`serverless.yml: custom.esbuild: cannot resolve ${value}`);
      return resolved;
    }
    if (Array.isArray(value)) return value.map(resolve);
    if (typeof value === "object" && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
    }
    return value;
  };
  return resolve(settings) as EsbuildCustom;
}

/** custom.esbuild as serverless-esbuild hands it to esbuild: plugin options out, `exclude` made external. */
function buildOptions(settings: EsbuildCustom): BuildOptions {
  const options: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(settings)) if (!PLUGIN_OPTIONS.has(name)) options[name] = value;
  const exclude = settings.exclude ?? [];
  options.external = [...(settings.external ?? []), ...(exclude.includes("*") ? [] : exclude)];
  const extension = settings.outputFileExtension ?? ".js";
  if (extension !== ".js") options.outExtension = { ".js": extension };
  return options as BuildOptions;
}

interface Bundle {
  readonly outDir: string;
  readonly entryFile: string;
  readonly codeFiles: readonly string[];
  readonly mapFiles: readonly string[];
  readonly clients: readonly string[];
  readonly lazyClients: readonly string[];
}

async function bundle(entry: string, outDir: string, name: string, settings: EsbuildCustom): Promise<Bundle> {
  const result = await build({
    ...buildOptions(settings),
    entryPoints: { [name]: entry },
    outdir: outDir,
    metafile: true,
    logLevel: "silent",
    absWorkingDir: PROJECT_DIR,
  });
  const files = (await readdir(outDir, { recursive: true }))
    .filter((file) => !file.endsWith(".json"))
    .map((file) => join(outDir, file));
  const regular = (await Promise.all(files.map(async (f) => ((await stat(f)).isFile() ? f : "")))).filter(
    (f) => f !== "",
  );
  const atInit = clientsOf(staticInputs(result.metafile, entry));
  const all = clientsOf(Object.keys(result.metafile.inputs));
  return {
    outDir,
    entryFile: join(outDir, `${name}${settings.outputFileExtension ?? ".js"}`),
    codeFiles: regular.filter((f) => !f.endsWith(".map")),
    mapFiles: regular.filter((f) => f.endsWith(".map")),
    clients: atInit,
    lazyClients: all.filter((client) => !atInit.includes(client)),
  };
}

/** The inputs a bundle evaluates when it is imported: reachable from the entry by static imports and require(). */
function staticInputs(metafile: Metafile, entry: string): string[] {
  const root = Object.keys(metafile.inputs).find((input) => join(PROJECT_DIR, input) === entry);
  if (root === undefined) throw new Error(`${entry} is not an input of its own metafile`);
  const seen = new Set<string>([root]);
  const queue = [root];
  for (let input = queue.shift(); input !== undefined; input = queue.shift()) {
    for (const imported of metafile.inputs[input]?.imports ?? []) {
      if (imported.kind === "dynamic-import" || imported.external === true || seen.has(imported.path))
        continue;
      seen.add(imported.path);
      queue.push(imported.path);
    }
  }
  return [...seen];
}

function clientsOf(inputs: readonly string[]): string[] {
  const clients = new Set<string>();
  for (const input of inputs) {
    const match = /node_modules\/(@aws-sdk\/client-[a-z0-9-]+)\//.exec(input);
    if (match?.[1] !== undefined) clients.add(match[1]);
  }
  return [...clients].sort();
}

async function zipKb(dir: string, root: string, files: readonly string[], name: string): Promise<number> {
  const zip = join(dir, `${name}.zip`);
  // Paths relative to the build directory, as in the packaged zip (chunks keep their folder).
  await run("zip", ["-q", "-X", zip, ...files.map((f) => relative(root, f))], { cwd: root });
  return (await stat(zip)).size / 1024;
}

async function initMs(file: string, env: NodeJS.ProcessEnv): Promise<{ wall: number; cpu: number }> {
  const script =
    "const c0 = process.cpuUsage(); const t0 = performance.now(); await import(process.argv[1]); const c = process.cpuUsage(c0); process.stdout.write(String(performance.now() - t0) + ' ' + String((c.user + c.system) / 1000));";
  const [wall, cpu] = (await runNode(["--input-type=module", "-e", script, file], env))
    .split(" ")
    .map(Number);
  return { wall: wall ?? Number.NaN, cpu: cpu ?? Number.NaN };
}

/**
 * What every function reads at init (lib/config.ts); endpoints are never contacted. No passphrase: a bundle built
 * for AWS takes vault secrets only by reference, and the vault is built on first use, not at init.
 */
function functionEnv(vaultDir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    // The default stage's vault, which the bundles were built for (custom.esbuild.define).
    TETHER_VAULT: "file",
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    TETHER_TABLE_NAME: "tether-bench",
    TETHER_AUDIT_BUS_NAME: "tether-bench-audit",
    TETHER_SELF_PRINCIPALS: "arn:aws:iam::111122223333:role/tether-test-sweep",
    TETHER_FILE_VAULT_DIR: vaultDir,
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
      let bare: Bundle;
      try {
        bare = await bundle(bareEntry, join(dir, `bare-${name}`), name, settings);
      } finally {
        await rm(bareEntry, { force: true });
      }
      const fnTimes: Array<{ wall: number; cpu: number }> = [];
      const bareTimes: Array<{ wall: number; cpu: number }> = [];
      const loadBefore = loadavg()[0] ?? Number.NaN;
      // Interleaved, so drift in the machine's load falls on both alike.
      for (let i = 0; i < options.initRuns; i++) {
        fnTimes.push(await initMs(fn.entryFile, env));
        bareTimes.push(await initMs(bare.entryFile, env));
      }
      const sizes = await Promise.all(fn.codeFiles.map(async (f) => (await stat(f)).size));
      const fnWall = summarize(fnTimes.map((t) => t.wall));
      const fnCpu = summarize(fnTimes.map((t) => t.cpu));
      const bareWall = summarize(bareTimes.map((t) => t.wall));
      const bareCpu = summarize(bareTimes.map((t) => t.cpu));
      const row: ColdStartRow = {
        name,
        bundleKb: sizes.reduce((a, b) => a + b, 0) / 1024,
        zipKb: await zipKb(dir, fn.outDir, fn.codeFiles, `${name}-code`),
        zipWithMapKb: await zipKb(dir, fn.outDir, [...fn.codeFiles, ...fn.mapFiles], `${name}-deployed`),
        initMs: fnWall,
        initCpuMs: fnCpu,
        bare: {
          clients: known,
          zipKb: await zipKb(dir, bare.outDir, bare.codeFiles, `bare-${name}`),
          initMs: bareWall,
          initCpuMs: bareCpu,
        },
        lazyClients: fn.lazyClients,
        initRatio: fnWall.median / bareWall.median,
        initCpuRatio: fnCpu.median / bareCpu.median,
        machineLoad: { before: loadBefore, after: loadavg()[0] ?? Number.NaN },
      };
      rows.push(row);
      log(
        `cold-start: ${name}: zip ${row.zipKb.toFixed(0)} KB, init ${row.initMs.median.toFixed(1)} ms (bare ${row.bare.initMs.median.toFixed(1)} ms), CPU ${row.initCpuMs.median.toFixed(1)} ms (bare ${row.bare.initCpuMs.median.toFixed(1)} ms), load ${row.machineLoad.before.toFixed(1)}→${row.machineLoad.after.toFixed(1)}`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}
