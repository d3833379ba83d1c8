/**
 * Dual control over the running local AWS (KMS emulator, dynalite, the event bus): the API handler as
 * Lambda loads it, called as two different admin principals (an IAM user and a session of an admin role,
 * as API Gateway's IAM authorizer names them), with a deployment that needs two people to revoke, unmanage
 * and weaken a policy, and allows a break-glass revoke. KMS calls are counted by the emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  KeyActionResponse,
  OperationAcceptedResponse,
  OperationListResponse,
  OperationResponse,
} from "../../../lib/api/schemas.js";
import type { AuditEvent } from "../../../lib/domain/audit-types.js";
import { sweepOperations } from "../../../lib/lifecycle/use-cases/approvals.js";
import { runOperation } from "../../../lib/lifecycle/use-cases/operation-runner.js";
import { describeKey } from "../lifecycle/helpers.js";
import { ADMIN, type ApiBed, keyPath, READER, SECOND_ADMIN, startApiBed } from "./support.js";

const APPROVALS = JSON.stringify({
  revoke: { quorum: 2, breakGlass: true },
  unmanage: 2,
  swap: 2,
  pause: 2,
  "policy-weaken": 2,
  requestTtl: "PT1H",
  confirmWithin: "PT30M",
});
const HOUR = 3_600_000;

let api: ApiBed;

beforeAll(async () => {
  api = await startApiBed({ TETHER_APPROVALS: APPROVALS });
  // One clock for the API and the sweep: the emulator's, which `advance` moves (as `npm start` runs them).
  const { useClock } = await import("../../../functions/singletons.js");
  useClock(() => api.bed.now());
}, 60_000);

afterAll(async () => {
  await api?.close();
});

async function kmsCalls(operation: string): Promise<number> {
  return (await api.bed.aws.kms.admin.stats()).calls["eu-west-1"]?.[operation] ?? 0;
}

async function newKey(): Promise<{ id: string; keyArn: string }> {
  const answer = await api.register();
  expect(answer.status).toBe(201);
  return KeyActionResponse.parse(answer.body).key;
}

/** The sweep's part, as functions/sweep.ts runs it, on the test's clock (which `advance` moves). */
function sweep() {
  return sweepOperations(api.bed.depsWith({ TETHER_APPROVALS: APPROVALS }), "test-sweep", runOperation);
}

const ofType = (events: AuditEvent[], detailType: string) =>
  events.filter((e) => e.detailType === detailType);

describe("a revoke under quorum 2", () => {
  it("is requested by A, refused for A's own approval, approved by B, executed once, audited with both", async () => {
    const key = await newKey();
    const deletesBefore = await kmsCalls("DeleteImportedKeyMaterial");

    const asked = await api.call("POST", keyPath(key.id, "/revoke"), { body: { reason: "suspected leak" } });
    expect(asked.status).toBe(202);
    const { operation, approve } = OperationAcceptedResponse.parse(asked.body);
    expect(operation).toMatchObject({ operation: "revoke", state: "pending", quorum: 2, requestedBy: ADMIN });
    expect(approve).toBe(`POST /operations/${operation.id}/approve`);
    // Nothing else happened: the material is still there, no KMS delete.
    expect(await kmsCalls("DeleteImportedKeyMaterial")).toBe(deletesBefore);
    expect((await describeKey(api.bed, "eu-west-1", key.keyArn)).KeyState).toBe("Enabled");

    const own = await api.call("POST", `/operations/${operation.id}/approve`, { body: { reason: "me too" } });
    expect(own.status).toBe(409);
    expect(own.body.error.field).toBe("approver");
    const reader = await api.call("POST", `/operations/${operation.id}/approve`, {
      caller: READER,
      body: { reason: "x" },
    });
    expect(reader.status).toBe(403);
    expect(await kmsCalls("DeleteImportedKeyMaterial")).toBe(deletesBefore);

    const approved = await api.call("POST", `/operations/${operation.id}/approve`, {
      caller: SECOND_ADMIN,
      body: { reason: "confirmed with A by phone" },
    });
    expect(approved.status).toBe(200);
    const done = OperationResponse.parse(approved.body).operation;
    expect(done).toMatchObject({ state: "executed", approvalsCounted: 1 });
    expect(done.approvals.map((a) => a.by)).toEqual([SECOND_ADMIN]);
    expect(await kmsCalls("DeleteImportedKeyMaterial")).toBe(deletesBefore + 1);
    expect((await describeKey(api.bed, "eu-west-1", key.keyArn)).KeyState).toBe("PendingImport");

    // A repeated approval (a retry, another admin) runs nothing again.
    const again = await api.call("POST", `/operations/${operation.id}/approve`, {
      caller: "arn:aws:sts::111122223333:assumed-role/TetherOps/carol",
      body: { reason: "late" },
    });
    expect(again.status).toBe(409);
    expect((await sweep()).executed).toBe(0);
    expect(await kmsCalls("DeleteImportedKeyMaterial")).toBe(deletesBefore + 1);

    const history = await api.bed.history(key.id);
    expect(ofType(history, "Operation Requested")[0]).toMatchObject({
      actor: ADMIN,
      operationId: operation.id,
    });
    expect(ofType(history, "Operation Approved")[0]).toMatchObject({ actor: SECOND_ADMIN });
    const executed = ofType(history, "Operation Executed");
    expect(executed).toHaveLength(1);
    expect(executed[0]).toMatchObject({
      actor: ADMIN,
      approvers: SECOND_ADMIN,
      outcome: "executed",
      quorum: 2,
    });
    expect(ofType(history, "Key Material Revoked").length).toBeGreaterThan(0);
    const alert = ofType(history, "Tether Alert").find(
      (e) => "reasonCode" in e && e.reasonCode === "APPROVAL_REQUESTED",
    );
    expect(alert).toBeDefined();

    const shown = await api.call("GET", `/operations/${operation.id}`, { caller: READER });
    expect(OperationResponse.parse(shown.body).operation.state).toBe("executed");
    const listed = OperationListResponse.parse(
      (await api.call("GET", "/operations", { caller: READER })).body,
    );
    expect(listed.items.map((o) => o.id)).toContain(operation.id);
  }, 60_000);
});

