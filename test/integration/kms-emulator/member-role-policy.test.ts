/**
 * A session of a local member role is held to the role's permission policy (infra/local/kms/authorize.ts),
 * here the member template's own (infra/member-account.yml rendered by infra/local/iam/member-role.ts, with
 * the template's trust too): the import path on the hub deployment's EXTERNAL keys in the hub's Regions, and
 * nothing else that writes (no CreateKey, ReplicateKey, TagResource), plus reads and its account's CloudTrail
 * (LookupEvents is evaluated too). Each refusal is KMS's AccessDeniedException (400) with IAM's wording
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html). A role put with trust
 * only keeps today's freedom in its account.
 */
import { randomBytes } from "node:crypto";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  ListKeysCommand,
  ReplicateKeyCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from "@aws-sdk/client-kms";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderMemberRole } from "../../../infra/local/iam/member-role.js";
import { type KmsEmulator, startKmsEmulator } from "../../../infra/local/kms/index.js";
import { rejection } from "../../support/kms-testbed.js";
import { wrapKeyMaterial } from "../../support/kms-wrap.js";

const HUB = "111122223333";
const MEMBER = "222233334444";
const PREFIX = "tether-test-eu-west-1";
const DEPLOYMENT = "tether/test/eu-west-1";
const REGIONS = ["eu-west-1", "eu-central-1"];
const EXTERNAL_ID = "hub-external-id";
const role = renderMemberRole({
  memberAccountId: MEMBER,
  hubAccountId: HUB,
  hubRolePrefix: PREFIX,
  externalId: EXTERNAL_ID,
  deployment: DEPLOYMENT,
  regions: REGIONS,
});
const TRUST_ONLY_ROLE = `arn:aws:iam::${MEMBER}:role/trust-only`;
const SESSION = `arn:aws:sts::${MEMBER}:assumed-role/tether-member/tether-sweep`;
const MARK = { TagKey: "tether:managed-by", TagValue: DEPLOYMENT };

let kms: KmsEmulator;
const clients: Array<{ destroy(): void }> = [];
/** The member role's session (as the hub's sweep). */
let member: KMSClient;
/** An administrator of the member account, who makes its keys. */
let admin: (region?: string) => KMSClient;

function client(
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  region = "eu-west-1",
) {
  const c = new KMSClient({ endpoint: kms.url, region, credentials, maxAttempts: 1 });
  clients.push(c);
  return c;
}

async function session(roleArn: string, region = "eu-west-1"): Promise<KMSClient> {
  return client(await credentialsOf(roleArn, region), region);
}

async function credentialsOf(roleArn: string, region = "eu-west-1") {
  const sts = new STSClient({
    endpoint: kms.url,
    region,
    credentials: { accessKeyId: "AKIDHUBSWEEP", secretAccessKey: "x" },
    maxAttempts: 1,
  });
  clients.push(sts);
  const { Credentials: c } = await sts.send(
    new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "tether-sweep", ExternalId: EXTERNAL_ID }),
  );
  return {
    accessKeyId: c?.AccessKeyId ?? "",
    secretAccessKey: c?.SecretAccessKey ?? "",
    sessionToken: c?.SessionToken ?? "",
  };
}

async function keyOf(options: { origin?: "EXTERNAL" | "AWS_KMS"; marked?: string; region?: string }) {
  const out = await admin(options.region).send(
    new CreateKeyCommand({
      Origin: options.origin ?? "EXTERNAL",
      ...(options.marked === undefined ? {} : { Tags: [{ TagKey: MARK.TagKey, TagValue: options.marked }] }),
    }),
  );
  return out.KeyMetadata?.Arn ?? "";
}

const parameters = (keyId: string) =>
  new GetParametersForImportCommand({
    KeyId: keyId,
    WrappingAlgorithm: "RSAES_OAEP_SHA_256",
    WrappingKeySpec: "RSA_2048",
  });

