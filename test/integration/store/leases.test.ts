import { describe, expect, it } from "vitest";
import {
  type AwsRegion,
  LeaseNotAcquiredError,
  type RegionRecord,
  scheduleCheck,
} from "../../../lib/domain/index.js";
import { DynamoKeyRepository } from "../../../lib/store/index.js";
import { HOUR, MINUTE, makeKey, manualClock, T0, useStore } from "./support.js";

const store = useStore();

async function setUp() {
  const clock = manualClock();
  const repository = new DynamoKeyRepository({
    client: store.client,
    tableName: await store.table(),
    clock: clock.now,
  });
  const key = makeKey();
  await repository.create(key);
  const record = key.regions[1] as RegionRecord;
  return { clock, repository, key, record, region: record.region };
}

const TTL = 5 * MINUTE;

describe("DynamoKeyRepository leases", () => {
  it("refuses a second owner while the lease runs, and lets its owner extend it", async () => {
    const { repository, key, region } = await setUp();
    const lease = await repository.acquireLease(key.id, region, "worker-a", TTL, T0);
    expect(lease).toEqual({
      keyId: key.id,
      region,
      owner: "worker-a",
      expiresAt: new Date(T0.getTime() + TTL),
      record: (await repository.get(key.id))?.regions[1],
    });

    const refused = await repository
      .acquireLease(key.id, region, "worker-b", TTL, new Date(T0.getTime() + TTL - 1))
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LeaseNotAcquiredError);
    expect((refused as LeaseNotAcquiredError).leaseId).toBe(`${key.id}/${region}`);

    const extended = await repository.acquireLease(
      key.id,
      region,
      "worker-a",
      TTL,
      new Date(T0.getTime() + MINUTE),
    );
    expect(extended.expiresAt).toEqual(new Date(T0.getTime() + MINUTE + TTL));
    // A lease on another Region of the same key is independent.
    const other = key.regions[0]?.region as AwsRegion;
    await expect(repository.acquireLease(key.id, other, "worker-b", TTL, T0)).resolves.toMatchObject({
      owner: "worker-b",
    });
  });

  it("lets an expired lease be taken over; the old owner can then neither save nor release", async () => {
    const { clock, repository, key, record, region } = await setUp();
    const leaseA = await repository.acquireLease(key.id, region, "worker-a", TTL, T0);

    clock.advance(TTL);
    const leaseB = await repository.acquireLease(key.id, region, "worker-b", TTL, clock.now());

    const lateSave = scheduleCheck(record, new Date(T0.getTime() + 2 * HOUR));
    await expect(repository.saveRegion(key.id, lateSave, leaseA)).rejects.toBeInstanceOf(
      LeaseNotAcquiredError,
    );
    expect((await repository.get(key.id))?.regions[1]).toEqual(record);

    // Release by a non-owner: nothing happens, B still holds it.
    await repository.releaseLease(leaseA);
    await expect(
      repository.acquireLease(key.id, region, "worker-c", TTL, clock.now()),
    ).rejects.toBeInstanceOf(LeaseNotAcquiredError);

    // B saves under its lease; the save leaves the lease in place.
    const saved = scheduleCheck(record, new Date(T0.getTime() + 3 * HOUR));
    await repository.saveRegion(key.id, saved, leaseB);
    expect((await repository.get(key.id))?.regions[1]).toEqual(saved);
    await expect(
      repository.acquireLease(key.id, region, "worker-c", TTL, clock.now()),
    ).rejects.toBeInstanceOf(LeaseNotAcquiredError);

    await repository.releaseLease(leaseB);
    await expect(
      repository.acquireLease(key.id, region, "worker-c", TTL, clock.now()),
    ).resolves.toMatchObject({
      owner: "worker-c",
    });
  });

  it("refuses a save under a lease that ran out even if nobody took it", async () => {
    const { clock, repository, key, record, region } = await setUp();
    const lease = await repository.acquireLease(key.id, region, "worker-a", TTL, T0);
    clock.advance(TTL);
    await expect(
      repository.saveRegion(key.id, scheduleCheck(record, new Date(T0.getTime() + HOUR)), lease),
    ).rejects.toBeInstanceOf(LeaseNotAcquiredError);
  });

  it("does not lease a Region that does not exist, nor create it", async () => {
    const { repository, key } = await setUp();
    const nowhere = "eu-central-1" as AwsRegion;
    await expect(repository.acquireLease(key.id, nowhere, "worker-a", TTL, T0)).rejects.toBeInstanceOf(
      LeaseNotAcquiredError,
    );
    expect((await repository.get(key.id))?.regions.map((r) => r.region)).not.toContain(nowhere);
    const stranger = makeKey();
    await expect(
      repository.acquireLease(stranger.id, stranger.regions[0]?.region as AwsRegion, "worker-a", TTL, T0),
    ).rejects.toBeInstanceOf(LeaseNotAcquiredError);
    expect(await repository.get(stranger.id)).toBeUndefined();
  });
});
