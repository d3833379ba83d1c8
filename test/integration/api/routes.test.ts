import { CreateKeyCommand } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  HealthResponse,
  HistoryResponse,
  KeyActionResponse,
  KeyDetailResponse,
  KeyListResponse,
  PolicyResponse,
  UnmanageResponse,
} from "../../../lib/api/schemas.js";
import { describeKey } from "../lifecycle/helpers.js";
import { ADMIN, type ApiBed, keyPath, READER, startApiBed } from "./support.js";

/** Every route, through the handler as Lambda runs it, against the local AWS. */
let api: ApiBed;

beforeAll(async () => {
  api = await startApiBed();
}, 60_000);

afterAll(async () => {
  await api?.close();
});

describe("GET /health and /openapi.json", () => {
  it("answers without an identity", async () => {
    const health = await api.call("GET", "/health", { caller: null });
    expect(health.status).toBe(200);
    expect(HealthResponse.parse(health.body)).toEqual({ status: "ok" });
    const doc = await api.call("GET", "/openapi.json", { caller: null });
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe("3.1.0");
    expect(Object.keys(doc.body.paths)).toContain("/keys/{id}/policy");
  });
});

describe("POST /keys", () => {
  it("creates a key, imports its material and records the caller as actor", async () => {
    const answer = await api.register({ validityPeriod: "P30D" });
    expect(answer.status).toBe(201);
    const body = KeyActionResponse.parse(answer.body);
    expect(answer.headers.location).toBe(`/keys/${body.key.id}`);
    expect(body.regions["eu-west-1"]?.kind).toBe("imported");
    expect((await describeKey(api.bed, "eu-west-1", body.key.keyArn)).KeyState).toBe("Enabled");
    const history = await api.bed.history(body.key.id);
    expect(history.find((e) => e.detailType === "Key Registered")?.actor).toBe(ADMIN);
  });

  it("adopts an existing EXTERNAL key", async () => {
    const created = await api.bed
      .kms("eu-west-1")
      .send(new CreateKeyCommand({ Origin: "EXTERNAL", KeySpec: "SYMMETRIC_DEFAULT" }));
    const { ref, checkValue } = await api.bed.putMaterial();
    const answer = await api.call("POST", "/keys", {
      body: { mode: "adopt", keyArn: created.KeyMetadata?.Arn, materialRef: ref, checkValue },
    });
    expect(answer.status).toBe(201);
    expect(KeyActionResponse.parse(answer.body).key.keyArn).toBe(created.KeyMetadata?.Arn);
  });

  it("refuses to adopt an AWS_KMS-origin key with 409 and says why", async () => {
    const created = await api.bed.kms("eu-west-1").send(new CreateKeyCommand({}));
    const { ref, checkValue } = await api.bed.putMaterial();
    const answer = await api.call("POST", "/keys", {
      body: { mode: "adopt", keyArn: created.KeyMetadata?.Arn, materialRef: ref, checkValue },
    });
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe("Conflict");
    expect(answer.body.error.message).toMatch(/origin AWS_KMS.*EXTERNAL/);
  });

  it("refuses a check value the vault's material does not have with 409", async () => {
    const { ref } = await api.bed.putMaterial();
    const answer = await api.call("POST", "/keys", {
      body: {
        mode: "create",
        region: "eu-west-1",
        keySpec: "SYMMETRIC_DEFAULT",
        materialRef: ref,
        checkValue: "kcv:000000",
      },
    });
    expect(answer.status).toBe(409);
    expect(answer.body.error.message).toMatch(/does not match the check value/);
  });

  it("names the policy field a domain rule refuses", async () => {
    const answer = await api.register({ validityPeriod: "PT10M" });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: "ValidationError", field: "validityPeriod" });
  });
});

describe("GET /keys", () => {
  it("pages through the keys and filters by status and expiry", async () => {
    const a = KeyActionResponse.parse((await api.register({ validityPeriod: "PT2H" })).body).key;
    const b = KeyActionResponse.parse((await api.register({ validityPeriod: "P300D" })).body).key;
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const answer = await api.call("GET", "/keys", {
        caller: READER,
        query: { limit: "1", ...(nextToken === undefined ? {} : { nextToken }) },
      });
      expect(answer.status).toBe(200);
      const page = KeyListResponse.parse(answer.body);
      expect(page.items.length).toBeLessThanOrEqual(1);
      seen.push(...page.items.map((k) => k.id));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    expect(seen).toEqual(expect.arrayContaining([a.id, b.id]));

    const soon = new Date(api.bed.now().getTime() + 24 * 3600_000).toISOString();
    const expiring = KeyListResponse.parse(
      (await api.call("GET", "/keys", { query: { expiringBefore: soon, limit: "100" } })).body,
    );
    const ids = expiring.items.map((k) => k.id);
    expect(ids).toContain(a.id);
    expect(ids).not.toContain(b.id);

    const revoked = KeyListResponse.parse(
      (await api.call("GET", "/keys", { query: { status: "revoked" } })).body,
    );
    expect(revoked.items.every((k) => k.status.state === "revoked")).toBe(true);
    expect(revoked.items.map((k) => k.id)).not.toContain(a.id);
  });

  it("shows each key's account and filters by it; an account id that is not 12 digits is a 400 naming it", async () => {
    const key = KeyActionResponse.parse((await api.register({ validityPeriod: "P30D" })).body).key;
    expect(key.account).toBe(key.keyArn.split(":")[4]);
    const mine = KeyListResponse.parse(
      (await api.call("GET", "/keys", { caller: READER, query: { account: key.account, limit: "100" } }))
        .body,
    );
    expect(mine.items.map((k) => k.id)).toContain(key.id);
    expect(mine.items.every((k) => k.account === key.account)).toBe(true);
    const other = KeyListResponse.parse(
      (await api.call("GET", "/keys", { caller: READER, query: { account: "999988887777" } })).body,
    );
    expect(other.items).toEqual([]);
    for (const bad of ["12345", "1234567890123", "abcdefghijkl"]) {
      const answer = await api.call("GET", "/keys", { caller: READER, query: { account: bad } });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({ code: "ValidationError", field: "account" });
      expect(answer.body.error.message).toMatch(/12-digit/);
    }
  });
});

