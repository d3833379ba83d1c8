import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  HistoryResponse,
  KeyActionResponse,
  KeyDetailResponse,
  PolicyResponse,
  RotateResponse,
} from "../../../lib/api/schemas.js";
import { describeKey } from "../lifecycle/helpers.js";
import { ADMIN, type ApiBed, keyPath, READER, startApiBed } from "./support.js";

/** POST /keys/{id}/rotate and the materials in GET /keys/{id}, through the handler, against the local AWS. */
let api: ApiBed;

beforeAll(async () => {
  api = await startApiBed();
}, 60_000);

afterAll(async () => {
  await api?.close();
});

describe("POST /keys/{id}/rotate", () => {
  it("rotates, and GET /keys/{id} shows both materials with state and expiry", async () => {
    const key = KeyActionResponse.parse((await api.register({ validityPeriod: "P30D" })).body).key;
    const answer = await api.call("POST", keyPath(key.id, "/rotate"), { body: { reason: "yearly" } });
    expect(answer.status).toBe(200);
    const parsed = RotateResponse.parse(answer.body);
    expect(parsed.method).toBe("in-key");
    const body = { ...parsed, materials: parsed.materials ?? [] };
    expect(body.rotations).toBe(1);
    expect(body.resumed).toBe(false);
    expect(body.materials.map((m) => m.state)).toEqual(["NON_CURRENT", "CURRENT"]);
    expect(body.key.materialRef).toBe(`${key.materialRef}/r2`);
    expect(body.key.materials?.map((m) => m.keyMaterialId)).toEqual(
      body.materials.map((m) => m.keyMaterialId),
    );
    expect((await describeKey(api.bed, "eu-west-1", key.keyArn)).CurrentKeyMaterialId).toBe(
      body.materials[1]?.keyMaterialId,
    );

    const detail = KeyDetailResponse.parse((await api.call("GET", keyPath(key.id))).body);
    const materials = detail.regions[0]?.materials ?? [];
    expect(materials.map((m) => [m.keyMaterialId, m.state, m.importState])).toEqual([
      [body.materials[0]?.keyMaterialId, "NON_CURRENT", "IMPORTED"],
      [body.materials[1]?.keyMaterialId, "CURRENT", "IMPORTED"],
    ]);
    for (const material of materials) expect(material.validTo).toMatch(/^\d{4}-\d\d-\d\dT/);

    const rotated = (await api.bed.history(key.id)).filter((e) => e.detailType === "Key Material Rotated");
    expect(rotated).toHaveLength(1);
    expect(rotated[0]).toMatchObject({ actor: ADMIN, reason: "yearly" });
  });

  it("honours Idempotency-Key: the repeat answers the same and rotates once", async () => {
    const key = KeyActionResponse.parse((await api.register()).body).key;
    const headers = { "Idempotency-Key": `rotate-${key.id}` };
    const first = await api.call("POST", keyPath(key.id, "/rotate"), { headers, body: { reason: "once" } });
    const again = await api.call("POST", keyPath(key.id, "/rotate"), { headers, body: { reason: "once" } });
    expect(first.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(RotateResponse.parse(again.body).rotations).toBe(1);
    const rotated = (await api.bed.history(key.id)).filter((e) => e.detailType === "Key Material Rotated");
    expect(rotated).toHaveLength(1);
  });

  it("requires a reason (400) and an admin (403)", async () => {
    const key = KeyActionResponse.parse((await api.register()).body).key;
    const noReason = await api.call("POST", keyPath(key.id, "/rotate"), { body: {} });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.field).toBe("reason");
    const reader = await api.call("POST", keyPath(key.id, "/rotate"), {
      body: { reason: "not mine" },
      caller: READER,
    });
    expect(reader.status).toBe(403);
    expect((await describeKey(api.bed, "eu-west-1", key.keyArn)).CurrentKeyMaterialId).toBe(
      (await api.bed.deps.kms.listKeyMaterials("eu-west-1" as never, key.keyArn))[0]?.keyMaterialId,
    );
    expect(await api.bed.deps.kms.listKeyMaterials("eu-west-1" as never, key.keyArn)).toHaveLength(1);
  });

  it("refuses a revoked key with 409", async () => {
    const key = KeyActionResponse.parse((await api.register()).body).key;
    await api.call("POST", keyPath(key.id, "/revoke"), { body: { reason: "test" } });
    const refused = await api.call("POST", keyPath(key.id, "/rotate"), { body: { reason: "rotate" } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/revoked/);
  });

  it("swaps a key whose policy says key-swap: 200 with the successor holding the alias; 409 on the old key after", async () => {
    const { ref, checkValue } = await api.bed.putMaterial();
    const alias = `alias/api-swap-${Date.now()}`;
    const registered = await api.call("POST", "/keys", {
      body: {
        mode: "create",
        region: "eu-west-1",
        keySpec: "SYMMETRIC_DEFAULT",
        materialRef: ref,
        checkValue,
        alias,
        policy: { validityPeriod: "P30D", rotationMethod: "key-swap" },
      },
    });
    const key = KeyActionResponse.parse(registered.body).key;
    expect(key.policy.rotationMethod).toBe("key-swap");
    const answer = await api.call("POST", keyPath(key.id, "/rotate"), {
      body: { reason: "swap" },
      headers: { "Idempotency-Key": `swap-${key.id}` },
    });
    expect(answer.status).toBe(200);
    const body = RotateResponse.parse(answer.body);
    expect(body.method).toBe("key-swap");
    expect(body.materials).toBeUndefined();
    expect(body.key).toMatchObject({ id: key.id, supersededBy: body.successor?.id });
    expect(body.key.alias).toBeUndefined();
    expect(body.successor).toMatchObject({ alias, supersedes: key.id, keySpec: "SYMMETRIC_DEFAULT" });
    expect((await describeKey(api.bed, "eu-west-1", alias)).Arn).toBe(body.successor?.keyArn);

    // GET by alias now finds the new key; the old key is still shown, superseded.
    const byAlias = KeyDetailResponse.parse((await api.call("GET", keyPath(alias))).body);
    expect(byAlias.key.id).toBe(body.successor?.id);
    const again = await api.call("POST", keyPath(key.id, "/rotate"), { body: { reason: "again" } });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/swapped/);

    const history = await api.call("GET", keyPath(key.id, "/history"));
    const events = HistoryResponse.parse(history.body).items;
    expect(events.filter((e) => e.detailType === "Key Swapped")).toEqual([
      expect.objectContaining({ relatedKeyId: body.successor?.id, actor: ADMIN, reason: "swap" }),
    ]);
    expect(events.filter((e) => e.detailType === "Key Rotation Step").map((e) => e.step)).toContain(
      "alias-repointed",
    );
  });
});

