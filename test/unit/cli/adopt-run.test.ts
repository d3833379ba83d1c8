/**
 * runAdoption's pacing and outcomes with a stand-in for the API client (the API itself is exercised against
 * the local stack in test/e2e/adopt.test.ts): concurrency bound, retries of throttled answers, rows done
 * skipped, a 409 for a key already managed with the row's reference counted as done.
 */
import { describe, expect, it } from "vitest";
import type { KeyView } from "../../../lib/api/schemas.js";
import { parseManifest } from "../../../lib/cli/adopt/manifest.js";
import { runAdoption } from "../../../lib/cli/adopt/run.js";
import { ApiError } from "../../../lib/cli/errors.js";

const ARN = (n: number) =>
  `arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-${String(n).padStart(12, "0")}`;
const manifest = (count: number) =>
  parseManifest(
    [
      "keyArn,materialRef,checkValue",
      ...Array.from({ length: count }, (_, i) => `${ARN(i)},refs/${i},kcv-aes:${i}`),
    ].join("\n"),
    "csv",
  );

function keyView(id: string, materialRef: string): KeyView {
  return {
    id,
    kmsKeyId: id,
    keyArn: ARN(0),
    account: "111122223333",
    primaryRegion: "eu-west-1",
    keySpec: "SYMMETRIC_DEFAULT",
    multiRegion: false,
    materialRef,
    checkValue: "kcv-aes:0",
    policy: {},
    status: { state: "active" },
    version: 1,
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
    regions: [],
  };
}

describe("runAdoption", () => {
  it("keeps at most `concurrency` requests in flight and retries 429 and 503 with backoff", async () => {
    let inFlight = 0;
    let most = 0;
    const attempts = new Map<string, number>();
    const waits: number[] = [];
    const client = {
      async request(_method: string, _path: string, options: { body?: unknown } = {}) {
        const body = options.body as { keyArn: string; materialRef: string };
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        const n = (attempts.get(body.keyArn) ?? 0) + 1;
        attempts.set(body.keyArn, n);
        if (n === 1 && body.keyArn.endsWith("3"))
          throw new ApiError(429, { code: "Http429", message: "Too Many Requests" });
        if (n <= 2 && body.keyArn.endsWith("5"))
          throw new ApiError(503, { code: "Http503", message: "busy" });
        return {
          key: keyView(`tk_${body.materialRef}`, body.materialRef),
          regions: { "eu-west-1": { kind: "imported" } },
        };
      },
    };
    const results = await runAdoption({
      client: client as never,
      rows: manifest(20),
      dryRun: false,
      concurrency: 3,
      done: new Set(),
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    expect(most).toBe(3);
    expect(results.map((r) => r.status)).toEqual(Array(20).fill("adopted"));
    expect(results[3]?.attempts).toBe(2);
    expect(results[5]?.attempts).toBe(3);
    expect(waits).toHaveLength(1 + 2 + 1 + 2); // rows 3, 5, 13, 15
    expect(results[0]).toMatchObject({ keyId: "tk_refs/0", regions: { "eu-west-1": "imported" } });
  });

  it("skips rows done before, counts an already managed key as done, and reports a refusal's field", async () => {
    const rows = manifest(3);
    const client = {
      async request(method: string, _path: string, options: { body?: unknown } = {}) {
        if (method === "GET")
          return { key: keyView("tk_old", "refs/1"), regions: [], warmParameters: { warm: 0, regions: 0 } };
        const body = options.body as { materialRef: string };
        if (body.materialRef === "refs/1")
          throw new ApiError(409, { code: "Conflict", message: "already managed" });
        throw new ApiError(400, { code: "ValidationError", message: "bad", field: "policy.renewBefore" });
      },
    };
    const results = await runAdoption({
      client: client as never,
      rows,
      dryRun: false,
      concurrency: 2,
      done: new Set([rows[0]?.idempotencyKey as string]),
      maxAttempts: 1,
    });
    expect(results.map((r) => r.status)).toEqual(["skipped", "already-managed", "failed"]);
    expect(results[1]?.keyId).toBe("tk_old");
    expect(results[2]?.error).toEqual({
      field: "renewBefore",
      message: "bad",
      code: "ValidationError",
      status: 400,
    });
  });

  it("sends a dry run to POST /keys/check without an Idempotency-Key, and nothing to POST /keys", async () => {
    const calls: string[] = [];
    const client = {
      async request(method: string, path: string, options: { idempotencyKey?: unknown } = {}) {
        calls.push(`${method} ${path} ${String(options.idempotencyKey)}`);
        return {
          ok: true,
          keyArn: ARN(0),
          keySpec: "SYMMETRIC_DEFAULT",
          regions: ["eu-west-1"],
          materialRef: "r",
          checkValue: "kcv-aes:0",
        };
      },
    };
    const results = await runAdoption({
      client: client as never,
      rows: manifest(2),
      dryRun: true,
      concurrency: 1,
      done: new Set(),
    });
    expect(results.map((r) => r.status)).toEqual(["checked", "checked"]);
    expect(calls).toEqual(["POST /keys/check false", "POST /keys/check false"]);
  });

  it("spaces request starts 1/rate apart across every worker", async () => {
    const waits: number[] = [];
    const client = {
      async request(_method: string, _path: string, options: { body?: unknown } = {}) {
        const body = options.body as { materialRef: string };
        return { key: keyView("tk", body.materialRef), regions: {} };
      },
    };
    await runAdoption({
      client: client as never,
      rows: manifest(5),
      dryRun: false,
      concurrency: 5,
      ratePerSecond: 10,
      done: new Set(),
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    expect(waits).toHaveLength(4);
    for (const [i, ms] of [...waits].sort((a, b) => a - b).entries())
      expect(ms).toBeGreaterThan(100 * (i + 1) - 20);
  });
});
