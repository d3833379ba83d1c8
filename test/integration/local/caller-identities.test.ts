/**
 * Who the local KMS's CloudTrail says called: Tether's functions (LOCAL_SERVICE_CREDENTIALS) as a session of
 * a role that serverless.yml's TETHER_SELF_PRINCIPALS recognises as Tether's own, the local admin and reader
 * as their IAM users — the identities the runner hands to the local AWS.
 */
import { join } from "node:path";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalAws, startLocalAws } from "../../../infra/local/index.js";
import {
  LOCAL_ACCOUNT_ID,
  LOCAL_ADMIN,
  LOCAL_CALLER_IDENTITIES,
  LOCAL_READER,
  LOCAL_REGION,
  LOCAL_SERVICE_CREDENTIALS,
  PROJECT_ROOT,
} from "../../../infra/local/runner/index.js";
import { loadServerlessDefinition } from "../../../infra/local/runner/serverless-definition.js";
import { parsePrincipalList } from "../../../lib/domain/principal-arn.js";

let aws: LocalAws;
let isTether: (arn: string) => boolean;

beforeAll(async () => {
  aws = await startLocalAws({
    ports: { kms: 0, dynamodb: 0, events: 0 },
    identities: LOCAL_CALLER_IDENTITIES,
  });
  await aws.kms.admin.setCloudTrail({ delayMs: 0 });
  const definition = await loadServerlessDefinition(join(PROJECT_ROOT, "serverless.yml"), {
    stage: "local",
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    params: { adminPrincipals: "x", readerPrincipals: "x", vault: "file", vaultSettings: "/tmp" },
  });
  const pattern = definition.functions[0]?.environment.TETHER_SELF_PRINCIPALS ?? "";
  expect(pattern).toContain("assumed-role/");
  // Read as Tether reads it (parsed ARNs, never globbed).
  const parsed = parsePrincipalList(pattern);
  if (!("matches" in parsed)) throw new Error(`TETHER_SELF_PRINCIPALS refused: ${pattern}`);
  isTether = parsed.matches;
});
afterAll(async () => {
  await aws.close();
});

async function recordedCaller(credentials: {
  accessKeyId: string;
  secretAccessKey: string;
}): Promise<string> {
  const kms = new KMSClient({ endpoint: aws.endpoints.kms, region: LOCAL_REGION, credentials });
  const cloudTrail = new CloudTrailClient({ endpoint: aws.endpoints.kms, region: LOCAL_REGION, credentials });
  try {
    const arn = (await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }))).KeyMetadata?.Arn ?? "";
    const { Events } = await cloudTrail.send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: arn }] }),
    );
    const record = JSON.parse(Events?.[0]?.CloudTrailEvent ?? "{}") as { userIdentity?: { arn?: string } };
    return record.userIdentity?.arn ?? "";
  } finally {
    kms.destroy();
    cloudTrail.destroy();
  }
}

describe("local caller identities in CloudTrail records", () => {
  it("records Tether's functions as a role session TETHER_SELF_PRINCIPALS matches", async () => {
    const caller = await recordedCaller(LOCAL_SERVICE_CREDENTIALS);
    expect(caller).toMatch(/^arn:aws:sts::111122223333:assumed-role\/tether-local-eu-west-1-/);
    expect(isTether(caller)).toBe(true);
  });

  it("records the local admin and reader as their IAM users, which are not Tether", async () => {
    for (const identity of [LOCAL_ADMIN, LOCAL_READER]) {
      const caller = await recordedCaller(identity);
      expect(caller).toBe(identity.principalArn);
      expect(isTether(caller)).toBe(false);
    }
  });
});