describe("a denial", () => {
  it("closes the request; the key stays managed and the request can no longer be approved", async () => {
    const key = await newKey();
    const asked = await api.call("DELETE", keyPath(key.id), { body: { reason: "decommission" } });
    expect(asked.status).toBe(202);
    const { operation } = OperationAcceptedResponse.parse(asked.body);
    expect(operation.operation).toBe("unmanage");
    const denied = await api.call("POST", `/operations/${operation.id}/deny`, {
      caller: SECOND_ADMIN,
      body: { reason: "still in use by billing" },
    });
    expect(denied.status).toBe(200);
    expect(OperationResponse.parse(denied.body).operation).toMatchObject({
      state: "denied",
      denial: { by: SECOND_ADMIN, reason: "still in use by billing" },
    });
    expect((await api.call("GET", keyPath(key.id))).status).toBe(200);
    const late = await api.call("POST", `/operations/${operation.id}/approve`, {
      caller: SECOND_ADMIN,
      body: { reason: "changed my mind" },
    });
    expect(late.status).toBe(409);
    const history = await api.bed.history(key.id);
    expect(ofType(history, "Operation Denied")[0]).toMatchObject({ actor: SECOND_ADMIN });
    expect(ofType(history, "Key Unmanaged")).toHaveLength(0);
  }, 60_000);

  it("holds back a weakening policy change but lets a harmless one through", async () => {
    const key = await newKey();
    const weaker = await api.call("PATCH", keyPath(key.id, "/policy"), {
      body: { restoreAfterLoss: false, reason: "maintenance" },
    });
    expect(weaker.status).toBe(202);
    expect(OperationAcceptedResponse.parse(weaker.body).operation).toMatchObject({
      operation: "policy-weaken",
      weakenings: ["restore-after-loss-off"],
    });
    const harmless = await api.call("PATCH", keyPath(key.id, "/policy"), { body: { priority: "high" } });
    expect(harmless.status).toBe(200);
    const shown = await api.call("GET", keyPath(key.id));
    expect(shown.body.key.policy.restoreAfterLoss).toBe(true);
  }, 60_000);
});

describe("a key swap and a pause under quorum 2", () => {
  it("holds a key swap until approved, then swaps once; an in-key rotation is not held", async () => {
    const alias = `alias/dual-${Date.now()}`;
    const hmac = await api.call("POST", "/keys", {
      body: {
        mode: "create",
        region: "eu-west-1",
        keySpec: "HMAC_256",
        keyUsage: "GENERATE_VERIFY_MAC",
        materialRef: `api/dual-hmac-${Date.now()}`,
        generateMaterial: true,
        alias,
      },
    });
    expect(hmac.status).toBe(201);
    const old = KeyActionResponse.parse(hmac.body).key;
    const creates = await kmsCalls("CreateKey");
    const asked = await api.call("POST", keyPath(old.id, "/rotate"), { body: { reason: "yearly" } });
    expect(asked.status).toBe(202);
    const { operation } = OperationAcceptedResponse.parse(asked.body);
    expect(operation.operation).toBe("swap");
    expect(await kmsCalls("CreateKey")).toBe(creates);
    const approved = await api.call("POST", `/operations/${operation.id}/approve`, {
      caller: SECOND_ADMIN,
      body: { reason: "scheduled" },
    });
    expect(OperationResponse.parse(approved.body).operation.state).toBe("executed");
    expect(await kmsCalls("CreateKey")).toBe(creates + 1);
    const shown = await api.call("GET", keyPath(old.id));
    expect(shown.body.key.supersededBy).toMatch(/^tk_/);

    const symmetric = await newKey();
    const inKey = await api.call("POST", keyPath(symmetric.id, "/rotate"), { body: { reason: "yearly" } });
    expect(inKey.status).toBe(200);
  }, 60_000);

  it("holds a pause, lets a resume through", async () => {
    const key = await newKey();
    const asked = await api.call("PATCH", keyPath(key.id, "/policy"), {
      body: { paused: true, reason: "incident" },
    });
    expect(asked.status).toBe(202);
    const { operation } = OperationAcceptedResponse.parse(asked.body);
    expect(operation.operation).toBe("pause");
    expect((await api.call("GET", keyPath(key.id))).body.key.status.state).toBe("active");
    await api.call("POST", `/operations/${operation.id}/approve`, {
      caller: SECOND_ADMIN,
      body: { reason: "ok" },
    });
    expect((await api.call("GET", keyPath(key.id))).body.key.status.state).toBe("paused");
    const resumed = await api.call("PATCH", keyPath(key.id, "/policy"), {
      body: { paused: false, reason: "over" },
    });
    expect(resumed.status).toBe(200);
    expect(resumed.body.key.status.state).toBe("active");
  }, 60_000);
});

