/**
 * Event buses per Region, and the forwarding rule of infra/forwarding.yml: a replica Region's KMS
 * expiry event reaches Tether's kms-events rules (serverless.yml's patterns, in the home Region only)
 * through the forwarding rule, and only through it — over HTTP, with the real SDK.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { type LocalAws, startLocalAws } from "../../../infra/local/index.js";
import {
  applyForwardingRules,
  type ForwardingRule,
  loadForwardingRules,
} from "../../../infra/local/runner/forwarding.js";
import { PROJECT_ROOT } from "../../../infra/local/runner/index.js";
import { loadServerlessDefinition } from "../../../infra/local/runner/serverless-definition.js";
import { importKeyMaterial } from "../../support/kms-testbed.js";

const HOME = "eu-west-1";
const REPLICA = "eu-central-1";
const ACCOUNT = "111122223333";
const credentials = { accessKeyId: "AKIDREGIONS", secretAccessKey: "x" };
const HOUR = 3_600_000;

let aws: LocalAws;
let forwarding: ForwardingRule[];
const clients: Array<{ destroy(): void }> = [];

function kms(region: string): KMSClient {
  const client = new KMSClient({ endpoint: aws.endpoints.kms, region, credentials });
  clients.push(client);
  return client;
}

/** Tether's kms-events rules, read from serverless.yml as the local runner reads them, on the home bus. */
async function putKmsEventsRules(): Promise<void> {
  const definition = await loadServerlessDefinition(join(PROJECT_ROOT, "serverless.yml"), {
    stage: "local",
    region: HOME,
    accountId: ACCOUNT,
    params: { adminPrincipals: "x", readerPrincipals: "x", vault: "file", vaultSettings: "/tmp" },
  });
  const fn = definition.functions.find((f) => f.name === "kms-events");
  expect(fn?.eventRules.length).toBeGreaterThan(0);
  for (const [index, rule] of (fn?.eventRules ?? []).entries()) {
    aws.events.putRule({
      name: `kms-events-rule-${index + 1}`,
      region: HOME,
      eventPattern: rule.pattern,
      targets: [{ id: "kms-events", kind: "recorder" }],
    });
  }
}

async function expireMaterialIn(region: string): Promise<string> {
  const client = kms(region);
  const keyId = (await client.send(new CreateKeyCommand({ Origin: "EXTERNAL" }))).KeyMetadata?.KeyId ?? "";
  const now = (await aws.kms.admin.now()).getTime();
  await importKeyMaterial(client, keyId, randomBytes(32), { validTo: new Date(now + HOUR) });
  await aws.kms.admin.advanceClock(HOUR + 1000);
  return keyId;
}

const expiryOf = (keyId: string) => (e: { "detail-type": string; detail: unknown }) =>
  e["detail-type"] === "KMS Imported Key Material Expiration" &&
  (e.detail as { "key-id"?: string })["key-id"] === keyId;

beforeAll(async () => {
  aws = await startLocalAws({ ports: { kms: 0, dynamodb: 0, events: 0 } });
  forwarding = await loadForwardingRules(join(PROJECT_ROOT, "infra", "forwarding.yml"));
  await putKmsEventsRules();
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  await aws.close();
});
beforeEach(async () => {
  // CloudTrail records are not what these tests watch: keep them off the buses.
  await aws.kms.admin.setCloudTrail({ drop: true });
});

