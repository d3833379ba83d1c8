/**
 * Key policies in the local KMS: the default policy a key gets, GetKeyPolicy and PutKeyPolicy, the policy
 * CreateKey and ReplicateKey attach, and the refusals (malformed documents, other policy names). The
 * default policy is cross-checked with moto's KMS where moto is installed.
 */
import {
  CreateKeyCommand,
  GetKeyPolicyCommand,
  KMSClient,
  PutKeyPolicyCommand,
  ReplicateKeyCommand,
} from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MOTO_CREDENTIALS,
  MOTO_REGION,
  type MotoServer,
  motoAvailable,
  startMoto,
} from "../../deploy/support/moto.js";
import { localKmsClient, rejection, useKmsEmulator } from "../../support/kms-testbed.js";

const ACCOUNT = "210987654321";
const local = useKmsEmulator("eu-west-1", { emulator: { accountId: ACCOUNT } });

const CUSTOM = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "Root",
      Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: "kms:*",
      Resource: "*",
    },
  ],
});

describe("key policies", () => {
  it("gives a key created without a policy the default one: the account may use it through IAM", async () => {
    const { KeyMetadata } = await local.kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    const out = await local.kms.send(new GetKeyPolicyCommand({ KeyId: KeyMetadata?.Arn }));
    expect(out.PolicyName).toBe("default");
    const policy = JSON.parse(out.Policy ?? "{}");
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: "kms:*",
        Resource: "*",
      }),
    ]);
  });

  it("keeps the policy given to CreateKey, PutKeyPolicy and ReplicateKey (a replica's own, not the primary's)", async () => {
    const { KeyMetadata } = await local.kms.send(
      new CreateKeyCommand({ Origin: "EXTERNAL", MultiRegion: true, Policy: CUSTOM }),
    );
    const arn = KeyMetadata?.Arn as string;
    expect(
      (await local.kms.send(new GetKeyPolicyCommand({ KeyId: arn, PolicyName: "default" }))).Policy,
    ).toBe(CUSTOM);
    const changed = CUSTOM.replace('"Root"', '"RootChanged"');
    await local.kms.send(new PutKeyPolicyCommand({ KeyId: arn, Policy: changed }));
    expect((await local.kms.send(new GetKeyPolicyCommand({ KeyId: arn }))).Policy).toBe(changed);

    const replicated = await local.kms.send(
      new ReplicateKeyCommand({ KeyId: arn, ReplicaRegion: "us-east-2" }),
    );
    const replicaPolicy = JSON.parse(replicated.ReplicaPolicy ?? "{}");
    expect(replicaPolicy.Id).toBe("key-default-1");
    const replicaClient = localKmsClient(local.emulator.url, "us-east-2");
    try {
      const withPolicy = await local.kms.send(
        new ReplicateKeyCommand({
          KeyId: (await local.kms.send(new CreateKeyCommand({ Origin: "EXTERNAL", MultiRegion: true })))
            .KeyMetadata?.Arn,
          ReplicaRegion: "us-east-2",
          Policy: CUSTOM,
        }),
      );
      expect(withPolicy.ReplicaPolicy).toBe(CUSTOM);
      const read = await replicaClient.send(
        new GetKeyPolicyCommand({ KeyId: withPolicy.ReplicaKeyMetadata?.Arn }),
      );
      expect(read.Policy).toBe(CUSTOM);
    } finally {
      replicaClient.destroy();
    }
  });

  it("refuses a document that is not a JSON policy, and any policy name but default", async () => {
    const notJson = await rejection(
      local.kms.send(new CreateKeyCommand({ Origin: "EXTERNAL", Policy: "{oops" })),
    );
    expect(notJson.name).toBe("MalformedPolicyDocumentException");
    const noStatement = await rejection(
      local.kms.send(new CreateKeyCommand({ Origin: "EXTERNAL", Policy: '{"Version":"2012-10-17"}' })),
    );
    expect(noStatement.name).toBe("MalformedPolicyDocumentException");
    const { KeyMetadata } = await local.kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    const put = await rejection(
      local.kms.send(new PutKeyPolicyCommand({ KeyId: KeyMetadata?.KeyId, Policy: "[]" })),
    );
    expect(put.name).toBe("MalformedPolicyDocumentException");
    const otherName = await rejection(
      local.kms.send(new GetKeyPolicyCommand({ KeyId: KeyMetadata?.KeyId, PolicyName: "custom" })),
    );
    expect(otherName.name).toBe("NotFoundException");
  });
});

describe.skipIf(!motoAvailable())("the default key policy, cross-checked with moto's KMS", () => {
  let moto: MotoServer;
  let motoKms: KMSClient;
  beforeAll(async () => {
    moto = await startMoto();
    motoKms = new KMSClient({ endpoint: moto.url, region: MOTO_REGION, credentials: MOTO_CREDENTIALS });
  }, 60_000);
  afterAll(async () => {
    motoKms?.destroy();
    await moto?.stop();
  });

  it("has the same single statement: Allow kms:* on * to the account root", async () => {
    const created = await motoKms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    const theirs = JSON.parse(
      (
        await motoKms.send(
          new GetKeyPolicyCommand({ KeyId: created.KeyMetadata?.KeyId, PolicyName: "default" }),
        )
      ).Policy ?? "{}",
    );
    const ours = JSON.parse(
      (
        await local.kms.send(
          new GetKeyPolicyCommand({
            KeyId: (await local.kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }))).KeyMetadata?.KeyId,
          }),
        )
      ).Policy ?? "{}",
    );
    const shape = (policy: { Statement: Array<Record<string, unknown>> }, account: string) =>
      policy.Statement.map((s) => ({
        Effect: s.Effect,
        Action: s.Action,
        Resource: s.Resource,
        Principal: JSON.stringify(s.Principal).replace(account, "ACCOUNT"),
      }));
    const motoAccount = String(created.KeyMetadata?.AWSAccountId);
    expect(shape(ours, ACCOUNT)).toEqual(shape(theirs, motoAccount));
  });
});

if (!motoAvailable())
  console.warn("key-policy.test: moto is not installed here; the cross-check with moto's KMS is skipped");
