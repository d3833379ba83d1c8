import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { afterAll, describe, expect, it } from "vitest";
import {
  addReplica,
  changePolicy,
  LossCause,
  type ManagedKey,
  NotFoundError,
  parseCheckValue,
  parseImportPolicy,
  parseMaterialRef,
  pauseKey,
  type RegionRecord,
  recordFailure,
  recordImport,
  recordImportStarted,
  recordLoss,
  recordObservation,
  StateConflictError,
  ValidationError,
  VersionConflictError,
  withRegion,
} from "../../../lib/domain/index.js";
import { DynamoKeyRepository } from "../../../lib/store/index.js";
import { KEY_RECORD_SK, keyPk } from "../../../lib/store/item-keys.js";
import { arnOf, clientFor, HOUR, MINUTE, makeKey, manualClock, T0, useStore } from "./support.js";

const store = useStore();

async function newRepository(clock = manualClock()) {
  const tableName = await store.table();
  return {
    tableName,
    clock,
    repository: new DynamoKeyRepository({ client: store.client, tableName, clock: clock.now }),
  };
}

/** A key whose second Region has every optional field set, paused, with a fixed-ValidTo policy. */
function richKey(): ManagedKey {
  const key = makeKey({
    alias: "alias/payments",
    policy: { validTo: "2026-12-31T00:00:00Z", renewBefore: "P10D", wrappingKeySpec: "RSA_4096" },
  });
  const replica = key.regions[1] as RegionRecord;
  let record = recordImport(
    replica,
    { at: new Date(T0.getTime() + 1), validTo: new Date("2026-04-01T00:00:00.000Z") },
    key.policy,
  );
  record = recordObservation(
    record,
    { found: true, keyState: "Enabled", origin: "EXTERNAL", enabled: true },
    new Date(T0.getTime() + 2),
  );
  record = recordLoss(record, LossCause.RegionalLoss, new Date(T0.getTime() + 3));
  record = recordFailure(record, "KmsThrottledError", key.policy, new Date(T0.getTime() + 4));
  record = recordImportStarted(record, {
    kind: "restore",
    startedAt: new Date(T0.getTime() + 5),
    validTo: new Date("2026-04-02T00:00:00.123Z"),
    eventId: "evt-1",
    correlationId: "corr-1",
    actor: "tether:sweep",
  });
  const paused = pauseKey(key, { actor: "alice@example.com", reason: "audit" }, new Date(T0.getTime() + 6));
  return withRegion(paused, record, new Date(T0.getTime() + 7));
}

