import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../infra/local/runner/index.js";
import { buildCli, packCli } from "../../scripts/build-cli.js";
import { ADMIN, E2E_STACK_START_MS, startE2eStack } from "../support/e2e-stack.js";
import { signedFetch } from "./support.js";

/**
 * The CLI as a user installs it: `npm run pack:cli`'s tarball installed with `npm install -g` (offline, into
 * an empty prefix), run from an empty folder with plain Node on the PATH and nothing of the repository,
 * against the local stack.
 */
const run = promisify(execFile);
let root: string;
let prefix: string;
let work: string;
let tether: string;
let stack: LocalStack;
let keyId: string;

/** Only Node's own folder and the system's on the PATH: no node_modules/.bin of this repository. */
function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${join(prefix, "bin")}:${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: root,
    npm_config_cache: join(root, "npm-cache"),
    ...extra,
  };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tether-cli-package-"));
  prefix = join(root, "prefix");
  work = join(root, "work");
  await mkdir(work);
  const packageDir = await buildCli(join(root, "package"));
  const tarball = packCli(packageDir, root);
  await run("npm", ["install", "-g", "--offline", "--no-audit", "--no-fund", "--prefix", prefix, tarball], {
    cwd: work,
    env: env(),
  });
  tether = join(prefix, "bin", "tether");
  stack = await startE2eStack();
  const registered = await signedFetch(stack.apiUrl, {
    method: "POST",
    path: "/keys",
    credentials: ADMIN,
    body: {
      mode: "create",
      region: stack.region,
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: "package/first",
      generateMaterial: true,
      alias: "alias/packaged-cli",
    },
  });
  expect(registered.status).toBe(201);
  keyId = (registered.body as { key: { id: string } }).key.id;
}, E2E_STACK_START_MS + 120_000);

afterAll(async () => {
  await stack?.close();
  await rm(root, { recursive: true, force: true });
}, 30_000);

describe("the packed CLI, installed into an empty folder", () => {
  it("is one file with no dependencies, and installs a tether binary", async () => {
    expect(existsSync(tether)).toBe(true);
    const installed = join(prefix, "lib", "node_modules", "tether-cli");
    expect((await readdir(installed)).sort()).toEqual(["README.md", "chunks", "package.json", "tether.mjs"]);
    expect(existsSync(join(installed, "node_modules"))).toBe(false);
  });

  it("prints its help on plain Node", async () => {
    const { stdout } = await run(tether, ["--help"], { cwd: work, env: env() });
    expect(stdout).toContain("Usage: tether keys <command> [options]");
    expect(stdout).toContain("tether console");
  });

  it("lists the keys of the local stack, signing with the standard credential chain", async () => {
    const { stdout } = await run(tether, ["keys", "list", "--json"], {
      cwd: work,
      env: env({
        TETHER_API_URL: stack.apiUrl,
        AWS_REGION: stack.region,
        AWS_ACCESS_KEY_ID: ADMIN.accessKeyId,
        AWS_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
      }),
    });
    const listed = JSON.parse(stdout) as { items: { id: string; alias?: string }[] };
    expect(listed.items).toEqual([expect.objectContaining({ id: keyId, alias: "alias/packaged-cli" })]);
  });

  it("serves the console with its page built in", async () => {
    const child = spawn(tether, ["console", "--port", "0"], {
      cwd: work,
      env: env({ TETHER_API_URL: stack.apiUrl, AWS_REGION: stack.region, ...ADMIN_ENV }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
      });
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setInterval(() => {
          const found = /Open: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out);
          if (found?.[1]) {
            clearInterval(timer);
            resolve(found[1]);
          }
        }, 50);
        child.once("exit", (code) => reject(new Error(`tether console exited ${code}: ${out}`)));
      });
      const origin = new URL(url).origin;
      expect((await fetch(`${origin}/`)).status).toBe(403);
      const first = await fetch(url, { redirect: "manual" });
      expect(first.status).toBe(303);
      const cookie = (first.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      const script = await fetch(`${origin}/app.js`, { headers: { cookie } });
      expect(script.status).toBe(200);
      expect((await script.text()).length).toBeGreaterThan(1000);
      const keys = await fetch(`${origin}/api/keys`, { headers: { cookie, "x-tether-console": "1" } });
      expect(keys.status).toBe(200);
      expect(((await keys.json()) as { items: { id: string }[] }).items.map((k) => k.id)).toEqual([keyId]);
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  });
});

const ADMIN_ENV = { AWS_ACCESS_KEY_ID: ADMIN.accessKeyId, AWS_SECRET_ACCESS_KEY: ADMIN.secretAccessKey };