/** What a refusal looks like on the wire, with IAM's wording for an implicit or an explicit deny. */
async function expectRefused(call: Promise<unknown>, action: string, resource: string, explicit = false) {
  const error = await rejection(call);
  expect(error.name).toBe("AccessDeniedException");
  expect(error.$metadata?.httpStatusCode).toBe(400);
  expect(error.message).toBe(
    `User: ${SESSION} is not authorized to perform: kms:${action} on resource: ${resource} ` +
      (explicit
        ? "with an explicit deny in an identity-based policy"
        : `because no identity-based policy allows the kms:${action} action`),
  );
}

beforeAll(async () => {
  kms = await startKmsEmulator({
    identities: [
      { accessKeyId: "AKIDHUBSWEEP", arn: `arn:aws:sts::${HUB}:assumed-role/${PREFIX}-sweep/run` },
      { accessKeyId: "AKIDMEMBERADMIN", arn: `arn:aws:iam::${MEMBER}:user/admin` },
    ],
  });
  await kms.admin.putRole({
    arn: role.arn,
    trustPolicy: role.trustPolicy,
    permissionPolicy: role.permissionPolicy,
  });
  await kms.admin.putRole({ arn: TRUST_ONLY_ROLE, trustPolicy: role.trustPolicy });
  admin = (region = "eu-west-1") => client({ accessKeyId: "AKIDMEMBERADMIN", secretAccessKey: "x" }, region);
  member = await session(role.arn);
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await kms?.close();
});

