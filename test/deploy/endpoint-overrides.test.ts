/**
 * A bundle built for AWS refuses endpoint overrides: whoever may change a function's configuration must not
 * be able to point KMS (or DynamoDB, EventBridge, STS, Secrets Manager) at their own server and receive the
 * material wrapped under their own public key. Each function is built as serverless-esbuild builds it for a
 * default stage (custom.esbuild, `define` resolved from params.default) and started by a plain `node`.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleFunction, serverlessBuildSettings } from "./support/function-bundle.js";

const run = promisify(execFile);
const FUNCTIONS = ["api", "sweep", "kms-events", "probe"] as const;

let dir: string;
const bundles = new Map<string, string>();
let refInputs: string[] = [];
let defaultInputs: string[] = [];
const SECRET_REF = "arn:aws:ssm:eu-west-1:123456789012:parameter/tether/prod/file-vault-passphrase";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tether-endpoint-overrides-"));
  for (const name of FUNCTIONS) {
    bundles.set(name, (await bundleFunction(name, join(dir, "aws", `${name}.mjs`))).outfile);
  }
  bundles.set(
    "sweep-local",
    (await bundleFunction("sweep", join(dir, "local", "sweep.mjs"), { buildTarget: "local" })).outfile,
  );
  const withRef = await bundleFunction("sweep", join(dir, "ref", "sweep.mjs"), {
    vaultSecretRef: SECRET_REF,
  });
  bundles.set("sweep-ref", withRef.outfile);
  refInputs = withRef.inputs;
  defaultInputs = (await bundleFunction("sweep", join(dir, "plain", "sweep.mjs"))).inputs;
}, 120_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** Imports a bundle in a fresh node with the function's environment plus `extra`: its cold start. */
async function coldStart(
  file: string,
  extra: Record<string, string>,
): Promise<{ handler?: string; error?: string; message?: string }> {
  const probe = `import(${JSON.stringify(file)}).then(
    (m) => console.log(JSON.stringify({ handler: typeof m.handler })),
    (e) => console.log(JSON.stringify({ error: e.name, message: String(e.message) })))`;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", probe], {
    env: {
      PATH: process.env.PATH,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      AWS_REGION: "eu-west-1",
      TETHER_TABLE_NAME: "tether-test",
      TETHER_AUDIT_BUS_NAME: "tether-test-audit",
      TETHER_VAULT: "file",
      TETHER_FILE_VAULT_DIR: join(dir, "vault"),
      ...extra,
    },
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split("\n").pop() as string);
}

describe("a bundle built for AWS", () => {
  it("is what a stage builds by default", async () => {
    const { esbuild, params } = await serverlessBuildSettings();
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an osls variable of serverless.yml
    expect(esbuild.define?.["process.env.TETHER_BUILD_TARGET"]).toBe('"${param:buildTarget}"');
    expect(params.buildTarget).toBe("aws");
  });

  it.each(FUNCTIONS)(
    "%s starts without endpoint overrides",
    async (name) => {
      expect(await coldStart(bundles.get(name) as string, {})).toEqual({ handler: "function" });
    },
    60_000,
  );

  it.each(FUNCTIONS)(
    "%s refuses to start with TETHER_KMS_ENDPOINT set, naming it",
    async (name) => {
      const result = await coldStart(bundles.get(name) as string, {
        TETHER_KMS_ENDPOINT: "http://198.51.100.7:4599",
      });
      expect(result.error).toBe("ConfigError");
      expect(result.message).toContain("TETHER_KMS_ENDPOINT is set, but this bundle was built for AWS");
    },
    60_000,
  );

  it.each([
    ["TETHER_DYNAMODB_ENDPOINT", "http://198.51.100.7:4598"],
    ["TETHER_EVENTS_ENDPOINT", "http://198.51.100.7:4597"],
    ["TETHER_SM_ENDPOINT", "http://198.51.100.7:5000"],
    ["TETHER_SM_STS_ENDPOINT", "http://198.51.100.7:5000"],
    ["TETHER_HCV_AWS_STS_ENDPOINT", "http://198.51.100.7:5000"],
    // The AWS SDK's own overrides, global and per service.
    ["AWS_ENDPOINT_URL", "http://198.51.100.7:4599"],
    ["AWS_ENDPOINT_URL_KMS", "http://198.51.100.7:4599"],
    ["AWS_ENDPOINT_URL_STS", "http://198.51.100.7:4599"],
  ])(
    "refuses %s too",
    async (variable, value) => {
      const result = await coldStart(bundles.get("sweep") as string, { [variable]: value });
      expect(result.error).toBe("ConfigError");
      expect(result.message).toContain(`${variable} is set, but this bundle was built for AWS`);
    },
    60_000,
  );
});

