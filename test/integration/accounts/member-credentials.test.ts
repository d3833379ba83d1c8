/**
 * StsMemberCredentials against the local STS: one session per member role and acting function, named after
 * the function, cached, renewed before it expires (on the clock it is given), one AssumeRole for many callers
 * at once, and a refusal that names the member.
 */
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KmsEmulator, startKmsEmulator } from "../../../infra/local/kms/index.js";
import { StsMemberCredentials } from "../../../lib/accounts/sts-member-credentials.js";
import { MEMBER_REFRESH_MARGIN_MS, MemberAccessError } from "../../../lib/domain/member-account.js";

const HUB_SWEEP = "arn:aws:iam::111122223333:role/tether-test-eu-west-1-sweep";
const MEMBER = {
  accountId: "222233334444",
  roleArn: "arn:aws:iam::222233334444:role/tether-member",
  externalId: "ext-id-1",
};
const HUB_CLIENT = { credentials: { accessKeyId: "hubsweep", secretAccessKey: "x" } };

let kms: KmsEmulator;
let now = new Date();
let credentials: StsMemberCredentials;

const trust = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { AWS: HUB_SWEEP },
      Action: "sts:AssumeRole",
      Condition: { StringEquals: { "sts:ExternalId": MEMBER.externalId } },
    },
  ],
};

beforeAll(async () => {
  kms = await startKmsEmulator({
    identities: [
      {
        accessKeyId: "hubsweep",
        arn: "arn:aws:sts::111122223333:assumed-role/tether-test-eu-west-1-sweep/x",
      },
    ],
  });
  await kms.admin.putRole({ arn: MEMBER.roleArn, trustPolicy: trust });
  now = new Date((await kms.admin.clock()).epochMs);
  credentials = new StsMemberCredentials({
    endpoint: kms.url,
    region: "eu-west-1",
    clientConfig: HUB_CLIENT,
    now: () => now,
  });
});
afterAll(async () => kms?.close());

async function whoAmI(c: { accessKeyId: string; secretAccessKey: string; sessionToken: string }) {
  const sts = new STSClient({ endpoint: kms.url, region: "eu-west-1", credentials: c });
  return sts.send(new GetCallerIdentityCommand({}));
}

describe("member credentials", () => {
  it("acts in the member as tether-<function>, with an hour's session", async () => {
    const c = await credentials.providerFor(MEMBER, "sweep")();
    expect(await whoAmI(c)).toMatchObject({
      Account: MEMBER.accountId,
      Arn: "arn:aws:sts::222233334444:assumed-role/tether-member/tether-sweep",
    });
    // An hour after the STS's now (the emulator's clock, read just before; real time moved on a little).
    expect(c.expiration.getTime() - now.getTime()).toBeGreaterThanOrEqual(3600_000);
    expect(c.expiration.getTime() - now.getTime()).toBeLessThan(3600_000 + 30_000);
  });

  it("caches per function, shares one AssumeRole among concurrent callers, renews before expiry", async () => {
    const provider = credentials.providerFor(MEMBER, "kms-events");
    const [a, b, c] = await Promise.all([provider(), provider(), provider()]);
    expect(new Set([a.accessKeyId, b.accessKeyId, c.accessKeyId]).size).toBe(1);
    expect((await provider()).accessKeyId).toBe(a.accessKeyId);
    // Another function has its own session.
    expect((await credentials.providerFor(MEMBER, "api")()).accessKeyId).not.toBe(a.accessKeyId);
    // Just before the margin: still cached; inside it: renewed.
    now = new Date(a.expiration.getTime() - MEMBER_REFRESH_MARGIN_MS - 1000);
    expect((await provider()).accessKeyId).toBe(a.accessKeyId);
    now = new Date(a.expiration.getTime() - MEMBER_REFRESH_MARGIN_MS + 1000);
    const renewed = await provider();
    expect(renewed.accessKeyId).not.toBe(a.accessKeyId);
    expect(renewed.expiration.getTime()).toBeGreaterThan(a.expiration.getTime());
  });

  it("names the member when its role cannot be assumed, and caches nothing then", async () => {
    const failing = credentials.providerFor({ ...MEMBER, externalId: "not-the-one" }, "sweep");
    const error = await failing().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MemberAccessError);
    expect(error).toMatchObject({ accountId: MEMBER.accountId, code: "AccessDenied" });
    expect((error as Error).message).toContain("222233334444");
    // The role removed: a new session is refused the same way (a live one runs on until it expires).
    await kms.admin.deleteRole(MEMBER.roleArn);
    const fresh = new StsMemberCredentials({
      endpoint: kms.url,
      region: "eu-west-1",
      clientConfig: HUB_CLIENT,
    });
    await expect(fresh.providerFor(MEMBER, "sweep")()).rejects.toMatchObject({ code: "AccessDenied" });
    await kms.admin.putRole({ arn: MEMBER.roleArn, trustPolicy: trust });
    expect((await fresh.providerFor(MEMBER, "sweep")()).accessKeyId).toMatch(/^ASIA/);
  });
});