describe("DynamoKeyRepository.create / get", () => {
  it("round-trips a managed key with 3 Regions, every field and date intact", async () => {
    const { repository, tableName } = await newRepository();
    const key = richKey();
    expect(key.regions).toHaveLength(3);

    await repository.create(key);
    const read = await repository.get(key.id);

    expect(read).toEqual(key);
    expect(read?.regions.map((r) => r.region)).toEqual(["eu-west-1", "us-east-1", "ap-southeast-2"]);
    expect(read?.regions[1]?.importInFlight?.validTo?.toISOString()).toBe("2026-04-02T00:00:00.123Z");
    expect(read?.updatedAt).toBeInstanceOf(Date);
    expect(read?.status).toEqual({
      state: "paused",
      actor: "alice@example.com",
      reason: "audit",
      at: new Date(T0.getTime() + 6),
    });
    expect(read?.policy).toEqual(key.policy);

    // Items hold strings, numbers, booleans and maps only: nothing binary could carry material or a token.
    const scanned = await store.client.send(new ScanCommand({ TableName: tableName }));
    const types = new Set<string>();
    const collect = (value: AttributeValue) => {
      for (const [type, inner] of Object.entries(value)) {
        if (inner === undefined) continue;
        types.add(type);
        if (type === "M") for (const v of Object.values(inner as Record<string, AttributeValue>)) collect(v);
      }
    };
    for (const item of scanned.Items ?? []) for (const v of Object.values(item)) collect(v);
    expect([...types].sort()).toEqual(["BOOL", "M", "N", "S"]);
  });

  it("round-trips a key swap under way and the lineage of a finished one", async () => {
    const { repository } = await newRepository();
    const base = makeKey({
      alias: "alias/swapping",
      policy: { rotateEvery: "P365D", rotationMethod: "key-swap" },
    });
    await repository.create(base);
    const stored = (await repository.get(base.id)) as ManagedKey;
    const successorId = "tk_01J0000000000000000000SWAP" as ManagedKey["id"];
    const swapping: ManagedKey = {
      ...stored,
      supersedes: "tk_01J0000000000000000000PREV" as ManagedKey["id"],
      pendingSwap: {
        materialRef: parseMaterialRef("customers/acme/payments/s2"),
        checkValue: parseCheckValue("kcv-aes:ABCDEF"),
        successorId,
        alias: "alias/swapping",
        newKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        startedAt: new Date(T0.getTime() + 10),
        steps: {
          "material-generated": new Date(T0.getTime() + 10),
          "alias-repointed:eu-west-1": new Date(T0.getTime() + 11),
        },
        eventId: "evt-swap",
        correlationId: "corr-swap",
        actor: "operator:alice",
        reason: "yearly",
      },
    };
    const saved = await repository.saveKey(swapping);
    expect(await repository.get(base.id)).toEqual(saved);
    expect(saved.policy.rotationMethod).toBe("key-swap");

    const finished = await repository.saveKey({
      ...saved,
      pendingSwap: undefined,
      supersededBy: successorId,
    });
    const read = await repository.get(base.id);
    expect(read).toEqual(finished);
    expect(read?.pendingSwap).toBeUndefined();
    expect(read?.supersededBy).toBe(successorId);
  });

  it("returns undefined for a key it does not have", async () => {
    const { repository } = await newRepository();
    expect(await repository.get(makeKey().id)).toBeUndefined();
  });

  it("carries the key's account; a record written before accounts reads its primary ARN's, and the next save writes it", async () => {
    const { repository, tableName } = await newRepository();
    const key = makeKey();
    expect(key.account).toBe(arnOf(key, 0).split(":")[4]);
    await repository.create(key);
    expect((await repository.get(key.id))?.account).toBe(key.account);
    // As an older Tether wrote it: no account attribute.
    const item = { pk: { S: keyPk(key.id) }, sk: { S: KEY_RECORD_SK } };
    await store.client.send(
      new UpdateItemCommand({ TableName: tableName, Key: item, UpdateExpression: "REMOVE account" }),
    );
    const stored = await store.client.send(new GetItemCommand({ TableName: tableName, Key: item }));
    expect(stored.Item?.account).toBeUndefined();
    const read = await repository.get(key.id);
    expect(read?.account).toBe(key.account);
    await repository.saveKey({ ...(read as ManagedKey), description: "saved again" });
    const after = await store.client.send(new GetItemCommand({ TableName: tableName, Key: item }));
    expect(after.Item?.account).toEqual({ S: key.account });
  });

  it("refuses to register the same id twice", async () => {
    const { repository } = await newRepository();
    const key = makeKey();
    await repository.create(key);
    await expect(repository.create(key)).rejects.toBeInstanceOf(StateConflictError);
  });
});