describe("PATCH /keys/{id}/policy: the rotation schedule", () => {
  it("sets rotateEvery and rotationMethod, and null removes them", async () => {
    const key = KeyActionResponse.parse((await api.register()).body).key;
    const set = await api.call("PATCH", keyPath(key.id, "/policy"), {
      body: { rotateEvery: "P365D", rotationMethod: "key-swap" },
    });
    expect(set.status).toBe(200);
    expect(PolicyResponse.parse(set.body).key.policy).toMatchObject({
      rotateEvery: "P365D",
      rotationMethod: "key-swap",
    });
    const cleared = await api.call("PATCH", keyPath(key.id, "/policy"), {
      body: { rotateEvery: null, rotationMethod: null },
    });
    expect(cleared.status).toBe(200);
    const policy = PolicyResponse.parse(cleared.body).key.policy;
    expect(policy).not.toHaveProperty("rotateEvery");
    expect(policy).not.toHaveProperty("rotationMethod");
    expect(policy.validityPeriod).toBe("P30D");
    const changes = HistoryResponse.parse(
      (await api.call("GET", keyPath(key.id, "/history"))).body,
    ).items.filter((e) => e.detailType === "Key Policy Changed");
    expect(changes).toHaveLength(2);
  });

  it("refuses null for a field that cannot be removed, and in-key rotation of an HMAC key", async () => {
    const key = KeyActionResponse.parse((await api.register()).body).key;
    const nullValidity = await api.call("PATCH", keyPath(key.id, "/policy"), {
      body: { validityPeriod: null },
    });
    expect(nullValidity.status).toBe(400);
    expect(nullValidity.body.error.field).toBe("validityPeriod");

    const hmac = await api.call("POST", "/keys", {
      body: {
        mode: "create",
        region: "eu-west-1",
        keySpec: "HMAC_256",
        materialRef: `api/hmac-${Date.now()}`,
        generateMaterial: true,
        policy: { rotationMethod: "in-key" },
      },
    });
    expect(hmac.status).toBe(400);
    expect(hmac.body.error.field).toBe("rotationMethod");
  });
});
