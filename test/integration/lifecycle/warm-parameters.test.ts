/**
 * Issue 16, item 1: warm import parameters, against the local AWS over HTTP. Each managed key-Region keeps
 * one valid set of import parameters with its Region record; a restore after a regional loss uses it (no
 * GetParametersForImport call, counted at the emulator), falls back to a fresh set once when the loss took
 * the tokens with it, and the sweep renews sets that would run out before the Region's next check from the
 * quota left over, reporting the share of warm key-Regions.
 */
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { KeyDetailResponse } from "../../../lib/api/schemas.js";
import { keyDetailView, keyView } from "../../../lib/api/views.js";
import { AuditDetailType } from "../../../lib/domain/audit-types.js";
import { HOUR_MS, MINUTE_MS } from "../../../lib/domain/duration.js";
import { parseAwsRegion, type TetherKeyId } from "../../../lib/domain/ids.js";
import type { ManagedKey } from "../../../lib/domain/managed-key.js";
import type { LifecycleDeps } from "../../../lib/lifecycle/ports.js";
import { probeSentinels } from "../../../lib/lifecycle/scheduled/sentinels.js";
import { sweep } from "../../../lib/lifecycle/scheduled/sweep.js";
import { changeKeyPolicy } from "../../../lib/lifecycle/use-cases/key-admin.js";
import { showKey } from "../../../lib/lifecycle/use-cases/queries.js";
import { keyPk, regionSk } from "../../../lib/store/item-keys.js";
import {
  decrypt,
  encrypt,
  type LifecycleTestbed,
  startLifecycleTestbed,
} from "../../support/lifecycle-testbed.js";
import { ACTOR, arnIn, describeKey, registerNew } from "./helpers.js";

const HOME = "eu-west-1";
const ENV = { TETHER_SENTINELS: "on", TETHER_REGIONS: HOME };

let bed: LifecycleTestbed;
/** Deps of a process of its own: a fresh KMS adapter whose memory holds no import parameters. */
const freshProcess = (env: Record<string, string> = {}): LifecycleDeps => bed.depsWith({ ...ENV, ...env });

beforeAll(async () => {
  bed = await startLifecycleTestbed();
  // The Region's sentinel first, so the loss below is a regional-loss incident.
  await sweep(freshProcess(), { correlationId: "sentinels" });
}, 120_000);
afterAll(async () => {
  await bed?.close();
});
beforeEach(async () => {
  await bed.aws.kms.admin.resetStats();
});

async function regionItem(keyId: TetherKeyId, region = HOME): Promise<Record<string, unknown>> {
  const out = await bed.dynamodb.send(
    new GetItemCommand({
      TableName: bed.config.tableName,
      Key: { pk: { S: keyPk(keyId) }, sk: { S: regionSk(parseAwsRegion(region)) } },
      ConsistentRead: true,
    }),
  );
  return unmarshall(out.Item ?? {});
}

async function calls(operation: string, region = HOME): Promise<number> {
  return (await bed.aws.kms.admin.stats()).calls[region]?.[operation] ?? 0;
}

/** GetParametersForImport calls the emulator's CloudTrail recorded for these keys since `since`. */
async function parameterCallsFor(keys: readonly ManagedKey[], since: Date): Promise<number> {
  const arns = keys.map((k) => arnIn(k, HOME));
  const { records } = await bed.aws.kms.admin.cloudTrail();
  return records.filter(
    (r) =>
      r.eventName === "GetParametersForImport" &&
      Date.parse(r.eventTime) >= since.getTime() - 1000 &&
      arns.some((arn) => JSON.stringify(r.detail).includes(arn)),
  ).length;
}

/** Loses the Region's material, lets the probe open the incident, and sweeps it in a process of its own. */
async function regionalLoss(invalidateImportTokens: boolean, deps: LifecycleDeps) {
  await bed.aws.kms.admin.loseRegion(HOME, { invalidateImportTokens });
  await bed.advance(MINUTE_MS);
  expect((await probeSentinels(deps, `probe-${Date.now()}`)).opened).toEqual([HOME]);
  await bed.aws.kms.admin.resetStats();
  const since = bed.now();
  const report = await sweep(deps, { correlationId: `restore-${Date.now()}`, warmParametersPerRun: 50 });
  return { report, since };
}

