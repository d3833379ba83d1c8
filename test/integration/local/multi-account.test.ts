/**
 * The local AWS serves several accounts: the KMS emulator keeps keys per account, the account taken from the
 * caller's credentials, and its STS answers AssumeRole for member roles (trust policy, external id, session
 * limits) with credentials that act in the member account. Everything through the real AWS SDK over HTTP.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  GetParametersForImportCommand,
  KMSClient,
  ListKeysCommand,
} from "@aws-sdk/client-kms";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type KmsEmulator, startKmsEmulator } from "../../../infra/local/kms/index.js";
import {
  LOCAL_ACCOUNT_ID,
  LOCAL_ADMIN,
  LOCAL_CALLER_IDENTITIES,
  LOCAL_REGION,
  LOCAL_SERVICE_CREDENTIALS,
} from "../../../infra/local/runner/index.js";
import { importKeyMaterial } from "../../support/kms-testbed.js";

const MEMBER = "222233334444";
const OTHER_MEMBER = "333344445555";
const HUB_ROLE = `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/tether-local-${LOCAL_REGION}-sweep`;
const MEMBER_ROLE = `arn:aws:iam::${MEMBER}:role/tether-member`;
const EXTERNAL_ID = "tether-hub-external-id-1";

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

let kms: KmsEmulator;
const hub = LOCAL_SERVICE_CREDENTIALS;

const kmsAs = (credentials: Credentials, region = LOCAL_REGION) =>
  new KMSClient({ endpoint: kms.url, region, credentials, maxAttempts: 1 });
const stsAs = (credentials: Credentials) =>
  new STSClient({ endpoint: kms.url, region: LOCAL_REGION, credentials, maxAttempts: 1 });

function memberTrust(externalId = EXTERNAL_ID) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: HUB_ROLE },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "sts:ExternalId": externalId } },
      },
    ],
  };
}

async function assume(
  roleArn = MEMBER_ROLE,
  extra: { ExternalId?: string; DurationSeconds?: number; caller?: Credentials; session?: string } = {},
): Promise<Credentials> {
  const { Credentials: c } = await stsAs(extra.caller ?? hub).send(
    new AssumeRoleCommand({
      RoleArn: roleArn,
      RoleSessionName: extra.session ?? "tether-sweep",
      ...("ExternalId" in extra ? { ExternalId: extra.ExternalId } : { ExternalId: EXTERNAL_ID }),
      ...(extra.DurationSeconds === undefined ? {} : { DurationSeconds: extra.DurationSeconds }),
    }),
  );
  return {
    accessKeyId: c?.AccessKeyId ?? "",
    secretAccessKey: c?.SecretAccessKey ?? "",
    sessionToken: c?.SessionToken ?? "",
  };
}

async function refusal(
  promise: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error("expected a refusal");
}

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "tether-multi-account-"));
  kms = await startKmsEmulator({ identities: LOCAL_CALLER_IDENTITIES, dataDir });
});
afterAll(async () => {
  await kms?.close();
  await rm(dataDir, { recursive: true, force: true });
});
beforeEach(async () => {
  await kms.admin.reset();
  await kms.admin.putRole({ arn: MEMBER_ROLE, trustPolicy: memberTrust() });
});

describe("keys per account", () => {
  it("keeps the default account for unknown and hub credentials, as before", async () => {
    const { KeyMetadata } = await kmsAs({ accessKeyId: "anything", secretAccessKey: "x" }).send(
      new CreateKeyCommand({ Origin: "EXTERNAL" }),
    );
    expect(KeyMetadata?.AWSAccountId).toBe(LOCAL_ACCOUNT_ID);
    expect(KeyMetadata?.Arn).toContain(`:${LOCAL_ACCOUNT_ID}:key/`);
    const listed = await kmsAs(hub).send(new ListKeysCommand({}));
    expect(listed.Keys?.map((k) => k.KeyArn)).toEqual([KeyMetadata?.Arn]);
  });

  it("acts in the member account with the member role's session, and each account sees only its keys", async () => {
    const member = await assume();
    const { KeyMetadata: memberKey } = await kmsAs(member).send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    expect(memberKey?.AWSAccountId).toBe(MEMBER);
    expect(memberKey?.Arn).toMatch(new RegExp(`^arn:aws:kms:${LOCAL_REGION}:${MEMBER}:key/`));
    const { KeyMetadata: hubKey } = await kmsAs(hub).send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    expect((await kmsAs(member).send(new ListKeysCommand({}))).Keys?.map((k) => k.KeyArn)).toEqual([
      memberKey?.Arn,
    ]);
    expect((await kmsAs(hub).send(new ListKeysCommand({}))).Keys?.map((k) => k.KeyArn)).toEqual([
      hubKey?.Arn,
    ]);
    // The member's own key by id and by ARN.
    const byId = await kmsAs(member).send(new DescribeKeyCommand({ KeyId: memberKey?.KeyId }));
    expect(byId.KeyMetadata?.Arn).toBe(memberKey?.Arn);
    // The hub's key id means nothing in the member account.
    expect(await refusal(kmsAs(member).send(new DescribeKeyCommand({ KeyId: hubKey?.KeyId })))).toMatchObject(
      {
        name: "NotFoundException",
      },
    );
    const who = await stsAs(member).send(new GetCallerIdentityCommand({}));
    expect(who).toMatchObject({
      Account: MEMBER,
      Arn: `arn:aws:sts::${MEMBER}:assumed-role/tether-member/tether-sweep`,
    });
  });

  it("refuses another account's key ARN with AccessDeniedException, whether or not the key exists", async () => {
    const member = await assume();
    const { KeyMetadata: memberKey } = await kmsAs(member).send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    const fromHub = await refusal(kmsAs(hub).send(new DescribeKeyCommand({ KeyId: memberKey?.Arn })));
    expect(fromHub.name).toBe("AccessDeniedException");
    expect(fromHub.message).toContain("is not authorized to perform: kms:DescribeKey on resource:");
    expect(fromHub.message).toContain("because no resource-based policy allows the kms:DescribeKey action");
    const importFromHub = await refusal(
      kmsAs(hub).send(
        new GetParametersForImportCommand({
          KeyId: memberKey?.Arn,
          WrappingAlgorithm: "RSAES_OAEP_SHA_256",
          WrappingKeySpec: "RSA_2048",
        }),
      ),
    );
    expect(importFromHub.name).toBe("AccessDeniedException");
    const missing = `arn:aws:kms:${LOCAL_REGION}:${OTHER_MEMBER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    expect((await refusal(kmsAs(member).send(new DescribeKeyCommand({ KeyId: missing })))).name).toBe(
      "AccessDeniedException",
    );
  });

  it("keeps every account's keys across a restart", async () => {
    const member = await assume();
    const { KeyMetadata: memberKey } = await kmsAs(member).send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    await kms.close();
    kms = await startKmsEmulator({ identities: LOCAL_CALLER_IDENTITIES, dataDir });
    await kms.admin.putRole({ arn: MEMBER_ROLE, trustPolicy: memberTrust() });
    const again = await assume();
    const described = await kmsAs(again).send(new DescribeKeyCommand({ KeyId: memberKey?.Arn }));
    expect(described.KeyMetadata?.KeyState).toBe("PendingImport");
    expect((await kmsAs(hub).send(new ListKeysCommand({}))).Keys).toEqual([]);
  });

  it("loses a Region's imported material in every account", async () => {
    const member = await assume();
    const material = Buffer.alloc(32, 7);
    const keys = [];
    for (const client of [kmsAs(member), kmsAs(hub)]) {
      const { KeyMetadata } = await client.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
      await importKeyMaterial(client, KeyMetadata?.KeyId ?? "", material);
      keys.push(KeyMetadata?.KeyId);
    }
    expect((await kms.admin.loseRegion(LOCAL_REGION)).sort()).toEqual([...keys].sort());
    const memberState = await kmsAs(member).send(new DescribeKeyCommand({ KeyId: keys[0] }));
    expect(memberState.KeyMetadata?.KeyState).toBe("PendingImport");
  });

  it("expires a member's material and names the member's account in KMS's event", async () => {
    const member = await assume();
    const client = kmsAs(member);
    const { KeyMetadata } = await client.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    const now = (await kms.admin.clock()).epochMs;
    await importKeyMaterial(client, KeyMetadata?.KeyId ?? "", Buffer.alloc(32, 9), {
      validTo: new Date(now + 2 * 3600_000),
    });
    await kms.admin.advanceClock(3 * 3600_000);
    const expired = (await kms.admin.events()).filter(
      (e) => e["detail-type"] === "KMS Imported Key Material Expiration",
    );
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatchObject({ account: MEMBER, resources: [KeyMetadata?.Arn] });
  });

  it("records a member's calls in the member's CloudTrail history only", async () => {
    await kms.admin.setCloudTrail({ delayMs: 0 });
    const member = await assume();
    const { KeyMetadata } = await kmsAs(member).send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    const lookup = (credentials: Credentials) =>
      new CloudTrailClient({ endpoint: kms.url, region: LOCAL_REGION, credentials }).send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "CreateKey" }],
        }),
      );
    const [memberEvent] = (await lookup(member)).Events ?? [];
    const record = JSON.parse(memberEvent?.CloudTrailEvent ?? "{}") as Record<string, unknown>;
    expect(record).toMatchObject({
      recipientAccountId: MEMBER,
      userIdentity: { type: "AssumedRole", accountId: MEMBER },
    });
    expect(memberEvent?.Resources?.[0]?.ResourceName ?? JSON.stringify(record)).toContain(
      KeyMetadata?.KeyId ?? "?",
    );
    expect((await lookup(hub)).Events).toEqual([]);
  });
});

describe("the local STS", () => {
  it("refuses AssumeRole as STS does: missing or wrong external id, a caller the trust does not name, no role", async () => {
    const denied = (r: { name: string; status?: number; message: string }) => {
      expect(r).toMatchObject({ name: "AccessDenied", status: 403 });
      expect(r.message).toContain("is not authorized to perform: sts:AssumeRole on resource:");
    };
    denied(await refusal(assume(MEMBER_ROLE, { ExternalId: undefined })));
    denied(await refusal(assume(MEMBER_ROLE, { ExternalId: "wrong-external-id" })));
    denied(
      await refusal(
        assume(MEMBER_ROLE, { caller: { accessKeyId: LOCAL_ADMIN.accessKeyId, secretAccessKey: "x" } }),
      ),
    );
    denied(await refusal(assume(`arn:aws:iam::${OTHER_MEMBER}:role/tether-member`)));
    await kms.admin.deleteRole(MEMBER_ROLE);
    denied(await refusal(assume()));
  });

  it("validates parameters and the role-chaining limit with ValidationError", async () => {
    const chained = await refusal(assume(MEMBER_ROLE, { DurationSeconds: 7200 }));
    expect(chained).toMatchObject({ name: "ValidationError", status: 400 });
    expect(chained.message).toContain("1 hour session limit for roles assumed by role chaining");
    expect((await refusal(assume(MEMBER_ROLE, { DurationSeconds: 600 }))).name).toBe("ValidationError");
    expect((await refusal(assume(MEMBER_ROLE, { session: "has space" }))).name).toBe("ValidationError");
    expect((await refusal(assume(MEMBER_ROLE, { ExternalId: "x" }))).name).toBe("ValidationError");
  });

  it("refuses a role whose trust uses what it cannot evaluate", async () => {
    await expect(
      kms.admin.putRole({
        arn: `arn:aws:iam::${MEMBER}:role/odd`,
        trustPolicy: {
          Statement: [
            {
              Effect: "Allow",
              Principal: { AWS: HUB_ROLE },
              Action: "sts:AssumeRole",
              Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } },
            },
          ],
        },
      }),
    ).rejects.toThrow(/IpAddress is not evaluated locally/);
  });

  it("ends a session at its expiration on the emulator clock (ExpiredTokenException)", async () => {
    const member = await assume(MEMBER_ROLE, { DurationSeconds: 900 });
    await kmsAs(member).send(new ListKeysCommand({}));
    await kms.admin.advanceClock(901_000);
    const expired = await refusal(kmsAs(member).send(new ListKeysCommand({})));
    expect(expired.name).toBe("ExpiredTokenException");
  });
});