describe("DynamoKeyRepository claims", () => {
  it("refuses a second key with a managed key ARN, and gives back what the refused one claimed", async () => {
    const { repository } = await newRepository();
    const first = makeKey({ alias: "alias/one" });
    await repository.create(first);
    const mrk = first.kmsKeyId;

    // Same KMS key (its ARNs), another Tether id, a free alias.
    const second = makeKey({ mrk, alias: "alias/two" });
    const refused = await repository.create(second).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StateConflictError);
    expect((refused as StateConflictError).keyId).toBe(first.id);
    expect(await repository.get(second.id)).toBeUndefined();

    // The alias the refused registration claimed on the way is free again.
    const third = makeKey({ alias: "alias/two" });
    await repository.create(third);
    expect(await repository.resolve("alias/two")).toBe(third.id);
  });

  it("refuses a second key with a managed alias", async () => {
    const { repository } = await newRepository();
    await repository.create(makeKey({ alias: "alias/shared" }));
    await expect(repository.create(makeKey({ alias: "alias/shared" }))).rejects.toBeInstanceOf(
      StateConflictError,
    );
  });

  it("resolves a Tether id, every Region's key ARN and the alias; nothing else", async () => {
    const { repository } = await newRepository();
    const key = makeKey({ alias: "alias/resolve-me" });
    await repository.create(key);

    expect(await repository.resolve(key.id)).toBe(key.id);
    for (const record of key.regions) expect(await repository.resolve(record.keyArn)).toBe(key.id);
    expect(await repository.resolve("alias/resolve-me")).toBe(key.id);
    expect(await repository.resolve("resolve-me")).toBe(key.id);

    expect(await repository.resolve(makeKey().id)).toBeUndefined();
    expect(await repository.resolve(arnOf(makeKey()))).toBeUndefined();
    expect(await repository.resolve("alias/unknown")).toBeUndefined();
    expect(await repository.resolve("")).toBeUndefined();
  });
});

describe("DynamoKeyRepository material reference claims", () => {
  it("of two registrations claiming one reference at once, exactly one wins; the other's 409 names materialRef", async () => {
    const { repository } = await newRepository();
    const [a, b] = [makeKey(), makeKey()];
    const results = await Promise.allSettled([
      repository.claimMaterial("shared/ref", a.id),
      repository.claimMaterial("shared/ref", b.id),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(StateConflictError);
    expect(refused.reason).toMatchObject({ field: "materialRef", state: "registering" });
  });

  it("refuses a second managed key on a reference until the first is removed", async () => {
    const { repository } = await newRepository();
    const first = makeKey({ materialRef: "acme/one-secret" });
    await repository.claimMaterial("acme/one-secret", first.id);
    await repository.create(first);
    // Its own claim again is no conflict (create re-claims what register claimed).
    await repository.claimMaterial("acme/one-secret", first.id);

    const second = makeKey({ materialRef: "acme/one-secret" });
    await expect(repository.claimMaterial("acme/one-secret", second.id)).rejects.toMatchObject({
      name: "StateConflictError",
      field: "materialRef",
      state: "managed",
      keyId: first.id,
    });
    await expect(repository.create(second)).rejects.toMatchObject({ field: "materialRef" });
    expect(await repository.get(second.id)).toBeUndefined();

    await repository.remove(first.id);
    await repository.claimMaterial("acme/one-secret", second.id);
    await repository.create(second);
    expect((await repository.get(second.id))?.materialRef).toBe("acme/one-secret");
  });

  it("gives a refused registration's claim back, and lets a stale one be taken over", async () => {
    const { repository, clock } = await newRepository();
    const [refused, dead, next] = [makeKey(), makeKey(), makeKey()];
    await repository.claimMaterial("acme/released", refused.id);
    await repository.releaseMaterial("acme/released", refused.id);
    await repository.claimMaterial("acme/released", next.id);

    await repository.claimMaterial("acme/abandoned", dead.id);
    await expect(repository.claimMaterial("acme/abandoned", next.id)).rejects.toMatchObject({
      state: "registering",
    });
    clock.advance(16 * MINUTE);
    await repository.claimMaterial("acme/abandoned", next.id);
  });
});

describe("DynamoKeyRepository crash mid-create", () => {
  const crashingClients: DynamoDBClient[] = [];
  afterAll(() => {
    for (const client of crashingClients) client.destroy();
  });

  /** A client whose PutItem of a key record fails, as if the Lambda died right before it. */
  function crashingRepository(tableName: string, clock: ReturnType<typeof manualClock>) {
    const crashing = clientFor(store.dynamo);
    crashingClients.push(crashing);
    crashing.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Item?: { sk?: { S?: string } } };
        if (input.Item?.sk?.S === "KEY") throw new Error("simulated crash before the key record");
        return next(args);
      },
      { step: "build", name: "crashBeforeKeyRecord" },
    );
    return new DynamoKeyRepository({ client: crashing, tableName, clock: clock.now });
  }

  it("lets the same registration retry at once, and a new one take over only once the claim is stale", async () => {
    const { repository, tableName, clock } = await newRepository();
    const dead = makeKey({ alias: "alias/crashy" });
    await expect(crashingRepository(tableName, clock).create(dead)).rejects.toThrow("simulated crash");

    // Not managed: no key record, so nothing resolves, though its Regions are in the due index.
    expect(await repository.get(dead.id)).toBeUndefined();
    expect(await repository.resolve(arnOf(dead))).toBeUndefined();
    expect((await repository.due(T0, 100)).map((d) => d.keyId)).toContain(dead.id);

    // Another registration of the same KMS key, too soon: the first one might still be running.
    const rival = makeKey({ mrk: dead.kmsKeyId, alias: "alias/crashy" });
    await expect(repository.create(rival)).rejects.toMatchObject({
      name: "StateConflictError",
      state: "registering",
    });

    // Sixteen minutes later no Lambda of that registration can be alive: the rival takes over.
    clock.advance(16 * MINUTE);
    await repository.create(rival);
    expect(await repository.resolve(arnOf(rival, 2))).toBe(rival.id);
    expect(await repository.resolve("alias/crashy")).toBe(rival.id);
    // The dead registration's Regions are gone from the due index; only the rival's remain.
    const due = await repository.due(new Date(T0.getTime() + HOUR), 100);
    expect(new Set(due.map((d) => d.keyId))).toEqual(new Set([rival.id]));
  });

  it("lets the crashed registration itself complete on retry", async () => {
    const { repository, tableName, clock } = await newRepository();
    const key = makeKey({ alias: "alias/retry" });
    await expect(crashingRepository(tableName, clock).create(key)).rejects.toThrow("simulated crash");
    await repository.create(key);
    expect(await repository.get(key.id)).toEqual(key);
    expect(await repository.resolve("alias/retry")).toBe(key.id);
  });
});

