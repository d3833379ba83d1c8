/**
 * POST/GET/DELETE /accounts: member accounts registered through the API handler as Lambda runs it, checked
 * on add against the local STS and KMS emulator (the member role assumed with its external id, then a probe
 * key described or the keys listed), stored in the table. The member role is the member template's, its
 * permission policy evaluated by the emulator on each call.
 */
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderMemberRole } from "../../../infra/local/iam/member-role.js";
import { ADMIN, type ApiBed, READER, startApiBed } from "./support.js";

const HUB_API_ROLE = "arn:aws:iam::111122223333:role/tether-test-eu-west-1-api";
const MEMBER = "222233334444";
const MEMBER_ROLE = `arn:aws:iam::${MEMBER}:role/tether-member`;
const UNDEPLOYED = "333344445555";
const EXTERNAL_ID = "hub-external-id-42";

let api: ApiBed;
let memberKeyArn: string;

beforeAll(async () => {
  api = await startApiBed();
  const admin = api.bed.aws.kms.admin;
  // The functions' credentials ("local") are the hub api role's session, as in Lambda.
  await admin.registerIdentity({
    accessKeyId: "local",
    arn: "arn:aws:sts::111122223333:assumed-role/tether-test-eu-west-1-api/x",
  });
  // The member role as infra/member-account.yml makes it (trust and permission policy), held to that
  // policy by the emulator: the check on add does only what the template allows.
  const role = renderMemberRole({
    memberAccountId: MEMBER,
    hubAccountId: "111122223333",
    hubRolePrefix: "tether-test-eu-west-1",
    externalId: EXTERNAL_ID,
    deployment: api.bed.config.deployment,
    regions: ["eu-west-1"],
  });
  expect(role.arn).toBe(MEMBER_ROLE);
  expect(JSON.stringify(role.trustPolicy)).toContain(HUB_API_ROLE);
  await admin.putRole(role);
  // The member's key, made by an administrator of the member (the member role may not create keys).
  await admin.registerIdentity({ accessKeyId: "AKIDMEMBERADMIN", arn: `arn:aws:iam::${MEMBER}:user/admin` });
  const kms = new KMSClient({
    endpoint: api.bed.aws.endpoints.kms,
    region: "eu-west-1",
    credentials: { accessKeyId: "AKIDMEMBERADMIN", secretAccessKey: "member-admin" },
  });
  memberKeyArn = (await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }))).KeyMetadata?.Arn ?? "";
  kms.destroy();
  expect(memberKeyArn).toContain(`:${MEMBER}:key/`);
}, 120_000);
afterAll(async () => {
  await api?.close();
});

const add = (body: Record<string, unknown>, caller = ADMIN) =>
  api.call("POST", "/accounts", { caller, body });

