/**
 * kmsClients' routing by account (lib/kms/clients.ts): the deployment's account gets the Region's own client,
 * a registered member a client of its own that signs with the member role's session, any other account is
 * refused before a client exists. Only clients are built here (no request is sent): the calls themselves
 * are tested against the local AWS in test/integration/accounts/member-keys.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { MemberAccount } from "../../../lib/domain/member-account.js";
import { AccountNotRegisteredError } from "../../../lib/domain/member-account.js";
import { kmsClients } from "../../../lib/kms/clients.js";
import type { MemberRole } from "../../../lib/lifecycle/ports.js";

const HUB = "111122223333";
const MEMBER = "222233334444";

function member(externalId = "ext-1"): MemberAccount {
  return {
    accountId: MEMBER,
    roleArn: `arn:aws:iam::${MEMBER}:role/tether-member`,
    externalId,
    addedAt: "2026-01-01T00:00:00Z",
    addedBy: "operator:alice",
    check: { checkedAt: "2026-01-01T00:00:00Z", assumeRole: { ok: true }, missing: [] },
  };
}

function setup() {
  let now = new Date("2026-06-01T00:00:00Z");
  let registered: MemberAccount | undefined = member();
  const reads: string[] = [];
  const asked: Array<{ role: MemberRole; actor: string }> = [];
  const clients = kmsClients({
    endpoint: "http://127.0.0.1:1",
    clientConfig: { credentials: { accessKeyId: "hub", secretAccessKey: "hub" } },
    members: {
      hubAccountId: async () => HUB,
      registry: {
        get: async (accountId) => {
          reads.push(accountId);
          return accountId === MEMBER ? registered : undefined;
        },
      },
      credentials: {
        providerFor: (role, actor) => {
          asked.push({ role, actor });
          return async () => ({
            accessKeyId: `ASIA-${role.externalId}`,
            secretAccessKey: "s",
            sessionToken: "t",
            expiration: new Date(now.getTime() + 3600_000),
          });
        },
      },
      actor: "sweep",
      registryTtlMs: 60_000,
      now: () => now,
    },
  });
  return {
    clients,
    reads,
    asked,
    advance: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
    register: (account: MemberAccount | undefined) => {
      registered = account;
    },
  };
}

describe("kmsClients with member accounts", () => {
  it("gives the deployment's account the Region's own client, without reading the registry", async () => {
    const { clients, reads } = setup();
    expect(await clients.forAccount?.("eu-west-1", HUB)).toBe(clients.forRegion("eu-west-1"));
    expect(reads).toEqual([]);
  });

  it("gives a member a client of its own per Region, signing with the member role's session for the acting function", async () => {
    const { clients, asked } = setup();
    const client = await clients.forAccount?.("eu-west-1", MEMBER);
    expect(client).not.toBe(clients.forRegion("eu-west-1"));
    expect(await clients.forAccount?.("eu-west-1", MEMBER)).toBe(client);
    expect(await clients.forAccount?.("eu-central-1", MEMBER)).not.toBe(client);
    expect(asked.map((a) => [a.role.roleArn, a.actor])).toContainEqual([member().roleArn, "sweep"]);
    const identity = await client?.config.credentials();
    expect(identity?.accessKeyId).toBe("ASIA-ext-1");
    // The SDK is told the session ends now, so it asks the provider (the one cache) on every request.
    expect(identity?.expiration?.getTime() ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(Date.now());
  });

  it("refuses an account that is neither the deployment's nor a member's, naming both", async () => {
    const { clients } = setup();
    const error = await clients.forAccount?.("eu-west-1", "999988887777").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccountNotRegisteredError);
    expect(error).toMatchObject({ field: "keyArn", accountId: "999988887777" });
    expect((error as Error).message).toContain(HUB);
  });

  it("reads a member's registration at most once per TTL; a removal or a new external id shows after it", async () => {
    const { clients, reads, advance, register } = setup();
    const first = await clients.forAccount?.("eu-west-1", MEMBER);
    await clients.forAccount?.("eu-west-1", MEMBER);
    expect(reads).toEqual([MEMBER]);
    // Registered again with another external id: a new client (and session) once the TTL has passed.
    register(member("ext-2"));
    advance(59_000);
    expect(await clients.forAccount?.("eu-west-1", MEMBER)).toBe(first);
    advance(2_000);
    const second = await clients.forAccount?.("eu-west-1", MEMBER);
    expect(second).not.toBe(first);
    expect((await second?.config.credentials())?.accessKeyId).toBe("ASIA-ext-2");
    // Removed: refused once the TTL has passed.
    register(undefined);
    advance(61_000);
    await expect(clients.forAccount?.("eu-west-1", MEMBER)).rejects.toBeInstanceOf(AccountNotRegisteredError);
  });
});