describe("GET /keys/{id}", () => {
  it("shows the record, the live DescribeKey and the next planned action, by id, ARN and alias", async () => {
    const { ref, checkValue } = await api.bed.putMaterial();
    const alias = `alias/api-show-${Date.now()}`;
    const created = KeyActionResponse.parse(
      (
        await api.call("POST", "/keys", {
          body: {
            mode: "create",
            region: "eu-west-1",
            keySpec: "SYMMETRIC_DEFAULT",
            materialRef: ref,
            checkValue,
            alias,
            policy: { validityPeriod: "P30D", renewBefore: "P7D" },
          },
        })
      ).body,
    ).key;
    for (const reference of [created.id, created.keyArn, alias]) {
      const answer = await api.call("GET", keyPath(reference), { caller: READER });
      expect(answer.status).toBe(200);
      const detail = KeyDetailResponse.parse(answer.body);
      expect(detail.key.id).toBe(created.id);
      const [region] = detail.regions;
      expect(region?.observed).toMatchObject({ found: true, keyState: "Enabled", origin: "EXTERNAL" });
      expect(region?.nextAction.kind).toBe("none");
      const validTo = Date.parse(region?.observed.validTo ?? "");
      expect(Date.parse(region?.nextAction.renewAt ?? "")).toBe(validTo - 7 * 86_400_000);
    }
  });

  it("answers 404 for a key Tether does not manage", async () => {
    const answer = await api.call("GET", keyPath("tk_01J00000000000000000000000"));
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe("NotFound");
  });
});

describe("POST /keys/{id}/reimport, /revoke, /restore", () => {
  it("re-imports, revokes (then re-import is a 409 with why), and restores", async () => {
    const key = KeyActionResponse.parse((await api.register()).body).key;

    const reimported = await api.call("POST", keyPath(key.id, "/reimport"));
    expect(reimported.status).toBe(200);
    expect(KeyActionResponse.parse(reimported.body).regions["eu-west-1"]?.kind).toBe("renewed");

    const revoked = await api.call("POST", keyPath(key.id, "/revoke"), { body: { reason: "incident 42" } });
    expect(revoked.status).toBe(200);
    const afterRevoke = KeyActionResponse.parse(revoked.body);
    expect(afterRevoke.key.status).toMatchObject({ state: "revoked", reason: "incident 42", actor: ADMIN });
    expect((await describeKey(api.bed, "eu-west-1", key.keyArn)).KeyState).toBe("PendingImport");

    const refused = await api.call("POST", keyPath(key.id, "/reimport"), { body: {} });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: "Conflict" });
    expect(refused.body.error.message).toMatch(/revoked/);

    const restored = await api.call("POST", keyPath(key.id, "/restore"), { body: { reason: "all clear" } });
    expect(restored.status).toBe(200);
    expect(KeyActionResponse.parse(restored.body).key.status.state).toBe("active");
    expect((await describeKey(api.bed, "eu-west-1", key.keyArn)).KeyState).toBe("Enabled");

    const events = await api.bed.history(key.id);
    const revokedEvent = events.find((e) => e.detailType === "Key Material Revoked");
    expect(revokedEvent?.actor).toBe(ADMIN);
  });
});

