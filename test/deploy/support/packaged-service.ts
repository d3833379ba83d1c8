import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The repository root (test/deploy/support → three levels up). */
export const REPO_ROOT = resolve(import.meta.dirname, "../../..");

/** Entries osls and serverless-esbuild write: each packaging run gets its own, so test files can run in parallel. */
const BUILD_OUTPUTS = new Set([".serverless", ".esbuild", ".build", ".git"]);

/** The part of a CloudFormation template the tests read. */
export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Parameters?: Record<string, { Default?: unknown }>;
  readonly Conditions?: Record<string, unknown>;
  readonly Outputs?: Record<string, unknown>;
}
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Condition?: string;
  readonly DependsOn?: unknown;
}

export interface PackagedService {
  /** The working copy that was packaged (its .serverless holds the template and the zips). */
  readonly dir: string;
  readonly templatePath: string;
  readonly template: CfnTemplate;
  /** Path of a function's zip in .serverless. */
  zip(functionName: string): string;
  remove(): Promise<void>;
}

/**
 * Runs `npx osls package --stage <stage> [--param=<name>=<value>...]` offline, as CI does, in a temporary working copy whose entries are
 * symbolic links to the repository (so the sources packaged are the repository's own) and whose build
 * outputs (.serverless, .esbuild) are its own. No credentials: osls must not need any to package.
 * @throws Error with osls's output when packaging fails
 */
export async function packageService(
  stage = "ci",
  params: Readonly<Record<string, string>> = {},
): Promise<PackagedService> {
  const dir = await mkdtemp(join(tmpdir(), "tether-package-"));
  for (const entry of await readdir(REPO_ROOT)) {
    if (BUILD_OUTPUTS.has(entry)) continue;
    // osls does not take a symbolic link for its configuration file ("can only be run in a service directory").
    if (entry === "serverless.yml") await copyFile(join(REPO_ROOT, entry), join(dir, entry));
    else await symlink(join(REPO_ROOT, entry), join(dir, entry));
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SLS_TELEMETRY_DISABLED: "1",
    SLS_NOTIFICATIONS_MODE: "off",
    SLS_DEPRECATION_DISABLE: "*",
    // No AWS_* variables and no shared config: packaging is offline by contract.
    AWS_CONFIG_FILE: join(dir, "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-aws-credentials"),
  };
  try {
    const paramArgs = Object.entries(params).map(([name, value]) => `--param=${name}=${value}`);
    await run("npx", ["osls", "package", "--stage", stage, ...paramArgs], {
      cwd: dir,
      env,
      maxBuffer: 16 * 1024 * 1024,
      timeout: 240_000,
    });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    await rm(dir, { recursive: true, force: true });
    throw new Error(`osls package failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
  const templatePath = join(dir, ".serverless", "cloudformation-template-update-stack.json");
  const template = JSON.parse(await readFile(templatePath, "utf8")) as CfnTemplate;
  return {
    dir,
    templatePath,
    template,
    zip: (functionName) => join(dir, ".serverless", `${functionName}.zip`),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Resources of one type, by logical id. */
export function resourcesOfType(template: CfnTemplate, type: string): Array<[string, CfnResource]> {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/** The Lambda functions osls compiled: function name (as in serverless.yml) → resource. */
export function lambdaFunctions(template: CfnTemplate): Map<string, CfnResource> {
  const functions = new Map<string, CfnResource>();
  for (const [, resource] of resourcesOfType(template, "AWS::Lambda::Function")) {
    const handler = String(resource.Properties?.Handler ?? "");
    // functions/<name>.handler → <name>
    const name = handler.replace(/^functions\//, "").replace(/\.handler$/, "");
    functions.set(name, resource);
  }
  return functions;
}

/** Values the pseudo parameters take in placeholders (a made-up account). */
export const PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  "AWS::Partition": "aws",
  "AWS::AccountId": "123456789012",
  "AWS::Region": "eu-west-1",
};

/**
 * Replaces CloudFormation intrinsics with plausible strings, for checks that need a value of the right shape
 * (an environment variable) rather than the deployed one: Ref → `ref-<id>`, GetAtt → `att-<id>-<attr>`,
 * Sub → the string with pseudo parameters filled in and other `${...}` replaced by `sub-<name>`, Join/Split evaluated,
 * If → its second branch (what the stage's own parameters give when the stack makes nothing for it, e.g.
 * TETHER_AGENT_SIGNING_KEY without `vault: agent`; test/deploy/agent-signing-key.test.ts evaluates the condition).
 */
export function placeholderValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if ("Ref" in record) return `ref-${String(record.Ref)}`;
    if ("Fn::GetAtt" in record) return `att-${([] as unknown[]).concat(record["Fn::GetAtt"]).join("-")}`;
    if ("Fn::Sub" in record) {
      const sub = record["Fn::Sub"];
      const text = Array.isArray(sub) ? String(sub[0]) : String(sub);
      return text.replace(
        /\$\{([^}]+)\}/g,
        (_, name: string) => PSEUDO_PARAMETERS[name] ?? `sub-${name.replace(/[^A-Za-z0-9]/g, "")}`,
      );
    }
    if ("Fn::Join" in record) {
      const [separator, parts] = record["Fn::Join"] as [string, unknown[]];
      return parts.map(placeholderValue).join(separator);
    }
    if ("Fn::If" in record) return placeholderValue((record["Fn::If"] as [string, unknown, unknown])[2]);
  }
  throw new Error(`no placeholder for ${JSON.stringify(value)}`);
}
