/**
 * Warm import parameters on their Region item (DynamoImportParametersStore), against dynalite: writes of
 * their own that never create a Region, never lose a later set to an earlier one, survive every save of the
 * Region record, and come back whole; the Region record shows their validity and wrapping only.
 */
import { randomBytes } from "node:crypto";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import type { AwsRegion, WrappingChoice } from "../../../lib/domain/index.js";
import type { StoredImportParameters } from "../../../lib/lifecycle/ports.js";
import { DynamoImportParametersStore } from "../../../lib/store/dynamo-import-parameters.js";
import { DynamoKeyRepository } from "../../../lib/store/index.js";
import { keyPk, regionSk } from "../../../lib/store/item-keys.js";
import { HOUR, makeKey, T0, useStore } from "./support.js";

const store = useStore();
const OAEP_4096: WrappingChoice = { wrappingAlgorithm: "RSAES_OAEP_SHA_256", wrappingKeySpec: "RSA_4096" };
const OAEP_2048: WrappingChoice = { wrappingAlgorithm: "RSAES_OAEP_SHA_256", wrappingKeySpec: "RSA_2048" };

function set(validTo: Date, wrapping: WrappingChoice = OAEP_4096): StoredImportParameters {
  // An RSA_4096 SubjectPublicKeyInfo is 550 bytes; AWS's import token is at most 6,144.
  return { publicKey: randomBytes(550), importToken: randomBytes(6144), validTo, wrapping };
}

async function setup() {
  const tableName = await store.table();
  const options = { client: store.client, tableName, clock: () => T0 };
  const keys = new DynamoKeyRepository(options);
  const parameters = new DynamoImportParametersStore(options);
  const key = makeKey({ regions: 2 });
  await keys.create(key);
  const region = key.regions[0]?.region as AwsRegion;
  return { tableName, keys, parameters, key, region };
}

describe("DynamoImportParametersStore", () => {
  it("stores a set with the Region record and gives it back whole; the record shows its validity and wrapping", async () => {
    const { keys, parameters, key, region } = await setup();
    expect(await parameters.get(key.id, region)).toBeUndefined();
    const stored = set(new Date(T0.getTime() + 24 * HOUR));

    await parameters.put(key.id, region, stored);

    const back = await parameters.get(key.id, region);
    expect(Buffer.from(back?.importToken ?? []).equals(Buffer.from(stored.importToken))).toBe(true);
    expect(Buffer.from(back?.publicKey ?? []).equals(Buffer.from(stored.publicKey))).toBe(true);
    expect(back?.validTo).toEqual(stored.validTo);
    expect(back?.wrapping).toEqual(OAEP_4096);
    const record = (await keys.get(key.id))?.regions.find((r) => r.region === region);
    expect(record?.storedParameters).toEqual({ validTo: stored.validTo, wrapping: OAEP_4096 });
    expect(Object.keys(record ?? {})).not.toContain("importParameters");
    // The other Region has none.
    expect(
      (await keys.get(key.id))?.regions.find((r) => r.region !== region)?.storedParameters,
    ).toBeUndefined();
  });

  it("survives saves of the Region record and its lease, which never rewrite it", async () => {
    const { tableName, keys, parameters, key, region } = await setup();
    const stored = set(new Date(T0.getTime() + 24 * HOUR));
    await parameters.put(key.id, region, stored);
    const lease = await keys.acquireLease(key.id, region, "worker", 60_000, T0);
    const record = lease.record;
    if (record === undefined) throw new Error("no leased record");
    expect(record.storedParameters?.validTo).toEqual(stored.validTo);

    await keys.saveRegion(key.id, { ...record, consecutiveFailures: 2, storedParameters: undefined }, lease);
    await keys.releaseLease(lease);

    const item = await store.client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: keyPk(key.id) }, sk: { S: regionSk(region) } },
      }),
    );
    expect(item.Item?.consecutiveFailures?.N).toBe("2");
    expect(
      Buffer.from(item.Item?.importParameters?.M?.importToken?.B ?? []).equals(
        Buffer.from(stored.importToken),
      ),
    ).toBe(true);
  });

  it("keeps a later set of the same wrapping; takes a later one, or one of another wrapping", async () => {
    const { parameters, key, region } = await setup();
    const later = set(new Date(T0.getTime() + 24 * HOUR));
    const earlier = set(new Date(T0.getTime() + 20 * HOUR));
    await parameters.put(key.id, region, later);
    await parameters.put(key.id, region, earlier);
    expect((await parameters.get(key.id, region))?.validTo).toEqual(later.validTo);

    const rewrapped = set(new Date(T0.getTime() + 21 * HOUR), OAEP_2048);
    await parameters.put(key.id, region, rewrapped);
    expect((await parameters.get(key.id, region))?.wrapping).toEqual(OAEP_2048);

    const newest = set(new Date(T0.getTime() + 30 * HOUR), OAEP_2048);
    await parameters.put(key.id, region, newest);
    expect((await parameters.get(key.id, region))?.validTo).toEqual(newest.validTo);
  });

  it("drops only the set that was refused", async () => {
    const { keys, parameters, key, region } = await setup();
    const current = set(new Date(T0.getTime() + 24 * HOUR));
    await parameters.put(key.id, region, current);
    await parameters.drop(key.id, region, new Date(T0.getTime() + 23 * HOUR));
    expect(await parameters.get(key.id, region)).toBeDefined();
    await parameters.drop(key.id, region, current.validTo);
    expect(await parameters.get(key.id, region)).toBeUndefined();
    expect(
      (await keys.get(key.id))?.regions.find((r) => r.region === region)?.storedParameters,
    ).toBeUndefined();
  });

  it("never creates a Region: a put for a key that is gone writes nothing", async () => {
    const { tableName, keys, parameters, key, region } = await setup();
    await keys.remove(key.id);
    await parameters.put(key.id, region, set(new Date(T0.getTime() + 24 * HOUR)));
    await parameters.drop(key.id, region, T0);
    const item = await store.client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: keyPk(key.id) }, sk: { S: regionSk(region) } },
      }),
    );
    expect(item.Item).toBeUndefined();
    expect(await parameters.get(key.id, region)).toBeUndefined();
  });
});