describe("PATCH /keys/{id}/policy", () => {
  it("changes the policy, pauses and resumes, each audited with the caller", async () => {
    const key = KeyActionResponse.parse((await api.register({ validityPeriod: "P30D" })).body).key;
    expect(key.policy.renewBefore).toBe("P7D");

    const changed = await api.call("PATCH", keyPath(key.id, "/policy"), {
      body: { validityPeriod: "PT12H", restoreAfterOutOfBandDelete: true, reason: "shorter validity" },
    });
    expect(changed.status).toBe(200);
    const after = PolicyResponse.parse(changed.body).key;
    // A new validity without renewBefore takes the default window for it (a quarter: 3 hours).
    expect(after.policy).toMatchObject({
      validityPeriod: "PT12H",
      renewBefore: "PT3H",
      restoreAfterOutOfBandDelete: true,
    });
    expect(after.version).toBe(key.version + 1);

    const paused = await api.call("PATCH", keyPath(key.id, "/policy"), {
      body: { paused: true, reason: "maintenance" },
    });
    expect(PolicyResponse.parse(paused.body).key.status).toMatchObject({ state: "paused", actor: ADMIN });
    const again = await api.call("PATCH", keyPath(key.id, "/policy"), {
      body: { paused: true, reason: "maintenance" },
    });
    expect(again.status).toBe(200);

    const resumed = await api.call("PATCH", keyPath(key.id, "/policy"), {
      body: { paused: false, reason: "done" },
    });
    expect(PolicyResponse.parse(resumed.body).key.status.state).toBe("active");

    const events = await api.bed.history(key.id);
    const admin = events.filter((e) =>
      ["Key Policy Changed", "Key Paused", "Key Resumed"].includes(e.detailType),
    );
    expect(admin.map((e) => e.detailType)).toEqual(["Key Policy Changed", "Key Paused", "Key Resumed"]);
    expect(admin.every((e) => e.actor === ADMIN)).toBe(true);
  });

  it("takes a priority at register and by PATCH, shows it in the views, and refuses one that is not, naming it", async () => {
    const key = KeyActionResponse.parse(
      (await api.register({ validityPeriod: "P30D", priority: "high" })).body,
    ).key;
    expect(key.policy.priority).toBe("high");
    const plain = KeyActionResponse.parse((await api.register({ validityPeriod: "P30D" })).body).key;
    expect(plain.policy.priority).toBe("normal");

    const changed = await api.call("PATCH", keyPath(key.id, "/policy"), { body: { priority: "critical" } });
    expect(changed.status).toBe(200);
    expect(PolicyResponse.parse(changed.body).key.policy.priority).toBe("critical");
    const shown = await api.call("GET", keyPath(key.id), { caller: READER });
    expect(shown.body.key.policy.priority).toBe("critical");

    for (const answer of [
      await api.call("PATCH", keyPath(key.id, "/policy"), { body: { priority: "urgent" } }),
      await api.register({ validityPeriod: "P30D", priority: "CRITICAL" }),
    ]) {
      expect(answer.status).toBe(400);
      expect(answer.body.error.field).toMatch(/priority$/);
    }
  });

  it("asks for a reason with paused, and refuses pausing a revoked key with 409", async () => {
    const key = KeyActionResponse.parse((await api.register()).body).key;
    const noReason = await api.call("PATCH", keyPath(key.id, "/policy"), { body: { paused: true } });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.field).toBe("reason");
    await api.call("POST", keyPath(key.id, "/revoke"), { body: { reason: "test" } });
    const conflict = await api.call("PATCH", keyPath(key.id, "/policy"), {
      body: { paused: true, reason: "x" },
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.message).toMatch(/revoked/);
  });
});

describe("GET /keys/{id}/history", () => {
  it("pages through the audit history, newest first", async () => {
    const key = KeyActionResponse.parse((await api.register()).body).key;
    await api.call("POST", keyPath(key.id, "/reimport"));
    const first = await api.call("GET", keyPath(key.id, "/history"), {
      caller: READER,
      query: { limit: "1" },
    });
    expect(first.status).toBe(200);
    const page = HistoryResponse.parse(first.body);
    expect(page.items).toHaveLength(1);
    expect(page.items[0]?.detailType).toBe("Key Material Renewed");
    expect(page.nextToken).toBeDefined();
    const rest = HistoryResponse.parse(
      (
        await api.call("GET", keyPath(key.id, "/history"), {
          query: { limit: "100", nextToken: page.nextToken as string },
        })
      ).body,
    );
    expect(rest.items.map((e) => e.detailType)).toEqual(["Key Material Imported", "Key Registered"]);
  });
});

describe("DELETE /keys/{id}", () => {
  it("stops managing the key, leaves KMS alone, and keeps the history under the Tether id", async () => {
    const key = KeyActionResponse.parse((await api.register()).body).key;
    const answer = await api.call("DELETE", keyPath(key.keyArn), {
      body: { reason: "moved to another tool" },
    });
    expect(answer.status).toBe(200);
    expect(UnmanageResponse.parse(answer.body)).toEqual({ id: key.id, keyArn: key.keyArn, unmanaged: true });
    expect((await describeKey(api.bed, "eu-west-1", key.keyArn)).KeyState).toBe("Enabled");
    expect((await api.call("GET", keyPath(key.id))).status).toBe(404);
    expect((await api.call("GET", keyPath(key.keyArn))).status).toBe(404);
    const history = HistoryResponse.parse((await api.call("GET", keyPath(key.id, "/history"))).body);
    expect(history.items[0]).toMatchObject({
      detailType: "Key Unmanaged",
      actor: ADMIN,
      reason: "moved to another tool",
    });
    expect((await api.call("DELETE", keyPath(key.id))).status).toBe(404);
  });
});
