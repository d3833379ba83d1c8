/**
 * Keys in member accounts, end to end against the local AWS (the KMS emulator keeps keys per account and
 * refuses every cross-account call, its STS hands out member role sessions): three members, each with a key
 * registered through the hub, renewed, restored after a loss and revoked there — every KMS call in the key's
 * own account, through the member role's session named after the acting function. An account that is neither
 * the hub's nor a registered member is refused before anything reaches KMS.
 *
 * The member roles carry the member template's own permission policy (infra/member-account.yml, rendered by
 * infra/local/iam/member-role.ts), which the emulator evaluates on every call of their sessions: everything
 * Tether does here in a member is proven allowed by the template. Their trust is the test's (any principal of
 * the hub account, with the external id): the testbed's functions sign as a user of the hub, not as its roles.
 * Each member's keys are made and marked by an administrator of that member, as docs/deploy.md asks of an
 * operator (the member role may not create or tag keys).
 */
import { randomUUID } from "node:crypto";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  KMSClient,
  ListResourceTagsCommand,
} from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderMemberRole } from "../../../infra/local/iam/member-role.js";
import { createLifecycleDeps } from "../../../lib/composition-root.js";
import { AuditDetailType } from "../../../lib/domain/audit-types.js";
import { MANAGED_BY_TAG_KEY } from "../../../lib/domain/deployment.js";
import { DAY_MS, MINUTE_MS } from "../../../lib/domain/duration.js";
import { StateConflictError } from "../../../lib/domain/errors.js";
import type { ManagedKey } from "../../../lib/domain/managed-key.js";
import { AccountNotRegisteredError } from "../../../lib/domain/member-account.js";
import { parseKmsEvent } from "../../../lib/kms/kms-events.js";
import type { KmsSignal, LifecycleDeps } from "../../../lib/lifecycle/ports.js";
import { handleKmsSignal } from "../../../lib/lifecycle/region/kms-signal.js";
import { probeSentinels } from "../../../lib/lifecycle/scheduled/sentinels.js";
import { sweep } from "../../../lib/lifecycle/scheduled/sweep.js";
import { changeKeyPolicy, unmanageKey } from "../../../lib/lifecycle/use-cases/key-admin.js";
import { revoke } from "../../../lib/lifecycle/use-cases/operator-actions.js";
import { listKeys } from "../../../lib/lifecycle/use-cases/queries.js";
import { registerKey } from "../../../lib/lifecycle/use-cases/register.js";
import { rotateKey } from "../../../lib/lifecycle/use-cases/rotate.js";
import {
  AUDIT_RECORDER,
  CREDENTIALS,
  KMS_RECORDER,
  type LifecycleTestbed,
  startLifecycleTestbed,
} from "../../support/lifecycle-testbed.js";

const HUB = "111122223333";
const REGION = "eu-west-1";
const MEMBERS = ["222233334444", "333344445555", "444455556666"] as const;
const EXTERNAL_ID = "tether-hub-external-id";
const roleArn = (account: string) => `arn:aws:iam::${account}:role/tether-member`;