describe("POST /accounts", () => {
  it("registers a member whose role it can assume, with the probe key described", async () => {
    const answer = await add({
      roleArn: MEMBER_ROLE,
      externalId: EXTERNAL_ID,
      name: "payments",
      probeKeyArn: memberKeyArn,
    });
    expect(answer.status).toBe(201);
    expect(answer.body.account).toMatchObject({
      accountId: MEMBER,
      roleArn: MEMBER_ROLE,
      externalId: EXTERNAL_ID,
      name: "payments",
      addedBy: ADMIN,
      check: {
        assumeRole: { ok: true },
        kms: { ok: true, detail: "DescribeKey: PendingImport" },
        missing: [],
      },
    });
    const again = await add({ roleArn: MEMBER_ROLE, externalId: EXTERNAL_ID });
    expect(again.status).toBe(409);
    expect(again.body.error.field).toBe("roleArn");
  });

  it("registers a member it cannot reach yet, saying what is missing, or refuses it with requireCheck", async () => {
    const roleArn = `arn:aws:iam::${UNDEPLOYED}:role/tether-member`;
    const refused = await add({ roleArn, externalId: EXTERNAL_ID, requireCheck: true });
    expect(refused.status).toBe(400);
    expect(refused.body.error.field).toBe("roleArn");
    expect(refused.body.error.message).toContain("AccessDenied");
    // Nothing half-written.
    expect((await api.call("GET", `/accounts/${UNDEPLOYED}`, { caller: READER })).status).toBe(404);
    const kept = await add({ roleArn, externalId: EXTERNAL_ID });
    expect(kept.status).toBe(201);
    expect(kept.body.account.check.assumeRole).toMatchObject({ ok: false, code: "AccessDenied" });
    expect(kept.body.account.check.kms).toBeUndefined();
    expect(kept.body.account.check.missing[0]).toContain("infra/member-account.yml");
    expect((await api.call("DELETE", `/accounts/${UNDEPLOYED}`, { caller: ADMIN })).status).toBe(200);
  });

  it("reports a probe key the member role cannot describe", async () => {
    const missingKey = `arn:aws:kms:eu-west-1:${MEMBER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    await api.call("DELETE", `/accounts/${MEMBER}`, { caller: ADMIN });
    const answer = await add({ roleArn: MEMBER_ROLE, externalId: EXTERNAL_ID, probeKeyArn: missingKey });
    expect(answer.status).toBe(201);
    expect(answer.body.account.check.kms).toMatchObject({ ok: false, code: "NotFoundException" });
    expect(answer.body.account.check.missing).toEqual([
      expect.stringContaining(`kms:DescribeKey on ${missingKey} refused (NotFoundException)`),
    ]);
  });

  it("names the field it refuses, and lets only admins add", async () => {
    const badRole = await add({ roleArn: "arn:aws:iam::12345:role/x", externalId: EXTERNAL_ID });
    expect(badRole).toMatchObject({ status: 400, body: { error: { field: "roleArn" } } });
    const badExternal = await add({ roleArn: MEMBER_ROLE, externalId: "has space" });
    expect(badExternal).toMatchObject({ status: 400, body: { error: { field: "externalId" } } });
    const otherAccountProbe = await add({
      roleArn: `arn:aws:iam::${UNDEPLOYED}:role/tether-member`,
      externalId: EXTERNAL_ID,
      probeKeyArn: memberKeyArn,
    });
    expect(otherAccountProbe).toMatchObject({ status: 400, body: { error: { field: "probeKeyArn" } } });
    const unknown = await add({ roleArn: MEMBER_ROLE, externalId: EXTERNAL_ID, extra: 1 });
    expect(unknown.status).toBe(400);
    expect((await add({ roleArn: MEMBER_ROLE, externalId: EXTERNAL_ID }, READER)).status).toBe(403);
  });
});

describe("GET and DELETE /accounts", () => {
  it("lists and shows members to readers; removes them for admins (404 after)", async () => {
    const list = await api.call("GET", "/accounts", { caller: READER });
    expect(list.status).toBe(200);
    expect(list.body.items.map((a: { accountId: string }) => a.accountId)).toContain(MEMBER);
    const shown = await api.call("GET", `/accounts/${MEMBER}`, { caller: READER });
    expect(shown.body.account.roleArn).toBe(MEMBER_ROLE);
    expect((await api.call("GET", "/accounts/not-an-id", { caller: READER })).body.error.field).toBe(
      "accountId",
    );
    expect((await api.call("DELETE", `/accounts/${MEMBER}`, { caller: READER })).status).toBe(403);
    const removed = await api.call("DELETE", `/accounts/${MEMBER}`, { caller: ADMIN });
    expect(removed).toMatchObject({ status: 200, body: { accountId: MEMBER, removed: true } });
    expect((await api.call("DELETE", `/accounts/${MEMBER}`, { caller: ADMIN })).status).toBe(404);
    expect((await api.call("GET", "/accounts", { caller: READER })).body.items).toEqual([]);
    // Each add and remove is an audit event in the account's history, with who did it.
    const history = await api.bed.history(MEMBER);
    expect(history.map((e) => [e.detailType, e.actor])).toEqual([
      ["Member Account Added", ADMIN],
      ["Member Account Removed", ADMIN],
      ["Member Account Added", ADMIN],
      ["Member Account Removed", ADMIN],
    ]);
  });
});