/** Every key this file registered: a regional loss restores all of them, whichever test made them. */
const managed: ManagedKey[] = [];
/**
 * RSA_2048 wrapping keys: the emulator makes a real RSA pair per GetParametersForImport, and 4096-bit ones
 * are slow to make (the item size of an RSA_4096 set is checked in test/integration/store/import-parameters).
 */
const POLICY = { wrappingKeySpec: "RSA_2048" };

async function register(deps: LifecycleDeps): Promise<ManagedKey> {
  const { key } = await registerNew(bed, POLICY, [], deps);
  managed.push(key);
  return key;
}

/** Makes a key's Region due now (as an incident does), so the next sweep looks at it. */
async function makeDue(key: ManagedKey): Promise<void> {
  const sentinels = freshProcess().sentinels;
  if (sentinels === undefined) throw new Error("sentinels are not wired");
  await sentinels.makeDue(key.id, parseAwsRegion(HOME), bed.now());
}

function b64(bytes: unknown): string {
  return Buffer.from(bytes as Uint8Array).toString("base64");
}

describe("warm import parameters", () => {
  it("registration stores the set with the Region record, which shows its validity and wrapping, never the set", async () => {
    const deps = freshProcess();
    const registeredAt = bed.now();
    const key = await register(deps);

    const item = await regionItem(key.id);
    const blob = item.importParameters as { publicKey: Uint8Array; importToken: Uint8Array };
    expect(blob.publicKey.length).toBeGreaterThan(250); // DER SubjectPublicKeyInfo of an RSA_2048 key
    expect(blob.importToken.length).toBeGreaterThan(0);
    const validTo = Number(item.paramsValidTo);
    expect(validTo).toBeGreaterThan(registeredAt.getTime() + 23 * HOUR_MS);
    expect(item.paramsWrappingAlgorithm).toBe("RSAES_OAEP_SHA_256");
    expect(item.paramsWrappingKeySpec).toBe("RSA_2048");
    // Far from DynamoDB's 400 KB item limit: AWS's ImportToken is at most 6,144 bytes (the API's limit),
    // an RSA_4096 public key about 550; the emulator's token carries the wrapping private key, so it is larger.
    const bytes =
      blob.publicKey.length +
      blob.importToken.length +
      JSON.stringify({ ...item, importParameters: 0 }).length;
    expect(blob.importToken.length).toBeLessThanOrEqual(6144);
    expect(bytes).toBeLessThan(16 * 1024);

    const stored = (await deps.keys.get(key.id))?.regions[0]?.storedParameters;
    expect(stored?.validTo.getTime()).toBe(validTo);
    expect(stored?.wrapping).toEqual({
      wrappingAlgorithm: "RSAES_OAEP_SHA_256",
      wrappingKeySpec: "RSA_2048",
    });

    // The views name the set's validity and wrapping only.
    const detail = KeyDetailResponse.parse(keyDetailView(await showKey(deps, key.id)));
    expect(detail.regions[0]?.warmParameters).toBe(true);
    expect(detail.warmParameters).toEqual({ warm: 1, regions: 1 });
    expect(detail.key.regions[0]?.importParameters?.validTo).toBe(new Date(validTo).toISOString());
    const answer = JSON.stringify([detail, keyView((await deps.keys.get(key.id)) as ManagedKey)]);
    for (const secret of [b64(blob.importToken), b64(blob.publicKey)]) {
      expect(answer).not.toContain(secret);
      expect(answer).not.toContain(secret.slice(0, 40));
    }
  });

  it("a save of the Region record keeps the stored set untouched", async () => {
    const deps = freshProcess();
    const key = await register(deps);
    const before = await regionItem(key.id);
    const record = (await deps.keys.get(key.id))?.regions[0];
    if (record === undefined) throw new Error("no Region");
    await deps.keys.saveRegion(key.id, {
      ...record,
      consecutiveFailures: 3,
      lastFailure: "KmsThrottledError",
    });
    const after = await regionItem(key.id);
    expect(after.consecutiveFailures).toBe(3);
    expect(b64((after.importParameters as { importToken: Uint8Array }).importToken)).toBe(
      b64((before.importParameters as { importToken: Uint8Array }).importToken),
    );
    expect(after.paramsValidTo).toBe(before.paramsValidTo);
  });

  it("a restore after a regional loss that kept the tokens uses each key's stored set: no GetParametersForImport for a warm key", async () => {
    const deps = freshProcess();
    const keys = [];
    for (let i = 0; i < 3; i++) keys.push(await register(deps));
    const ciphertexts = await Promise.all(keys.map((k) => encrypt(bed.kms(HOME), arnIn(k, HOME), k.id)));

    // Another process restores: its memory holds no parameters, only the Region records do.
    const { report, since } = await regionalLoss(false, freshProcess());

    // Every key of this file so far is in the Region, each with a warm set.
    expect(report.outcomes.restored).toBe(managed.length);
    expect(await parameterCallsFor(managed, since)).toBe(0);
    // The one call left is the sentinel's (a sentinel keeps its parameters in memory only).
    expect(await calls("GetParametersForImport")).toBe(1);
    expect(await calls("ImportKeyMaterial")).toBe(managed.length + 1);
    for (const [i, key] of keys.entries()) {
      expect((await describeKey(bed, HOME, arnIn(key, HOME))).KeyState).toBe("Enabled");
      expect(await decrypt(bed.kms(HOME), arnIn(key, HOME), ciphertexts[i] ?? new Uint8Array())).toBe(key.id);
    }
  }, 120_000);

  it("when the loss took the tokens with it, each restore is refused once, fetches a fresh set, goes on, and stores it", async () => {
    const deps = freshProcess();
    const keys = [];
    for (let i = 0; i < 2; i++) keys.push(await register(deps));
    const validToBefore = await Promise.all(
      keys.map(async (k) => Number((await regionItem(k.id)).paramsValidTo)),
    );
    await bed.advance(MINUTE_MS);

    const { report, since } = await regionalLoss(true, freshProcess());

    expect(report.outcomes.restored).toBe(managed.length);
    // One refused import and one fresh set per key (the sentinel: no stored set, one fresh call).
    expect(await parameterCallsFor(managed, since)).toBe(managed.length);
    expect(await calls("GetParametersForImport")).toBe(managed.length + 1);
    expect(await calls("ImportKeyMaterial")).toBe(2 * managed.length + 1);
    for (const [i, key] of keys.entries()) {
      expect((await describeKey(bed, HOME, arnIn(key, HOME))).KeyState).toBe("Enabled");
      expect(Number((await regionItem(key.id)).paramsValidTo)).toBeGreaterThan(validToBefore[i] ?? Infinity);
      const restored = (await bed.history(key.id)).filter(
        (e) => e.detailType === AuditDetailType.KeyMaterialRestored,
      );
      expect(restored).toHaveLength(1);
    }
  }, 120_000);
});

