import { DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { dynamoIdempotency, IDEMPOTENCY_PARTITION } from "../../../lib/api/idempotency.js";
import { KeyActionResponse, KeyListResponse } from "../../../lib/api/schemas.js";
import { CREDENTIALS } from "../../support/lifecycle-testbed.js";
import { type ApiBed, keyPath, SECOND_ADMIN, startApiBed } from "./support.js";

/** POSTs with an Idempotency-Key, persisted by Powertools on Tether's table in dynalite. */
let api: ApiBed;

beforeAll(async () => {
  api = await startApiBed();
}, 60_000);

afterAll(async () => {
  await api?.close();
});

async function registerBody() {
  const { ref, checkValue } = await api.bed.putMaterial();
  return { mode: "create", region: "eu-west-1", keySpec: "SYMMETRIC_DEFAULT", materialRef: ref, checkValue };
}

async function keysWithMaterial(ref: string): Promise<string[]> {
  const page = KeyListResponse.parse((await api.call("GET", "/keys", { query: { limit: "100" } })).body);
  return page.items.filter((k) => k.materialRef === ref).map((k) => k.id);
}

describe("Idempotency-Key on POST /keys", () => {
  it("registers once and answers a retry with the first answer", async () => {
    const body = await registerBody();
    const headers = { "Idempotency-Key": "register-once-1" };
    const first = await api.call("POST", "/keys", { body, headers });
    const second = await api.call("POST", "/keys", { body, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.location).toBe(first.headers.location);
    const id = KeyActionResponse.parse(first.body).key.id;
    expect(await keysWithMaterial(body.materialRef)).toEqual([id]);
    const registered = (await api.bed.history(id)).filter((e) => e.detailType === "Key Registered");
    expect(registered).toHaveLength(1);
  });

  it("refuses the same key with another body (409) and does nothing", async () => {
    const headers = { "Idempotency-Key": "register-once-2" };
    const first = await api.call("POST", "/keys", { body: await registerBody(), headers });
    expect(first.status).toBe(201);
    const other = await registerBody();
    const reused = await api.call("POST", "/keys", { body: other, headers });
    expect(reused.status).toBe(409);
    expect(reused.body.error).toMatchObject({ code: "Conflict", field: "Idempotency-Key" });
    expect(await keysWithMaterial(other.materialRef)).toEqual([]);
  });

  it("keeps callers apart: another admin with the same key value gets its own request", async () => {
    const headers = { "Idempotency-Key": "shared-value" };
    const body = await registerBody();
    const mine = await api.call("POST", "/keys", { body, headers });
    expect(mine.status).toBe(201);
    const other = await registerBody();
    const theirs = await api.call("POST", "/keys", { body: other, headers, caller: SECOND_ADMIN });
    expect(theirs.status).toBe(201);
    expect(theirs.body.key.id).not.toBe(mine.body.key.id);
  });

  it("stores no failure: a refused request can be retried with the same key once the cause is gone", async () => {
    const key = KeyActionResponse.parse((await api.register()).body).key;
    await api.call("POST", keyPath(key.id, "/revoke"), { body: { reason: "test" } });
    const headers = { "Idempotency-Key": `reimport-${key.id}` };
    const refused = await api.call("POST", keyPath(key.id, "/reimport"), { headers });
    expect(refused.status).toBe(409);
    await api.call("POST", keyPath(key.id, "/restore"), { body: { reason: "test" } });
    const done = await api.call("POST", keyPath(key.id, "/reimport"), { headers });
    expect(done.status).toBe(200);
    const again = await api.call("POST", keyPath(key.id, "/reimport"), { headers });
    expect(again.body).toEqual(done.body);
    const renewals = (await api.bed.history(key.id)).filter((e) => e.detailType === "Key Material Renewed");
    expect(renewals).toHaveLength(1);
  });

  it("scopes a key to the route and the key id", async () => {
    const a = KeyActionResponse.parse((await api.register()).body).key;
    const b = KeyActionResponse.parse((await api.register()).body).key;
    const headers = { "Idempotency-Key": "same-for-both" };
    const first = await api.call("POST", keyPath(a.id, "/reimport"), { headers });
    const second = await api.call("POST", keyPath(b.id, "/reimport"), { headers });
    expect(first.body.key.id).toBe(a.id);
    expect(second.body.key.id).toBe(b.id);
  });

  it("refuses a malformed key with 400", async () => {
    const answer = await api.call("POST", "/keys", {
      body: await registerBody(),
      headers: { "Idempotency-Key": "has spaces in it" },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe("Idempotency-Key");
  });

  it("keeps its records in their own partition of the table, apart from Tether's items", async () => {
    const client = new DynamoDBClient({
      endpoint: api.bed.aws.endpoints.dynamodb,
      region: "eu-west-1",
      credentials: CREDENTIALS,
    });
    try {
      const out = await client.send(
        new QueryCommand({
          TableName: api.bed.config.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": { S: IDEMPOTENCY_PARTITION } },
        }),
      );
      expect(out.Items?.length).toBeGreaterThan(0);
      for (const item of out.Items ?? []) {
        expect(item.status?.S).toBe("COMPLETED");
        expect(Object.keys(item).some((name) => ["listPk", "dueShard", "outboxShard"].includes(name))).toBe(
          false,
        );
      }
    } finally {
      client.destroy();
    }
  });
});

describe("dynamoIdempotency on dynalite (no TTL)", () => {
  it("replays within the expiry and runs again after it, because Powertools checks expiry itself", async () => {
    const client = new DynamoDBClient({
      endpoint: api.bed.aws.endpoints.dynamodb,
      region: "eu-west-1",
      credentials: CREDENTIALS,
    });
    const guard = dynamoIdempotency({ client, tableName: api.bed.config.tableName, expiresAfterSeconds: 60 });
    const context = { getRemainingTimeInMillis: () => 10_000, awsRequestId: "r" } as unknown as Context;
    const request = { key: "expiry-test", caller: "arn:x", route: "POST /test", params: {}, body: { n: 1 } };
    let runs = 0;
    const execute = async () => ({ status: 200, body: { run: ++runs } });
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    try {
      expect((await guard.run(request, context, execute)).body).toEqual({ run: 1 });
      vi.setSystemTime(Date.now() + 30_000);
      expect((await guard.run(request, context, execute)).body).toEqual({ run: 1 });
      vi.setSystemTime(Date.now() + 60_000);
      expect((await guard.run(request, context, execute)).body).toEqual({ run: 2 });
      expect(runs).toBe(2);
    } finally {
      vi.useRealTimers();
      client.destroy();
    }
  });
});
