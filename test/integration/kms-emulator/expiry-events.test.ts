/**
 * Expiry by the emulator's clock, the "KMS Imported Key Material Expiration" event sent to the local
 * event bus, and the Region-loss fault (which sends none).
 */
import { randomBytes } from "node:crypto";
import { CreateKeyCommand, DescribeKeyCommand, type KMSClient, ListKeysCommand } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KmsEmulator, startKmsEmulator } from "../../../infra/local/kms/index.js";
import fixture from "../../fixtures/kms-events/key-material-expiration.json" with { type: "json" };
import {
  type FakeEventBus,
  importKeyMaterial,
  localKmsClient,
  startFakeEventBus,
} from "../../support/kms-testbed.js";

const HOUR = 60 * 60 * 1000;
let emulator: KmsEmulator;
let bus: FakeEventBus;
let kms: KMSClient;

beforeAll(async () => {
  bus = await startFakeEventBus();
  // A long tick: expiry here is driven by clock moves, so the periodic timer cannot race the assertions.
  emulator = await startKmsEmulator({ port: 0, eventBusUrl: bus.url, tickMs: 60_000 });
  kms = localKmsClient(emulator.url, "eu-west-1");
});
afterAll(async () => {
  kms.destroy();
  await emulator.close();
  await bus.close();
});

async function externalKey(): Promise<{ keyId: string; arn: string }> {
  const out = await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
  return { keyId: out.KeyMetadata?.KeyId ?? "", arn: out.KeyMetadata?.Arn ?? "" };
}

describe("expiry of imported material", () => {
  it("deletes the material at ValidTo, puts the key in PendingImport and emits exactly one event", async () => {
    const { keyId, arn } = await externalKey();
    const now = (await emulator.admin.now()).getTime();
    await importKeyMaterial(kms, keyId, randomBytes(32), { validTo: new Date(now + HOUR) });
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe("Enabled");
    const postsBefore = bus.posts.length;

    await emulator.admin.advanceClock(HOUR + 1000);
    const posts = await bus.waitForPosts(postsBefore + 1);
    const meta = (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    expect(meta?.KeyState).toBe("PendingImport");
    expect(meta?.ExpirationModel).toBeUndefined();

    const post = posts[postsBefore];
    expect(post?.path).toBe("/_local/service-events");
    const events = ((post?.body ?? {}) as { Events?: Record<string, unknown>[] }).Events ?? [];
    expect(events).toHaveLength(1);
    const event = events[0] ?? {};
    expect(Object.keys(event).sort()).toEqual(Object.keys(fixture).sort());
    expect(event).toMatchObject({
      version: "0",
      "detail-type": "KMS Imported Key Material Expiration",
      source: "aws.kms",
      account: "111122223333",
      region: "eu-west-1",
      resources: [arn],
      detail: { "key-id": keyId },
    });
    expect(event.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);

    // More time and more requests do not produce a second event for the same expiry.
    await emulator.admin.advanceClock(HOUR);
    await kms.send(new ListKeysCommand({}));
    const emitted = (await emulator.admin.events()).filter(
      (e) => (e.detail as { "key-id": string })["key-id"] === keyId,
    );
    expect(emitted).toHaveLength(1);
  });

  it("is processed lazily on a request as well (clock set without settling in between)", async () => {
    const { keyId } = await externalKey();
    const now = (await emulator.admin.now()).getTime();
    await importKeyMaterial(kms, keyId, randomBytes(32), { validTo: new Date(now + 2 * HOUR) });
    await emulator.admin.setClock(new Date(now + 3 * HOUR));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe(
      "PendingImport",
    );
  });
});

describe("Region loss", () => {
  it("removes every imported material in the Region without an event; other Regions are untouched", async () => {
    const lost = await externalKey();
    await importKeyMaterial(kms, lost.keyId, randomBytes(32));
    const other = localKmsClient(emulator.url, "ap-southeast-2");
    try {
      const safe = await other.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
      await importKeyMaterial(other, safe.KeyMetadata?.KeyId ?? "", randomBytes(32));
      const eventsBefore = (await emulator.admin.events()).length;

      const affected = await emulator.admin.loseRegion("eu-west-1");
      expect(affected).toContain(lost.keyId);
      const meta = (await kms.send(new DescribeKeyCommand({ KeyId: lost.keyId }))).KeyMetadata;
      expect(meta).toMatchObject({ KeyState: "PendingImport", Origin: "EXTERNAL", Arn: lost.arn });
      expect(
        (await other.send(new DescribeKeyCommand({ KeyId: safe.KeyMetadata?.KeyId }))).KeyMetadata?.KeyState,
      ).toBe("Enabled");
      expect(await emulator.admin.events()).toHaveLength(eventsBefore);
    } finally {
      other.destroy();
    }
  });
});