/** The member role's trust: the hub's functions (here: any principal of the hub account), with the external id. */
const trust = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${HUB}:root` },
      Action: "sts:AssumeRole",
      Condition: { StringEquals: { "sts:ExternalId": EXTERNAL_ID } },
    },
  ],
};

let bed: LifecycleTestbed;
/** The sweep's deps: its sessions in members are named tether-sweep. */
let sweepDeps: LifecycleDeps;
/** The member's own view: a KMS client of an administrator of the member account. */
const memberKms = new Map<string, KMSClient>();

/** The member role as the member template makes it, for the testbed's deployment, with the test's trust. */
function memberRole(account: string) {
  const rendered = renderMemberRole({
    memberAccountId: account,
    hubAccountId: HUB,
    hubRolePrefix: "tether-test-eu-west-1",
    externalId: EXTERNAL_ID,
    deployment: bed.config.deployment,
    regions: [REGION],
  });
  expect(rendered.arn).toBe(roleArn(account));
  return { arn: rendered.arn, trustPolicy: trust, permissionPolicy: rendered.permissionPolicy };
}

/** An administrator of the member account (an IAM user there): it makes and marks the member's keys. */
const adminCredentials = (account: string) => ({
  accessKeyId: `AKIDADMIN${account}`,
  secretAccessKey: "member-admin",
});

async function memberClient(account: string): Promise<KMSClient> {
  let client = memberKms.get(account);
  if (client === undefined) {
    await bed.aws.kms.admin.registerIdentity({
      accessKeyId: adminCredentials(account).accessKeyId,
      arn: `arn:aws:iam::${account}:user/admin`,
    });
    client = new KMSClient({
      endpoint: bed.aws.endpoints.kms,
      region: REGION,
      credentials: adminCredentials(account),
    });
    memberKms.set(account, client);
  }
  return client;
}

/** Who called `eventName` on `keyArn`, as the member's own CloudTrail says. */
async function callersIn(account: string, eventName: string, keyArn: string): Promise<string[]> {
  await memberClient(account);
  const trail = new CloudTrailClient({
    endpoint: bed.aws.endpoints.kms,
    region: REGION,
    credentials: adminCredentials(account),
  });
  const out = await trail.send(
    new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: eventName }] }),
  );
  trail.destroy();
  return (out.Events ?? [])
    .map(
      (e) =>
        JSON.parse(e.CloudTrailEvent ?? "{}") as {
          userIdentity?: { arn?: string };
          resources?: { ARN?: string }[];
        },
    )
    .filter((r) => (r.resources ?? []).some((res) => res.ARN === keyArn))
    .map((r) => r.userIdentity?.arn ?? "");
}

async function stateIn(account: string, keyArn: string) {
  const out = await (await memberClient(account)).send(new DescribeKeyCommand({ KeyId: keyArn }));
  return { keyState: out.KeyMetadata?.KeyState, validTo: out.KeyMetadata?.ValidTo };
}

async function memberKeyArn(account: string): Promise<string> {
  const out = await (await memberClient(account)).send(
    new CreateKeyCommand({
      Origin: "EXTERNAL",
      KeySpec: "SYMMETRIC_DEFAULT",
      KeyUsage: "ENCRYPT_DECRYPT",
      // The operator marks it for the hub deployment (docs/deploy.md): the member role may import only then.
      Tags: [{ TagKey: MANAGED_BY_TAG_KEY, TagValue: bed.config.deployment }],
    }),
  );
  const arn = out.KeyMetadata?.Arn;
  if (arn === undefined) throw new Error("CreateKey answered no ARN");
  return arn;
}

async function adopt(
  keyArn: string,
  // RSA_2048 wrapping keys: the emulator makes a real RSA pair per GetParametersForImport (4096-bit ones
  // take seconds each on a busy machine).
  policy: Record<string, unknown> = {
    validityPeriod: "P30D",
    reconcileInterval: "PT1M",
    wrappingKeySpec: "RSA_2048",
  },
) {
  const { ref, checkValue } = await bed.putMaterial();
  return registerKey(bed.deps, {
    mode: "adopt",
    keyArn,
    materialRef: ref,
    checkValue,
    policy,
    actor: "operator:alice",
    correlationId: randomUUID(),
  });
}

const arnOf = (key: ManagedKey) => key.regions[0]?.keyArn ?? "";

beforeAll(async () => {
  bed = await startLifecycleTestbed();
  sweepDeps = createLifecycleDeps(bed.config, {
    vault: bed.vault,
    credentials: CREDENTIALS,
    clock: bed.now,
    actor: "sweep",
  });
  for (const account of MEMBERS) {
    await bed.aws.kms.admin.putRole(memberRole(account));
    await bed.deps.accounts?.add({
      accountId: account,
      roleArn: roleArn(account),
      externalId: EXTERNAL_ID,
      addedAt: bed.now().toISOString(),
      addedBy: "operator:alice",
      check: { checkedAt: bed.now().toISOString(), assumeRole: { ok: true }, missing: [] },
    });
  }
});
afterAll(async () => {
  for (const client of memberKms.values()) client.destroy();
  await bed?.close();
});

describe("keys in three member accounts", () => {
  const keys = new Map<string, ManagedKey>();

  it("registers a member's key through the hub: imported in the member, the record carries its account", async () => {
    // Every member role is held to the member template's policy (its sessions' calls are evaluated).
    const roles = await bed.aws.kms.admin.roles();
    for (const account of MEMBERS) {
      expect(roles.find((r) => r.arn === roleArn(account))?.permissionPolicies).toEqual([
        memberRole(account).permissionPolicy,
      ]);
    }
    for (const account of MEMBERS) {
      const result = await adopt(await memberKeyArn(account));
      expect(result.regions[REGION]).toEqual({ kind: "imported" });
      expect(result.key.account).toBe(account);
      expect(await stateIn(account, arnOf(result.key))).toMatchObject({ keyState: "Enabled" });
      keys.set(account, result.key);
    }
    // The filter: each account's keys, and only those.
    for (const account of MEMBERS) {
      const page = await listKeys(bed.deps, { limit: 100, account });
      expect(page.items.map((k) => k.id)).toEqual([keys.get(account)?.id]);
    }
    expect((await listKeys(bed.deps, { limit: 100, account: "999988887777" })).items).toEqual([]);
  });

  it("renews each member's key in its own account", async () => {
    const before = new Map<string, number>();
    for (const [account, key] of keys) {
      before.set(account, (await stateIn(account, arnOf(key))).validTo?.getTime() ?? 0);
    }
    await bed.advance(25 * DAY_MS);
    const report = await sweep(sweepDeps, { correlationId: "sweep-renew" });
    expect(report.outcomes.renewed).toBeGreaterThanOrEqual(MEMBERS.length);
    for (const [account, key] of keys) {
      const { keyState, validTo } = await stateIn(account, arnOf(key));
      expect(keyState).toBe("Enabled");
      expect(validTo?.getTime() ?? 0).toBeGreaterThan((before.get(account) ?? 0) + 24 * DAY_MS);
      const history = (await bed.history(key.id)).map((e) => e.detailType);
      expect(history).toContain(AuditDetailType.KeyMaterialRenewed);
    }
    // The member's CloudTrail (its records arrive minutes later) names the hub function that acted: the
    // registration's import as tether-api, the renewal as tether-sweep, both sessions of the member role.
    await bed.advance(16 * MINUTE_MS);
    for (const [account, key] of keys) {
      const session = (fn: string) => `arn:aws:sts::${account}:assumed-role/tether-member/${fn}`;
      expect((await callersIn(account, "ImportKeyMaterial", arnOf(key))).sort()).toEqual([
        session("tether-api"),
        session("tether-sweep"),
      ]);
    }
  });

  it("restores each member's key after a regional loss: the hub's sentinel opens the incident, the sweep restores in each member", async () => {
    // The hub's sentinel in the Region (the sweep makes it); a Region's loss reaches every account there.
    const incidentDeps = bed.depsWith({ TETHER_SENTINELS: "on" });
    await sweep(incidentDeps, { correlationId: "sentinel" });
    await bed.aws.kms.admin.loseRegion(REGION);
    for (const [account, key] of keys) {
      expect((await stateIn(account, arnOf(key))).keyState).toBe("PendingImport");
    }
    await bed.advance(MINUTE_MS);
    expect((await probeSentinels(incidentDeps, "probe")).opened).toEqual([REGION]);
    // No attribution grace: a regional loss, restored at once, in each member's account.
    const report = await sweep(incidentDeps, { correlationId: "sweep-incident" });
    expect(report.outcomes.restored).toBe(MEMBERS.length);
    expect(report.incidentsClosed).toEqual([REGION]);
    for (const [account, key] of keys) {
      expect((await stateIn(account, arnOf(key))).keyState).toBe("Enabled");
      const history = (await bed.history(key.id)).map((e) => e.detailType);
      expect(history).toContain(AuditDetailType.KeyMaterialRestored);
    }
  });

  it("acts on each member's KMS events for the key of that account; another account's are ignored", async () => {
    // No sweep for 31 days: every member's material expires, and KMS sends each member's expiry event (its
    // key id alone, the member's account in the envelope) to the bus.
    await bed.advance(31 * DAY_MS);
    const expiries = new Map<string, unknown>();
    for (let i = 0; i < 100 && expiries.size < MEMBERS.length; i++) {
      await bed.aws.events.drain();
      for (const event of bed.aws.events.recorded(KMS_RECORDER)) {
        if (event["detail-type"] !== "KMS Imported Key Material Expiration") continue;
        const keyId = (event.detail as { "key-id"?: string })["key-id"];
        const key = keys.get(event.account);
        if (key !== undefined && arnOf(key).endsWith(`/${keyId}`)) expiries.set(event.account, event);
      }
      if (expiries.size < MEMBERS.length) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect([...expiries.keys()].sort()).toEqual([...MEMBERS]);
    for (const [account, event] of expiries) {
      const key = keys.get(account) as ManagedKey;
      const signal = parseKmsEvent(event);
      expect(signal).toMatchObject({ kind: "material-expired", keyArn: arnOf(key), region: REGION });
      const outcome = await handleKmsSignal(bed.deps, signal as KmsSignal, {
        correlationId: randomUUID(),
        isTether: bed.config.isTether,
      });
      expect(outcome).toEqual({ kind: "handled", outcome: { kind: "restored" } });
      expect((await stateIn(account, arnOf(key))).keyState).toBe("Enabled");
    }
    // Tether's own import in a member, as the member's CloudTrail names it (the member role's session named
    // after the function): Tether's own call, not someone else's import.
    const [first] = MEMBERS;
    const own = await handleKmsSignal(
      bed.deps,
      {
        kind: "material-imported",
        keyArn: arnOf(keys.get(first) as ManagedKey),
        region: REGION,
        actorArn: `arn:aws:sts::${first}:assumed-role/tether-member/tether-sweep`,
      },
      { correlationId: randomUUID(), isTether: bed.config.isTether },
    );
    expect(own).toEqual({ kind: "own-call" });
    // The same key id in an account that is neither the hub's nor a member's (the envelope's account, no
    // resources): not the member's key; ignored, not an error.
    const stranger = "555566667777";
    const foreign = { ...(expiries.get(first) as object), account: stranger, resources: [] };
    const ignored = await handleKmsSignal(bed.deps, parseKmsEvent(foreign) as KmsSignal, {
      correlationId: randomUUID(),
      isTether: bed.config.isTether,
    });
    expect(ignored).toEqual({ kind: "account-unregistered", account: stranger });
  });

  it("a member whose role is gone: one alert naming it, its keys retried; the other members renew untouched", async () => {
    const [first, broken, third] = MEMBERS;
    // A second key in the member about to break: two keys failing, still one alert.
    const second = (await adopt(await memberKeyArn(broken))).key;
    // And a key of the hub's own account.
    const { ref, checkValue } = await bed.putMaterial();
    const hubKey = (
      await registerKey(bed.deps, {
        mode: "create",
        region: REGION,
        keySpec: "SYMMETRIC_DEFAULT",
        materialRef: ref,
        checkValue,
        policy: { validityPeriod: "P30D", reconcileInterval: "PT1M", wrappingKeySpec: "RSA_2048" },
        actor: "operator:alice",
        correlationId: randomUUID(),
      })
    ).key;
    expect(hubKey.account).toBe(HUB);
    await bed.aws.kms.admin.deleteRole(roleArn(broken));
    // 26 days on: every key is due for renewal, and every cached session has long ended.
    await bed.advance(26 * DAY_MS);
    const validTo = async (account: string, key: ManagedKey) =>
      (await stateIn(account, arnOf(key))).validTo?.getTime() ?? 0;
    const before = { first: await validTo(first, keys.get(first) as ManagedKey) };
    const since = bed.now();
    const report = await sweep(sweepDeps, { correlationId: "sweep-member-down" });
    expect(report.outcomes.renewed).toBe(3);
    expect(report.outcomes.failed).toBe(2);
    expect(await validTo(first, keys.get(first) as ManagedKey)).toBeGreaterThan(before.first + 25 * DAY_MS);
    for (const key of [keys.get(broken) as ManagedKey, second]) {
      const record = (await bed.deps.keys.get(key.id))?.regions[0];
      expect(record).toMatchObject({ consecutiveFailures: 1, lastFailure: "MemberAccessError" });
      // No alert of its own: the member's alert says it.
      const alerts = (await bed.history(key.id)).filter(
        (e) => e.detailType === AuditDetailType.TetherAlert && new Date(e.time) >= since,
      );
      expect(alerts.map((e) => ("reasonCode" in e ? e.reasonCode : e.detailType))).toEqual([]);
    }
    // Another run half an hour later, the member's keys retried and failing again: still that one alert.
    await bed.advance(30 * MINUTE_MS);
    const again = await sweep(sweepDeps, { correlationId: "sweep-member-down-2" });
    expect(again.outcomes.failed).toBe(2);
    await bed.aws.events.drain();
    const memberAlerts = bed.aws.events
      .recorded(AUDIT_RECORDER)
      .filter((e) => (e.detail as { reasonCode?: string }).reasonCode === "MEMBER_ACCESS_FAILING");
    expect(memberAlerts).toHaveLength(1);
    expect(memberAlerts[0]?.detail).toMatchObject({
      keyId: broken,
      severity: "critical",
      reason: "AccessDenied",
    });
    expect((memberAlerts[0]?.detail as { summary?: string } | undefined)?.summary).toContain(broken);
    expect(new Date(memberAlerts[0]?.time ?? 0).getTime()).toBeGreaterThanOrEqual(since.getTime() - 1000);
    for (const key of [keys.get(first), keys.get(third), hubKey] as ManagedKey[]) {
      expect((await bed.deps.keys.get(key.id))?.regions[0]).toMatchObject({
        consecutiveFailures: 0,
        materialExpected: true,
      });
    }
    // The role back: the member's keys renew at their next check.
    await bed.aws.kms.admin.putRole(memberRole(broken));
    await bed.advance(2 * MINUTE_MS);
    await sweep(sweepDeps, { correlationId: "sweep-member-back" });
    for (const key of [keys.get(broken) as ManagedKey, second]) {
      expect((await bed.deps.keys.get(key.id))?.regions[0]).toMatchObject({ consecutiveFailures: 0 });
      expect(await validTo(broken, key)).toBeGreaterThan(bed.now().getTime() + 29 * DAY_MS);
    }
  });

  it("rotates a member's key in-key and unmanages another, in the member, within the member role's policy", async () => {
    const [first, , third] = MEMBERS;
    const key = keys.get(first) as ManagedKey;
    const rotated = await rotateKey(bed.deps, {
      key: key.id,
      reason: "yearly rotation",
      actor: "operator:alice",
      correlationId: randomUUID(),
    });
    expect(rotated.method).toBe("in-key");
    expect(rotated.key.account).toBe(first);
    expect((await stateIn(first, arnOf(key))).keyState).toBe("Enabled");
    // A key swap would create a key and move an alias in the member: the member role may do neither, and an
    // adopted member key has no alias for a swap to move.
    const swap = await changeKeyPolicy(bed.deps, {
      key: key.id,
      policy: { rotationMethod: "key-swap" },
      actor: "operator:alice",
      correlationId: randomUUID(),
    })
      .then(() =>
        rotateKey(bed.deps, {
          key: key.id,
          reason: "swap",
          actor: "operator:alice",
          correlationId: randomUUID(),
        }),
      )
      .catch((error: unknown) => error);
    expect(swap).toBeInstanceOf(StateConflictError);
    expect(swap).toMatchObject({ state: "member-key" });
    // Unmanaging takes the deployment's mark off in the member (the member role's one tagging right).
    const spare = (await adopt(await memberKeyArn(third as string))).key;
    await unmanageKey(bed.deps, { key: spare.id, actor: "operator:alice", correlationId: randomUUID() });
    const tags = await (await memberClient(third as string)).send(
      new ListResourceTagsCommand({ KeyId: arnOf(spare) }),
    );
    expect(tags.Tags ?? []).toEqual([]);
  });

  it("revokes each member's key in its own account", async () => {
    for (const [account, key] of keys) {
      const result = await revoke(bed.deps, {
        key: key.id,
        reason: "test: kill switch",
        actor: "operator:alice",
        correlationId: randomUUID(),
      });
      expect(result.regions[REGION], account).toMatchObject({ kind: "revoked" });
      expect((await stateIn(account, arnOf(key))).keyState).toBe("PendingImport");
    }
  });

  it("refuses a key of an account that is neither the hub's nor a registered member's, naming keyArn", async () => {
    const stranger = "555566667777";
    await bed.aws.kms.admin.putRole(memberRole(stranger));
    const arn = await memberKeyArn(stranger);
    const error = await adopt(arn).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccountNotRegisteredError);
    expect(error).toMatchObject({ field: "keyArn", accountId: stranger });
    expect((error as Error).message).toContain(stranger);
    expect((error as Error).message).toContain(HUB);
    // Nothing recorded for it.
    expect((await listKeys(bed.deps, { limit: 100, account: stranger })).items).toEqual([]);
  });
});