describe("a member role session, held to the member template's policy", () => {
  it("imports into the deployment's marked EXTERNAL key, reads it, lists keys and takes the mark off", async () => {
    const arn = await keyOf({ marked: DEPLOYMENT });
    const params = await member.send(parameters(arn));
    const material = randomBytes(32);
    await member.send(
      new ImportKeyMaterialCommand({
        KeyId: arn,
        ImportToken: params.ImportToken,
        EncryptedKeyMaterial: wrapKeyMaterial(material, params.PublicKey as Uint8Array, "RSAES_OAEP_SHA_256"),
        ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      }),
    );
    material.fill(0);
    expect((await member.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.KeyState).toBe("Enabled");
    expect((await member.send(new ListKeysCommand({}))).Keys?.map((k) => k.KeyArn)).toContain(arn);
    await member.send(new UntagResourceCommand({ KeyId: arn, TagKeys: [MARK.TagKey] }));
    // Unmarked now: the import path is closed to it.
    await expectRefused(member.send(parameters(arn)), "GetParametersForImport", arn);
  });

  it("reads its account's CloudTrail (the template allows LookupEvents); a role whose policy does not, may not", async () => {
    const trail = new CloudTrailClient({
      endpoint: kms.url,
      region: "eu-west-1",
      credentials: await credentialsOf(role.arn),
      maxAttempts: 1,
    });
    clients.push(trail);
    await trail.send(new LookupEventsCommand({}));
    const narrowArn = `arn:aws:iam::${MEMBER}:role/narrow`;
    await kms.admin.putRole({
      arn: narrowArn,
      trustPolicy: role.trustPolicy,
      permissionPolicy: {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "kms:ListKeys", Resource: "*" }],
      },
    });
    const narrow = new CloudTrailClient({
      endpoint: kms.url,
      region: "eu-west-1",
      credentials: await credentialsOf(narrowArn),
      maxAttempts: 1,
    });
    clients.push(narrow);
    const error = await rejection(narrow.send(new LookupEventsCommand({})));
    expect(error.name).toBe("AccessDeniedException");
    expect(error.message).toBe(
      `User: arn:aws:sts::${MEMBER}:assumed-role/narrow/tether-sweep is not authorized to perform: cloudtrail:LookupEvents on resource: * because no identity-based policy allows the cloudtrail:LookupEvents action`,
    );
  });

  it("may not create a key, even an EXTERNAL one carrying the mark, nor replicate one", async () => {
    const mrk = (
      await admin().send(new CreateKeyCommand({ Origin: "EXTERNAL", MultiRegion: true, Tags: [MARK] }))
    ).KeyMetadata?.Arn as string;
    await expectRefused(
      member.send(new ReplicateKeyCommand({ KeyId: mrk, ReplicaRegion: "eu-central-1", Tags: [MARK] })),
      "ReplicateKey",
      mrk,
    );
    await expectRefused(
      member.send(new CreateKeyCommand({ Origin: "EXTERNAL", Tags: [MARK] })),
      "CreateKey",
      "*",
    );
    // AWS_KMS origin: the template's explicit deny of other origins.
    await expectRefused(member.send(new CreateKeyCommand({})), "CreateKey", "*", true);
  });

  it("may not tag, not even the deployment's own key; tagging an unmarked key is explicitly denied", async () => {
    const marked = await keyOf({ marked: DEPLOYMENT });
    await expectRefused(
      member.send(new TagResourceCommand({ KeyId: marked, Tags: [{ TagKey: "team", TagValue: "x" }] })),
      "TagResource",
      marked,
    );
    const unmarked = await keyOf({});
    await expectRefused(
      member.send(new TagResourceCommand({ KeyId: unmarked, Tags: [MARK] })),
      "TagResource",
      unmarked,
      true,
    );
  });

  it("may not import into an unmarked key, another deployment's key or a key that is not EXTERNAL", async () => {
    const unmarked = await keyOf({});
    await expectRefused(member.send(parameters(unmarked)), "GetParametersForImport", unmarked);
    const other = await keyOf({ marked: "tether/prod/eu-west-1" });
    await expectRefused(member.send(parameters(other)), "GetParametersForImport", other, true);
    const awsKms = await keyOf({ origin: "AWS_KMS", marked: DEPLOYMENT });
    await expectRefused(member.send(parameters(awsKms)), "GetParametersForImport", awsKms, true);
  });

  it("may not act in a Region outside the hub's list, even on a marked EXTERNAL key", async () => {
    const arn = await keyOf({ marked: DEPLOYMENT, region: "us-east-1" });
    const elsewhere = await session(role.arn, "us-east-1");
    const error = await rejection(elsewhere.send(parameters(arn)));
    expect(error.name).toBe("AccessDeniedException");
    expect(error.message).toBe(
      `User: ${SESSION} is not authorized to perform: kms:GetParametersForImport on resource: ${arn} because no identity-based policy allows the kms:GetParametersForImport action`,
    );
    await expectRefused(elsewhere.send(new DescribeKeyCommand({ KeyId: arn })), "DescribeKey", arn);
  });

  it("a role put with trust only keeps its sessions free in its account (no policy to evaluate)", async () => {
    const free = await session(TRUST_ONLY_ROLE);
    const out = await free.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    expect(out.KeyMetadata?.Origin).toBe("EXTERNAL");
  });

  it("refuses a permission policy the simulator cannot read, naming it", async () => {
    await expect(
      kms.admin.putRole({
        arn: `arn:aws:iam::${MEMBER}:role/broken`,
        trustPolicy: role.trustPolicy,
        permissionPolicy: {
          Version: "2012-10-17",
          Statement: [{ Effect: "Maybe", Action: "kms:*", Resource: "*" }],
        },
      }),
    ).rejects.toThrow(/permissionPolicy\[0\] is not a valid IAM policy/);
  });

  it("a deleted role's live session is refused everything: its policy went with it", async () => {
    const doomedArn = `arn:aws:iam::${MEMBER}:role/doomed`;
    await kms.admin.putRole({
      arn: doomedArn,
      trustPolicy: role.trustPolicy,
      permissionPolicy: role.permissionPolicy,
    });
    const doomed = await session(doomedArn);
    await doomed.send(new ListKeysCommand({}));
    await kms.admin.deleteRole(doomedArn);
    const error = await rejection(doomed.send(new ListKeysCommand({})));
    expect(error.name).toBe("AccessDeniedException");
    expect(error.message).toContain("because no identity-based policy allows the kms:ListKeys action");
  });
});