describe("the sweep keeps them warm", () => {
  it("renews sets that would run out before the Region's next check, soonest first, at most the run's budget, and reports the share", async () => {
    const deps = freshProcess();
    const keys: ManagedKey[] = [];
    for (let i = 0; i < 3; i++) keys.push(await register(deps));
    const validToBefore = new Map(
      await Promise.all(
        keys.map(async (k) => [k.id, Number((await regionItem(k.id)).paramsValidTo)] as const),
      ),
    );

    // 25 hours on: every set has run out, every Region is due (reconcile every 6 hours).
    await bed.advance(25 * HOUR_MS);
    const worker = freshProcess();
    await bed.aws.kms.admin.resetStats();
    const report = await sweep(worker, { correlationId: "renew-sets", warmParametersPerRun: 2 });

    expect(report.parameters).toMatchObject({ warmed: 2, failed: 0 });
    expect(await calls("GetParametersForImport")).toBe(2);
    // Our three keys plus any other key-Region of this file looked at: exactly two came back warm.
    const renewed = [];
    for (const key of keys) {
      const validTo = Number((await regionItem(key.id)).paramsValidTo);
      if (validTo > (validToBefore.get(key.id) ?? Infinity)) renewed.push(key.id);
    }
    expect(renewed.length).toBeLessThanOrEqual(2);
    const checked = report.parameters?.checked ?? 0;
    expect(checked).toBeGreaterThanOrEqual(3);
    expect(report.parameters?.warm).toBe(2);
    expect(report.parameters?.sharePercent).toBeCloseTo((2 / checked) * 100, 1);

    // Nothing due now: the next run looks at no Region, so it renews nothing.
    await bed.aws.kms.admin.resetStats();
    const quiet = await sweep(worker, { correlationId: "quiet", warmParametersPerRun: 2 });
    expect(quiet.parameters).toMatchObject({ checked: 0, warmed: 0 });
    expect(quiet.parameters?.sharePercent).toBeUndefined();
    expect(await calls("GetParametersForImport")).toBe(0);
  }, 180_000);

  it("renews nothing while due work is waiting, and a set that still lasts past the next check is left alone", async () => {
    const deps = freshProcess();
    const key = await register(deps);
    // Every Region due: 22.5 hours on, all sets expire within the next check's 6 hours.
    await bed.advance(22 * HOUR_MS + 30 * MINUTE_MS);
    await bed.aws.kms.admin.resetStats();
    const busy = await sweep(freshProcess(), { correlationId: "busy", limit: 1, warmParametersPerRun: 10 });
    expect(busy.due).toBe(1);
    expect(busy.parameters?.skipped).toBe("due-work-waiting");
    expect(busy.parameters?.warmed).toBe(0);
    expect(await calls("GetParametersForImport")).toBe(0);

    // A fresh set lasts well past the next check: a Region visited again is not renewed.
    const fresh = await sweep(freshProcess(), { correlationId: "drain", warmParametersPerRun: 100 });
    expect(fresh.parameters?.skipped).toBeUndefined();
    const validTo = Number((await regionItem(key.id)).paramsValidTo);
    expect(validTo).toBeGreaterThan(bed.now().getTime() + 23 * HOUR_MS);
    // Looked at again (made due now), its set is left alone.
    await makeDue(key);
    await bed.aws.kms.admin.resetStats();
    const again = await sweep(freshProcess(), { correlationId: "again", warmParametersPerRun: 100 });
    expect(again.parameters?.checked).toBeGreaterThanOrEqual(1);
    expect(again.parameters?.warmed).toBe(0);
    expect(await calls("GetParametersForImport")).toBe(0);
  }, 180_000);

  it("a key whose wrapping changed gets a set of the new wrapping", async () => {
    const deps = freshProcess();
    const key = await register(deps);
    expect((await regionItem(key.id)).paramsWrappingAlgorithm).toBe("RSAES_OAEP_SHA_256");
    await changeKeyPolicy(deps, {
      key: key.id,
      policy: { wrappingAlgorithm: "RSAES_OAEP_SHA_1" },
      actor: ACTOR,
      correlationId: "wrapping",
    });
    // The sweep looks at the Region when it is next due (made due now here), and renews its set.
    await makeDue(key);
    await bed.aws.kms.admin.resetStats();
    const report = await sweep(freshProcess(), { correlationId: "rewrap", warmParametersPerRun: 100 });
    expect(report.parameters?.warmed).toBeGreaterThanOrEqual(1);
    const item = await regionItem(key.id);
    expect(item.paramsWrappingAlgorithm).toBe("RSAES_OAEP_SHA_1");
    const detail = KeyDetailResponse.parse(keyDetailView(await showKey(freshProcess(), key.id)));
    expect(detail.regions[0]?.warmParameters).toBe(true);
  }, 120_000);

  it("with warming off, no set is stored and nothing is warmed", async () => {
    const off = freshProcess({ TETHER_WARM_IMPORT_PARAMETERS: "off" });
    const key = await register(off);
    const item = await regionItem(key.id);
    expect(item.importParameters).toBeUndefined();
    expect(item.paramsValidTo).toBeUndefined();
    const detail = KeyDetailResponse.parse(keyDetailView(await showKey(off, key.id)));
    expect(detail.regions[0]?.warmParameters).toBe(false);
    expect(off.kms.warmImportParameters).toBeDefined();
    await expect(
      off.kms.warmImportParameters?.({
        managedKeyId: key.id,
        region: parseAwsRegion(HOME),
        keyId: arnIn(key, HOME),
        wrapping: { wrappingAlgorithm: "RSAES_OAEP_SHA_256", wrappingKeySpec: "RSA_2048" },
        warmUntil: bed.now(),
      }),
    ).rejects.toThrow(RangeError);
  });
});
