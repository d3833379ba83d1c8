/**
 * The emulator's request quotas and injected faults are per account and Region, as KMS counts them ("Each
 * quota is calculated independently for each Region of each AWS account",
 * https://docs.aws.amazon.com/kms/latest/developerguide/limits.html): the account is taken from the caller's
 * credentials (infra/local/kms/accounts.ts), so one account at its quota never throttles another.
 */
import { CreateKeyCommand, GetParametersForImportCommand, KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KmsEmulator, startKmsEmulator } from "../../../infra/local/kms/index.js";
import { rejection } from "../../support/kms-testbed.js";

const MEMBER = "444455556666";
let emulator: KmsEmulator;
const clients: KMSClient[] = [];

function kmsAs(accessKeyId: string, region = "eu-west-1"): KMSClient {
  const client = new KMSClient({
    endpoint: emulator.url,
    region,
    credentials: { accessKeyId, secretAccessKey: "whatever" },
    maxAttempts: 1,
  });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  emulator = await startKmsEmulator({ port: 0 });
  await emulator.admin.registerIdentity({
    accessKeyId: "AKIDMEMBERQUOTA",
    arn: `arn:aws:iam::${MEMBER}:user/quota-test`,
  });
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  await emulator?.close();
});

async function parametersCall(kms: KMSClient): Promise<() => Promise<unknown>> {
  const key = await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
  return () =>
    kms.send(
      new GetParametersForImportCommand({
        KeyId: key.KeyMetadata?.KeyId,
        WrappingAlgorithm: "RSAES_OAEP_SHA_256",
        WrappingKeySpec: "RSA_2048",
      }),
    );
}

describe("quotas per account and Region", () => {
  it("throttles one account at its quota while another account in the same Region is served", async () => {
    const hub = await parametersCall(kmsAs("AKIDHUBQUOTA"));
    const member = await parametersCall(kmsAs("AKIDMEMBERQUOTA"));
    // A one-minute window: independent of machine speed; the limit is AWS's default of 1 per second.
    await emulator.admin.setQuotas({ windowMs: 60_000 });
    try {
      await hub();
      expect((await rejection(hub())).name).toBe("ThrottlingException");
      // The member's quota is its own: its first call goes through, its second is throttled.
      await member();
      expect((await rejection(member())).name).toBe("ThrottlingException");
    } finally {
      await emulator.admin.setQuotas(false);
    }
  });

  it("injects a fault into one account only when the fault names it", async () => {
    const hub = await parametersCall(kmsAs("AKIDHUBQUOTA"));
    const member = await parametersCall(kmsAs("AKIDMEMBERQUOTA"));
    await emulator.admin.injectFault({
      account: MEMBER,
      operation: "GetParametersForImport",
      error: "ThrottlingException",
      probability: 1,
    });
    try {
      expect((await rejection(member())).name).toBe("ThrottlingException");
      await hub();
    } finally {
      await emulator.admin.clearFaults();
    }
    await member();
  });
});
