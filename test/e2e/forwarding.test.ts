/**
 * The local runner with two Regions in TETHER_REGIONS: a replica Region's KMS expiry event reaches the
 * kms-events function (registered in the home Region only) through the forwarding rule the runner applies
 * from infra/forwarding.yml. kms-events is replaced by a recorder here; the rest is the real stack.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { LOCAL_ADMIN, type LocalStack, PROJECT_ROOT } from "../../infra/local/runner/index.js";
import { startE2eStack } from "../support/e2e-stack.js";
import { importKeyMaterial } from "../support/kms-testbed.js";

const HOME = "eu-west-1";
const REPLICA = "eu-central-1";
const HOUR = 3_600_000;

let stack: LocalStack;
let dir: string;
const received: Array<{ "detail-type": string; region: string; detail: Record<string, unknown> }> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tether-forwarding-"));
  // serverless.yml with the stack serving two Regions (as `--param regions=...` would set them).
  const text = await readFile(join(PROJECT_ROOT, "serverless.yml"), "utf8");
  // biome-ignore lint/suspicious/noTemplateCurlyInString: an osls variable of serverless.yml, not a template
  const twoRegions = text.replace("    regions: ${self:provider.region}", `    regions: ${HOME},${REPLICA}`);
  expect(twoRegions).not.toBe(text);
  const file = join(dir, "serverless.yml");
  await writeFile(file, twoRegions);
  stack = await startE2eStack({
    serverlessFile: file,
    handlers: {
      "kms-events": async (event) => {
        received.push(event as (typeof received)[number]);
        return { kind: "recorded" };
      },
    },
  });
  await stack.localAws.kms.admin.setCloudTrail({ drop: true });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function expireIn(region: string): Promise<string> {
  const kms = new KMSClient({ endpoint: stack.endpoints.kms, region, credentials: LOCAL_ADMIN });
  try {
    const keyId = (await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }))).KeyMetadata?.KeyId ?? "";
    const now = (await stack.localAws.kms.admin.now()).getTime();
    await importKeyMaterial(kms, keyId, randomBytes(32), { validTo: new Date(now + HOUR) });
    await stack.localAws.kms.admin.advanceClock(HOUR + 1000);
    return keyId;
  } finally {
    kms.destroy();
  }
}

describe("the local stack in two Regions", () => {
  it("does not hear a Region outside TETHER_REGIONS (no forwarding rule there)", async () => {
    const keyId = await expireIn("us-east-1");
    await vi.waitFor(
      () =>
        expect(
          stack.localAws.events.events("default", "us-east-1").some((e) => e.detail["key-id"] === keyId),
        ).toBe(true),
      { timeout: 10_000 },
    );
    await stack.localAws.events.drain();
    expect(received.some((e) => e.detail["key-id"] === keyId)).toBe(false);
  });

  it("delivers a replica Region's expiry event to kms-events through the forwarding rule", async () => {
    const kms = new KMSClient({ endpoint: stack.endpoints.kms, region: REPLICA, credentials: LOCAL_ADMIN });
    try {
      const keyId = (await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }))).KeyMetadata?.KeyId ?? "";
      const now = (await stack.localAws.kms.admin.now()).getTime();
      await importKeyMaterial(kms, keyId, randomBytes(32), { validTo: new Date(now + HOUR) });
      await stack.localAws.kms.admin.advanceClock(HOUR + 1000);
      await vi.waitFor(() => expect(received.some((e) => e.detail["key-id"] === keyId)).toBe(true), {
        timeout: 10_000,
      });
      const [event] = received.filter((e) => e.detail["key-id"] === keyId);
      expect(event).toMatchObject({ "detail-type": "KMS Imported Key Material Expiration", region: REPLICA });
      // It arrived on the home Region's bus, forwarded; kms-events' rules are not in the replica Region.
      expect(stack.localAws.events.events("default", HOME).some((e) => e.detail["key-id"] === keyId)).toBe(
        true,
      );
    } finally {
      kms.destroy();
    }
  });
});
