/**
 * The packaged bundles do their work, not only load: the sweep and kms-events zips that `osls package`
 * writes (with `--param buildTarget=local`, the one build-time difference from a deployment), unzipped and
 * run by a plain `node` against the local AWS, restore a key whose material KMS lost.
 * This covers what the bundler chooses (the SDK's ES module build, custom.esbuild mainFields; the vault
 * adapter reached through a dynamic import) with real requests to KMS, DynamoDB and EventBridge.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ManagedKey } from "../../lib/domain/managed-key.js";
import { registerKey } from "../../lib/lifecycle/use-cases/register.js";
import { keyPk, regionSk } from "../../lib/store/item-keys.js";
import { testbedFunctionEnv } from "../support/deployed-function.js";
import {
  decrypt,
  encrypt,
  type LifecycleTestbed,
  startLifecycleTestbed,
} from "../support/lifecycle-testbed.js";
import { type PackagedService, packageService } from "./support/packaged-service.js";

const run = promisify(execFile);
const REGION = "eu-west-1";
const PLAINTEXT = "sealed before the loss";

let packaged: PackagedService;
let bed: LifecycleTestbed;
let unzipped: string;

beforeAll(async () => {
  // Built for the local AWS (`buildTarget=local`): a bundle built for AWS refuses the endpoint overrides that
  // reach it (endpoint-overrides.test.ts); everything else is the ci stage's packaging.
  [packaged, bed] = await Promise.all([
    packageService("ci", { buildTarget: "local" }),
    startLifecycleTestbed(),
  ]);
  unzipped = await mkdtemp(join(tmpdir(), "tether-bundles-work-"));
  for (const name of ["sweep", "kms-events"]) {
    await run("unzip", ["-q", packaged.zip(name), "-d", join(unzipped, name)]);
  }
}, 300_000);

afterAll(async () => {
  await packaged?.remove();
  await bed?.close();
  if (unzipped !== undefined) await rm(unzipped, { recursive: true, force: true });
});

/** Imports a function's bundle in a fresh node, calls its handler once, and returns what it returned. */
async function invoke(name: string, event: unknown): Promise<Record<string, unknown>> {
  const probe = `
    const { handler } = await import(${JSON.stringify(join(unzipped, name, "functions", `${name}.mjs`))});
    const context = { functionName: "tether-ci-${name}", functionVersion: "$LATEST", awsRequestId: "bundle-test",
      invokedFunctionArn: "arn:aws:lambda:${REGION}:123456789012:function:tether-ci-${name}", memoryLimitInMB: "512",
      getRemainingTimeInMillis: () => 60000 };
    const result = await handler(JSON.parse(process.argv[1]), context);
    process.stdout.write("\\nRESULT " + JSON.stringify(result) + "\\n");`;
  const { stdout } = await run(
    process.execPath,
    ["--input-type=module", "-e", probe, JSON.stringify(event)],
    {
      cwd: join(unzipped, name),
      env: {
        PATH: process.env.PATH,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        ...testbedFunctionEnv(bed),
        AWS_REGION: REGION,
        TETHER_SELF_PRINCIPALS: "arn:aws:iam::111122223333:role/tether-test-sweep",
      },
      timeout: 60_000,
    },
  );
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (line === undefined) throw new Error(`${name} printed no result: ${stdout.slice(-500)}`);
  return JSON.parse(line.slice("RESULT ".length)) as Record<string, unknown>;
}

async function registerOne(): Promise<{ key: ManagedKey; keyArn: string; sealed: Uint8Array }> {
  const { ref, checkValue } = await bed.putMaterial();
  const { key } = await registerKey(bed.deps, {
    mode: "create",
    region: REGION,
    keySpec: "SYMMETRIC_DEFAULT",
    materialRef: ref,
    checkValue,
    // RSA_2048: the emulator makes a real RSA pair per GetParametersForImport, and 4096-bit ones are slow.
    // attributionGrace PT0S, on purpose: this file proves the packaged bundles do their work, not the
    // attribution rules (unit/domain/attribution.test.ts, integration/lifecycle/attribution.test.ts). No
    // probe runs here, so the loss below has no sentinel to prove it regional: it is unexplained, and with
    // PT0S the sweep bundle takes that whole path in one visit (the alert, one CloudTrail lookup through
    // its bundled client, nothing found, restored as a local loss) where the default would alert and wait
    // PT15M.
    policy: {
      wrappingKeySpec: "RSA_2048",
      validityPeriod: "P30D",
      renewBefore: "P7D",
      attributionGrace: "PT0S",
    },
    actor: "test:setup",
    correlationId: `bundles-work-${ref}`,
  });
  const keyArn = key.regions[0]?.keyArn as string;
  return { key, keyArn, sealed: await encrypt(bed.kms(REGION), keyArn, PLAINTEXT) };
}

describe("the packaged bundles against the local AWS", () => {
  it("sweep restores a key whose material the Region lost, with the same material", async () => {
    const { key, keyArn, sealed } = await registerOne();
    await bed.aws.kms.admin.loseRegion(REGION);
    await expect(decrypt(bed.kms(REGION), keyArn, sealed)).rejects.toThrow();
    // Due now (the sweep would reach it at its next reconcile check): its place in the due-work index.
    const at = new Date(bed.now().getTime() - 1000);
    await bed.dynamodb.send(
      new UpdateItemCommand({
        TableName: bed.config.tableName,
        Key: { pk: { S: keyPk(key.id) }, sk: { S: regionSk(REGION) } },
        UpdateExpression: "SET dueAt = :at, nextCheckAt = :iso",
        ExpressionAttributeValues: { ":at": { N: String(at.getTime()) }, ":iso": { S: at.toISOString() } },
        ConditionExpression: "attribute_exists(pk)",
      }),
    );

    const report = await invoke("sweep", { id: "bundle-sweep", "detail-type": "Scheduled Event" });

    expect(report).toMatchObject({ processed: 1, outcomes: { restored: 1 } });
    expect(await decrypt(bed.kms(REGION), keyArn, sealed)).toBe(PLAINTEXT);
  }, 120_000);

  it("kms-events restores a key on its material-expiration event, with the same material", async () => {
    const { keyArn, sealed } = await registerOne();
    await bed.aws.kms.admin.loseRegion(REGION);
    const keyId = keyArn.slice(keyArn.lastIndexOf("/") + 1);

    const outcome = await invoke("kms-events", {
      version: "0",
      id: "bundle-kms-event",
      source: "aws.kms",
      "detail-type": "KMS Imported Key Material Expiration",
      account: keyArn.split(":")[4],
      time: new Date().toISOString(),
      region: REGION,
      resources: [keyArn],
      detail: { "key-id": keyId },
    });

    expect(outcome).toMatchObject({ kind: "handled", outcome: { kind: "restored" } });
    expect(await decrypt(bed.kms(REGION), keyArn, sealed)).toBe(PLAINTEXT);
  }, 120_000);
});