describe("DynamoKeyRepository.saveKey", () => {
  it("lets one of two writers of the same version win; the other gets VersionConflictError, no lost update", async () => {
    const { repository } = await newRepository();
    const key = makeKey();
    await repository.create(key);
    const readByA = (await repository.get(key.id)) as ManagedKey;
    const readByB = (await repository.get(key.id)) as ManagedKey;

    const paused = await repository.saveKey(pauseKey(readByA, { actor: "a", reason: "maintenance" }, T0));
    expect(paused.version).toBe(1);
    const longer = parseImportPolicy({ validityPeriod: "P90D" });
    const conflict = await repository.saveKey(changePolicy(readByB, longer, T0)).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(VersionConflictError);
    expect((conflict as VersionConflictError).expectedVersion).toBe(0);

    const afterConflict = (await repository.get(key.id)) as ManagedKey;
    expect(afterConflict.status.state).toBe("paused");
    expect(afterConflict.policy).toEqual(key.policy);
    expect(afterConflict.version).toBe(1);

    // B re-reads and decides again: both changes survive.
    const saved = await repository.saveKey(changePolicy(afterConflict, longer, T0));
    const final = (await repository.get(key.id)) as ManagedKey;
    expect(saved.version).toBe(2);
    expect(final.version).toBe(2);
    expect(final.status.state).toBe("paused");
    expect(final.policy).toEqual(longer);
  });

  it("moves the alias claim when the alias changes", async () => {
    const { repository } = await newRepository();
    const key = makeKey({ alias: "alias/old" });
    await repository.create(key);
    await repository.saveKey({ ...key, alias: "alias/new", description: undefined });

    expect(await repository.resolve("alias/new")).toBe(key.id);
    expect(await repository.resolve("alias/old")).toBeUndefined();
    const read = (await repository.get(key.id)) as ManagedKey;
    expect(read.description).toBeUndefined();
    // The old alias is free for another key.
    await repository.create(makeKey({ alias: "alias/old" }));
    // And the new one is not.
    await expect(repository.saveKey({ ...makeKey(), alias: "alias/new" })).rejects.toBeInstanceOf(
      VersionConflictError,
    );
    const other = makeKey();
    await repository.create(other);
    await expect(repository.saveKey({ ...other, alias: "alias/new" })).rejects.toBeInstanceOf(
      StateConflictError,
    );
  });
});