describe("an expiry", () => {
  it("the sweep closes a request nobody approved in time; it never runs", async () => {
    const key = await newKey();
    const asked = await api.call("POST", keyPath(key.id, "/revoke"), { body: { reason: "rotate out" } });
    const { operation } = OperationAcceptedResponse.parse(asked.body);
    const deletesBefore = await kmsCalls("DeleteImportedKeyMaterial");
    expect((await sweep()).expired).toBe(0);
    await api.bed.advance(HOUR + 60_000);
    expect((await sweep()).expired).toBeGreaterThanOrEqual(1);
    const shown = OperationResponse.parse((await api.call("GET", `/operations/${operation.id}`)).body);
    expect(shown.operation.state).toBe("expired");
    const late = await api.call("POST", `/operations/${operation.id}/approve`, {
      caller: SECOND_ADMIN,
      body: { reason: "sorry, was away" },
    });
    expect(late.status).toBe(409);
    expect(await kmsCalls("DeleteImportedKeyMaterial")).toBe(deletesBefore);
    expect(ofType(await api.bed.history(key.id), "Operation Expired")).toHaveLength(1);
  }, 60_000);
});

describe("an emergency revoke", () => {
  it("runs at once, alerts, waits for confirmation, is reported every sweep past its window, never undone", async () => {
    const key = await newKey();
    const deletesBefore = await kmsCalls("DeleteImportedKeyMaterial");
    const answer = await api.call("POST", keyPath(key.id, "/revoke"), {
      body: { reason: "key exfiltrated", emergency: true },
    });
    expect(answer.status).toBe(200);
    const body = KeyActionResponse.parse(answer.body);
    expect(body.key.status.state).toBe("revoked");
    expect(body.operation).toMatchObject({ state: "unconfirmed", emergency: true, requestedBy: ADMIN });
    expect(await kmsCalls("DeleteImportedKeyMaterial")).toBe(deletesBefore + 1);
    const id = body.operation?.id ?? "";
    const critical = ofType(await api.bed.history(key.id), "Tether Alert").filter(
      (e) => "severity" in e && e.severity === "critical" && e.reasonCode === "EMERGENCY_REVOKE",
    );
    expect(critical).toHaveLength(1);

    expect((await sweep()).unconfirmed).toBe(0);
    await api.bed.advance(31 * 60_000);
    expect((await sweep()).unconfirmed).toBe(1);
    expect((await sweep()).unconfirmed).toBe(1);
    const reported = ofType(await api.bed.history(key.id), "Tether Alert").filter(
      (e) => "reasonCode" in e && e.reasonCode === "EMERGENCY_REVOKE_UNCONFIRMED",
    );
    expect(reported).toHaveLength(2);
    expect((await api.call("GET", keyPath(key.id))).body.key.status.state).toBe("revoked");
    expect(await kmsCalls("DeleteImportedKeyMaterial")).toBe(deletesBefore + 1);

    const denied = await api.call("POST", `/operations/${id}/deny`, {
      caller: SECOND_ADMIN,
      body: { reason: "no" },
    });
    expect(denied.status).toBe(409);
    const own = await api.call("POST", `/operations/${id}/approve`, { body: { reason: "it was me" } });
    expect(own.status).toBe(409);
    const confirmed = await api.call("POST", `/operations/${id}/approve`, {
      caller: SECOND_ADMIN,
      body: { reason: "saw the exfiltration alert" },
    });
    expect(OperationResponse.parse(confirmed.body).operation.state).toBe("confirmed");
    expect((await sweep()).unconfirmed).toBe(0);
    expect(ofType(await api.bed.history(key.id), "Operation Confirmed")[0]).toMatchObject({
      actor: SECOND_ADMIN,
    });
  }, 60_000);

  it("is refused where the deployment allows no break-glass for that route", async () => {
    const key = await newKey();
    const answer = await api.call("DELETE", keyPath(key.id), { body: { reason: "x", emergency: true } });
    expect(answer.status).toBe(400);
    expect((await api.call("GET", keyPath(key.id))).status).toBe(200);
  }, 60_000);
});