describe("a bundle built for AWS and vault secrets", () => {
  it.each([
    ["TETHER_FILE_VAULT_PASSPHRASE", "a passphrase"],
    ["TETHER_HCV_TOKEN", "hvs.token"],
    ["TETHER_PKCS11_PIN_SECRET_ENV", "HSM_PIN"],
  ])(
    "refuses %s in plain text, naming it and the reference that replaces it",
    async (variable, value) => {
      const result = await coldStart(bundles.get("api") as string, { [variable]: value });
      expect(result.error).toBe("ConfigError");
      expect(result.message).toContain(`${variable} is set, but this bundle was built for AWS`);
      expect(result.message).toContain("TETHER_VAULT_SECRET_REF");
      expect(result.message).not.toContain(value);
    },
    60_000,
  );

  it("holds the resolver and its SDK clients only when built with a reference", () => {
    const resolver = (inputs: string[]) =>
      inputs.filter((i) => i.includes("secret-reference") || i.includes("@aws-sdk/client-ssm/"));
    expect(resolver(defaultInputs)).toEqual([]);
    expect(resolver(refInputs)).not.toEqual([]);
  });

  it("refuses a reference when built without one", async () => {
    const result = await coldStart(bundles.get("sweep") as string, { TETHER_VAULT_SECRET_REF: SECRET_REF });
    expect(result.error).toBe("ConfigError");
    expect(result.message).toContain("built without a vault secret reference");
  }, 60_000);

  it("refuses a reference other than the one it was built with", async () => {
    const other = "arn:aws:ssm:eu-west-1:123456789012:parameter/someone/elses";
    const result = await coldStart(bundles.get("sweep-ref") as string, { TETHER_VAULT_SECRET_REF: other });
    expect(result.error).toBe("ConfigError");
    expect(result.message).toContain("is not the reference this bundle was built for");
  }, 60_000);

  it("reads its reference at init: an unreachable store fails the cold start, naming the reference", async () => {
    const result = await coldStart(bundles.get("sweep-ref") as string, {
      TETHER_VAULT_SECRET_REF: SECRET_REF,
      // No credentials and no instance metadata: the read fails at once instead of reaching AWS.
      AWS_EC2_METADATA_DISABLED: "true",
    });
    expect(result.error).toBe("ConfigError");
    expect(result.message).toContain(
      `TETHER_VAULT_SECRET_REF: ${SECRET_REF} could not be read from SSM Parameter Store`,
    );
  }, 60_000);
});

describe("a bundle built for the local AWS (buildTarget=local, test packagings only)", () => {
  it("starts with the overrides that reach the local AWS", async () => {
    const result = await coldStart(bundles.get("sweep-local") as string, {
      TETHER_KMS_ENDPOINT: "http://127.0.0.1:4599",
      TETHER_DYNAMODB_ENDPOINT: "http://127.0.0.1:4598",
      TETHER_EVENTS_ENDPOINT: "http://127.0.0.1:4597",
    });
    expect(result).toEqual({ handler: "function" });
  }, 60_000);
});