describe("DynamoKeyRepository.addRegion / saveRegion", () => {
  it("adds a replica after the existing Regions and claims its ARN", async () => {
    const { repository } = await newRepository();
    const key = makeKey({ regions: 2 });
    await repository.create(key);
    const replicaArn = `arn:aws:kms:ap-southeast-2:111122223333:key/${key.kmsKeyId}`;
    const grown = addReplica(key, replicaArn, T0);

    await repository.addRegion(key.id, grown.regions[2] as RegionRecord);

    expect((await repository.get(key.id))?.regions).toEqual(grown.regions);
    expect(await repository.resolve(replicaArn)).toBe(key.id);
    await expect(repository.addRegion(key.id, grown.regions[2] as RegionRecord)).rejects.toBeInstanceOf(
      StateConflictError,
    );
    const stranger = makeKey();
    await expect(
      repository.addRegion(stranger.id, stranger.regions[0] as RegionRecord),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it("never brings back a Region of a removed key", async () => {
    const { repository } = await newRepository();
    const key = makeKey();
    await repository.create(key);
    await repository.remove(key.id);
    await expect(repository.saveRegion(key.id, key.regions[0] as RegionRecord)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(await repository.due(new Date(T0.getTime() + HOUR), 100)).toEqual([]);
  });
});

describe("DynamoKeyRepository.remove", () => {
  it("stops managing the key and frees its ARNs and alias; a second remove is a no-op", async () => {
    const { repository } = await newRepository();
    const key = makeKey({ alias: "alias/gone" });
    await repository.create(key);

    await repository.remove(key.id);
    await repository.remove(key.id);

    expect(await repository.get(key.id)).toBeUndefined();
    expect(await repository.resolve(key.id)).toBeUndefined();
    expect(await repository.resolve(arnOf(key))).toBeUndefined();
    expect(await repository.resolve("alias/gone")).toBeUndefined();
    expect(await repository.due(new Date(T0.getTime() + HOUR), 100)).toEqual([]);
    // The same KMS key and alias can be registered again at once.
    const again = makeKey({ mrk: key.kmsKeyId, alias: "alias/gone" });
    await repository.create(again);
    expect(await repository.resolve(arnOf(key))).toBe(again.id);
  });
});

describe("DynamoKeyRepository.list", () => {
  it("pages through every key, oldest first, and refuses a forged token", async () => {
    const { repository } = await newRepository();
    const keys: ManagedKey[] = [];
    for (let i = 0; i < 5; i++) keys.push(makeKey({ now: new Date(T0.getTime() + i * 1000), regions: 2 }));
    for (const key of [...keys].reverse()) await repository.create(key);

    const seen: ManagedKey[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await repository.list({ limit: 2, nextToken });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items);
      nextToken = page.nextToken;
      pages++;
    } while (nextToken !== undefined && pages < 10);

    expect(seen.map((k) => k.id)).toEqual(keys.map((k) => k.id));
    expect(seen[0]).toEqual(keys[0]);
    const forged = Buffer.from(
      JSON.stringify({ pk: "KEY#x", sk: "KEY", listPk: "KEYS", listSk: "x" }),
    ).toString("base64url");
    await expect(repository.list({ limit: 2, nextToken: forged })).rejects.toBeInstanceOf(ValidationError);
    await expect(repository.list({ limit: 0 })).rejects.toBeInstanceOf(ValidationError);
  });
});