describe("event buses per Region", () => {
  it("PutEvents lands on the bus of the Region it was signed for; a rule sees only its own Region", async () => {
    aws.events.putRule({
      name: "custom-in-replica",
      region: REPLICA,
      eventPattern: { source: ["custom.regions"] },
      targets: [{ id: "replica-recorder", kind: "recorder" }],
    });
    for (const region of [HOME, REPLICA]) {
      const client = new EventBridgeClient({ endpoint: aws.endpoints.events, region, credentials });
      clients.push(client);
      await client.send(
        new PutEventsCommand({
          Entries: [
            { Source: "custom.regions", DetailType: "Probe", Detail: JSON.stringify({ from: region }) },
          ],
        }),
      );
    }
    await aws.events.drain();
    expect(aws.events.recorded("replica-recorder").map((e) => e.detail)).toEqual([{ from: REPLICA }]);
    expect(aws.events.events("default", HOME).filter((e) => e.source === "custom.regions")).toHaveLength(1);
    expect(aws.events.events("default", REPLICA).filter((e) => e.source === "custom.regions")).toHaveLength(
      1,
    );
  });

  it("a KMS event stays in its Region: without the forwarding rule a replica's expiry never reaches kms-events", async () => {
    const keyId = await expireMaterialIn(REPLICA);
    await vi.waitFor(() => expect(aws.events.events("default", REPLICA).some(expiryOf(keyId))).toBe(true), {
      timeout: 5000,
    });
    await aws.events.drain();
    expect(aws.events.events("default", HOME).some(expiryOf(keyId))).toBe(false);
    expect(aws.events.recorded("kms-events").some(expiryOf(keyId))).toBe(false);
  });

  it("refuses a cross-Region bus target without a role, as PutTargets does", () => {
    expect(() =>
      aws.events.putRule({
        name: "no-role",
        region: REPLICA,
        eventPattern: { source: ["aws.kms"] },
        targets: [{ id: "home", kind: "event-bus", arn: aws.events.eventBusArn("default", HOME) }],
      }),
    ).toThrow(/RoleArn/);
  });
});

describe("the forwarding rule of infra/forwarding.yml, applied by the runner's code", () => {
  it("sends a replica Region's expiry event to kms-events in the home Region, region unchanged", async () => {
    const applied = applyForwardingRules(aws.events, forwarding, {
      homeRegion: HOME,
      regions: [HOME, REPLICA],
      accountId: ACCOUNT,
    });
    expect(applied).toEqual([`${REPLICA}/tether-forwarding-KmsEventsForwardingRule`]);
    const home = kms(HOME);
    const keyId = await expireMaterialIn(REPLICA);
    await vi.waitFor(() => expect(aws.events.recorded("kms-events").some(expiryOf(keyId))).toBe(true), {
      timeout: 5000,
    });
    const [delivered] = aws.events.recorded("kms-events").filter(expiryOf(keyId));
    expect(delivered).toMatchObject({ source: "aws.kms", region: REPLICA, account: ACCOUNT });
    expect(delivered?.resources[0]).toContain(`:kms:${REPLICA}:`);
    home.destroy();

    // The home Region's own events are not forwarded anywhere (no rule there), and still arrive once.
    const homeKey = await expireMaterialIn(HOME);
    await vi.waitFor(() => expect(aws.events.recorded("kms-events").some(expiryOf(homeKey))).toBe(true), {
      timeout: 5000,
    });
    await aws.events.drain();
    expect(aws.events.recorded("kms-events").filter(expiryOf(homeKey))).toHaveLength(1);
    expect(aws.events.recorded("kms-events").filter(expiryOf(keyId))).toHaveLength(1);
  });

  it("forwards the replica's CloudTrail records too (AWS API Call via CloudTrail)", async () => {
    await aws.kms.admin.setCloudTrail({ drop: false, delayMs: 1000 });
    const client = kms(REPLICA);
    const arn = (await client.send(new CreateKeyCommand({ Origin: "EXTERNAL" }))).KeyMetadata?.Arn ?? "";
    await aws.kms.admin.advanceClock(1000);
    // CreateKey is not an event kms-events acts on; the bus of the home Region still receives it.
    await vi.waitFor(
      () =>
        expect(
          aws.events
            .events("default", HOME)
            .some(
              (e) =>
                e["detail-type"] === "AWS API Call via CloudTrail" && JSON.stringify(e.detail).includes(arn),
            ),
        ).toBe(true),
      { timeout: 5000 },
    );
  });
});
