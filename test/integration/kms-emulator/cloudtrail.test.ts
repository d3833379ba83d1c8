/**
 * The emulator's CloudTrail: a record for each KMS write call (and GetParametersForImport), posted to
 * the event bus of the call's Region after a delay on the emulator clock, dropped on request, and
 * served by LookupEvents (the real @aws-sdk/client-cloudtrail, and the AWS CLI when installed) from the
 * same port as KMS.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import {
  CloudTrailClient,
  type Event,
  LookupEventsCommand,
  type LookupEventsCommandInput,
} from "@aws-sdk/client-cloudtrail";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DeleteAliasCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  ReplicateKeyCommand,
} from "@aws-sdk/client-kms";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EventBus, startEventBus } from "../../../infra/local/events/index.js";
import { type KmsEmulator, startKmsEmulator } from "../../../infra/local/kms/index.js";
import { importKeyMaterial, rejection } from "../../support/kms-testbed.js";
import { wrapKeyMaterial } from "../../support/kms-wrap.js";

const run = promisify(execFile);
/** A scrubbed environment for the CLI (as aws-cli.test.ts): dummy credentials, no user configuration. */
function cliEnv(accessKeyId: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: tmpdir(),
    AWS_CONFIG_FILE: path.join(tmpdir(), "tether-no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: path.join(tmpdir(), "tether-no-aws-credentials"),
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: "x",
    AWS_DEFAULT_REGION: "eu-west-1",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
  };
  for (const name of ["PYENV_ROOT", "PYENV_VERSION"]) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  return env;
}
const MINUTE = 60_000;
const ACCOUNT = "111122223333";
const OFFICER = {
  accessKeyId: "AKIDBREAKGLASS000001",
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/BreakGlass/officer`,
};

let emulator: KmsEmulator;
let bus: EventBus;
const clients: Array<{ destroy(): void }> = [];

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

function cloudTrail(region = "eu-west-1"): CloudTrailClient {
  const client = new CloudTrailClient({
    endpoint: emulator.url,
    region,
    credentials: { accessKeyId: "AKIDREADER", secretAccessKey: "whatever" },
    maxAttempts: 1,
  });
  clients.push(client);
  return client;
}

async function lookup(input: LookupEventsCommandInput, region = "eu-west-1"): Promise<Event[]> {
  return (await cloudTrail(region).send(new LookupEventsCommand(input))).Events ?? [];
}

async function byResource(arn: string, region = "eu-west-1"): Promise<Event[]> {
  return lookup({ LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: arn }] }, region);
}

function detail(event: Event): Record<string, unknown> {
  return JSON.parse(event.CloudTrailEvent ?? "{}") as Record<string, unknown>;
}

async function externalKey(kms: KMSClient): Promise<{ keyId: string; arn: string }> {
  const out = await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
  return { keyId: out.KeyMetadata?.KeyId ?? "", arn: out.KeyMetadata?.Arn ?? "" };
}

/** CloudTrail events the bus received for a key, oldest first. */
function busEvents(arn: string) {
  return bus
    .events()
    .filter((e) => JSON.stringify(e.detail).includes(arn) && e["detail-type"].includes("CloudTrail"));
}

async function eventually<T>(read: () => T | Promise<T>, ok: (v: T) => boolean, ms = 3000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

beforeAll(async () => {
  bus = await startEventBus({ port: 0 });
  // A long tick: delivery here is driven by clock moves, so the periodic timer cannot race the assertions.
  emulator = await startKmsEmulator({
    port: 0,
    eventBusUrl: bus.url,
    tickMs: 60_000,
    identities: [OFFICER],
  });
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  await emulator.close();
  await bus.close();
});
beforeEach(async () => {
  await emulator.admin.setCloudTrail({ delayMs: 5 * MINUTE, dropRate: 0, lookupDropRate: 0 });
});

describe("records of KMS calls", () => {
  it("records an out-of-band delete with the caller, the key and no secret, visible only after the delay", async () => {
    const kms = kmsAs("AKIDTETHERADMIN");
    const officer = kmsAs(OFFICER.accessKeyId);
    const { keyId, arn } = await externalKey(kms);
    const params = await kms.send(
      new GetParametersForImportCommand({
        KeyId: keyId,
        WrappingAlgorithm: "RSAES_OAEP_SHA_256",
        WrappingKeySpec: "RSA_2048",
      }),
    );
    const wrapped = wrapKeyMaterial(
      randomBytes(32),
      params.PublicKey ?? new Uint8Array(),
      "RSAES_OAEP_SHA_256",
    );
    const imported = await kms.send(
      new ImportKeyMaterialCommand({
        KeyId: keyId,
        ImportToken: params.ImportToken,
        EncryptedKeyMaterial: wrapped,
        ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      }),
    );
    await officer.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));

    // Nothing yet: the records wait five minutes of emulator time.
    expect(await byResource(arn)).toEqual([]);
    expect(busEvents(arn)).toEqual([]);

    await emulator.admin.advanceClock(5 * MINUTE);
    const events = await byResource(arn);
    expect(events.map((e) => e.EventName)).toEqual([
      "DeleteImportedKeyMaterial",
      "ImportKeyMaterial",
      "GetParametersForImport",
      "CreateKey",
    ]);
    const [deleted, importCall, parameters] = events.map(detail);
    expect(events[0]).toMatchObject({
      EventSource: "kms.amazonaws.com",
      Username: "officer",
      AccessKeyId: OFFICER.accessKeyId,
      ReadOnly: "false",
      Resources: [{ ResourceType: "AWS::KMS::Key", ResourceName: arn }],
    });
    expect(deleted).toMatchObject({
      eventVersion: expect.any(String),
      eventSource: "kms.amazonaws.com",
      eventName: "DeleteImportedKeyMaterial",
      awsRegion: "eu-west-1",
      sourceIPAddress: "127.0.0.1",
      userAgent: expect.stringContaining("aws-sdk-js"),
      userIdentity: {
        type: "AssumedRole",
        arn: OFFICER.arn,
        accountId: ACCOUNT,
        accessKeyId: OFFICER.accessKeyId,
        sessionContext: { sessionIssuer: { type: "Role", arn: `arn:aws:iam::${ACCOUNT}:role/BreakGlass` } },
      },
      requestParameters: { keyId },
      responseElements: { keyId: arn, keyMaterialId: imported.KeyMaterialId },
      readOnly: false,
      eventType: "AwsApiCall",
      managementEvent: true,
      eventCategory: "Management",
      recipientAccountId: ACCOUNT,
      resources: [{ accountId: ACCOUNT, type: "AWS::KMS::Key", ARN: arn }],
    });
    expect(deleted?.errorCode).toBeUndefined();
    // An unknown access key is recorded as the IAM user named after it.
    expect(importCall?.userIdentity).toMatchObject({
      type: "IAMUser",
      arn: `arn:aws:iam::${ACCOUNT}:user/AKIDTETHERADMIN`,
      userName: "AKIDTETHERADMIN",
    });
    expect(importCall?.requestParameters).toEqual({
      keyId,
      expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
    });
    expect(parameters).toMatchObject({ readOnly: true, responseElements: null });
    expect(events[2]?.ReadOnly).toBe("true");

    // Never a secret: no token, no wrapped material, no public key, anywhere in the records or on the bus.
    const everything = JSON.stringify([events, (await emulator.admin.cloudTrail()).records, bus.events()]);
    for (const secret of [params.ImportToken, wrapped, params.PublicKey]) {
      expect(everything).not.toContain(Buffer.from(secret ?? new Uint8Array()).toString("base64"));
    }
    for (const member of ["importToken", "encryptedKeyMaterial", "publicKey"])
      expect(everything).not.toContain(member);

    // The same records reach the bus of the Region, as "AWS API Call via CloudTrail".
    const delivered = await eventually(
      () => busEvents(arn),
      (list) => list.length === 4,
    );
    expect(delivered.map((e) => (e.detail as { eventName: string }).eventName)).toEqual([
      "CreateKey",
      "GetParametersForImport",
      "ImportKeyMaterial",
      "DeleteImportedKeyMaterial",
    ]);
    expect(delivered[3]).toMatchObject({
      "detail-type": "AWS API Call via CloudTrail",
      source: "aws.kms",
      account: ACCOUNT,
      region: "eu-west-1",
      detail: { eventID: events[0]?.EventId, userIdentity: { arn: OFFICER.arn } },
    });
  });

  it("records failed calls with errorCode and errorMessage, as CloudTrail does", async () => {
    const kms = kmsAs("AKIDFAILING");
    const { keyId, arn } = await externalKey(kms);
    const refused = await rejection(
      kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId, KeyMaterialId: "ab".repeat(32) })),
    );
    await emulator.admin.advanceClock(5 * MINUTE);
    const failed = (await byResource(arn))
      .map(detail)
      .find((d) => d.eventName === "DeleteImportedKeyMaterial");
    expect(failed).toMatchObject({
      errorCode: refused.name,
      errorMessage: refused.message,
      responseElements: null,
    });
  });

  it("names the alias and the key of CreateAlias", async () => {
    const kms = kmsAs("AKIDALIAS");
    const { keyId, arn } = await externalKey(kms);
    const alias = `alias/trail-${randomBytes(4).toString("hex")}`;
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
    await emulator.admin.advanceClock(5 * MINUTE);
    const [created] = await lookup({
      LookupAttributes: [
        { AttributeKey: "ResourceName", AttributeValue: `arn:aws:kms:eu-west-1:${ACCOUNT}:${alias}` },
      ],
    });
    expect(created?.EventName).toBe("CreateAlias");
    expect(created?.Resources).toEqual([
      { ResourceType: "AWS::KMS::Key", ResourceName: arn },
      { ResourceType: "AWS::KMS::Alias", ResourceName: `arn:aws:kms:eu-west-1:${ACCOUNT}:${alias}` },
    ]);
    // DeleteAlias names only the alias; the record names its key too.
    await kms.send(new DeleteAliasCommand({ AliasName: alias }));
    await emulator.admin.advanceClock(5 * MINUTE);
    const [deleted] = await byResource(arn);
    expect(deleted?.EventName).toBe("DeleteAlias");
    expect(deleted?.Resources?.map((r) => r.ResourceType)).toEqual(["AWS::KMS::Key", "AWS::KMS::Alias"]);
  });

  it("records ReplicateKey in the primary's Region and the CreateKey it causes in the replica's", async () => {
    const kms = kmsAs("AKIDREPLICATE");
    const primary = await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL", MultiRegion: true }));
    const replica = await kms.send(
      new ReplicateKeyCommand({ KeyId: primary.KeyMetadata?.KeyId, ReplicaRegion: "ap-northeast-1" }),
    );
    await emulator.admin.advanceClock(5 * MINUTE);
    const replicaArn = replica.ReplicaKeyMetadata?.Arn ?? "";
    expect((await byResource(primary.KeyMetadata?.Arn ?? "")).map((e) => e.EventName)).toEqual([
      "ReplicateKey",
      "CreateKey",
    ]);
    const [created] = await byResource(replicaArn, "ap-northeast-1");
    expect(created).toMatchObject({ EventName: "CreateKey", Username: "AKIDREPLICATE" });
    expect(detail(created ?? {})).toMatchObject({
      awsRegion: "ap-northeast-1",
      responseElements: { keyMetadata: { arn: replicaArn, multiRegion: true } },
    });
  });

  it("records KMS's own expiry deletion as DeleteExpiredKeyMaterial (AWS Service Event via CloudTrail)", async () => {
    const kms = kmsAs("AKIDEXPIRY");
    const { keyId, arn } = await externalKey(kms);
    const now = (await emulator.admin.now()).getTime();
    const imported = await importKeyMaterial(kms, keyId, randomBytes(32), {
      validTo: new Date(now + 60 * MINUTE),
    });
    await emulator.admin.advanceClock(61 * MINUTE);
    // Recorded at expiry, shown five minutes later.
    expect((await byResource(arn))[0]?.EventName).toBe("ImportKeyMaterial");
    await emulator.admin.advanceClock(5 * MINUTE);
    const [expired] = await byResource(arn);
    expect(expired).toMatchObject({ EventName: "DeleteExpiredKeyMaterial", ReadOnly: "false" });
    expect(expired?.Username).toBeUndefined();
    expect(detail(expired ?? {})).toMatchObject({
      eventType: "AwsServiceEvent",
      userIdentity: { accountId: ACCOUNT, invokedBy: "AWS Internal" },
      serviceEventDetails: { keyId, keyMaterialId: imported.KeyMaterialId },
    });
    const onBus = await eventually(
      () => busEvents(arn).filter((e) => e["detail-type"] === "AWS Service Event via CloudTrail"),
      (list) => list.length === 1,
    );
    expect(onBus[0]?.detail).toMatchObject({ eventName: "DeleteExpiredKeyMaterial" });
  });

  it("posts each record to the bus of its own Region", async () => {
    const replicaRegion = kmsAs("AKIDREGION", "us-east-1");
    const { arn } = await externalKey(replicaRegion);
    await emulator.admin.advanceClock(5 * MINUTE);
    const delivered = await eventually(
      () => busEvents(arn),
      (list) => list.length === 1,
    );
    expect(delivered[0]?.region).toBe("us-east-1");
    expect(await byResource(arn, "eu-west-1")).toEqual([]);
    expect((await byResource(arn, "us-east-1")).map((e) => e.EventName)).toEqual(["CreateKey"]);
  });
});

describe("delay and drops, set through the admin interface", () => {
  it("delivers a record delayed 10 minutes when the clock moves 10 minutes, not before", async () => {
    await emulator.admin.setCloudTrail({ delayMs: 10 * MINUTE });
    const { arn } = await externalKey(kmsAs("AKIDDELAY"));
    await emulator.admin.advanceClock(9 * MINUTE);
    expect(await byResource(arn)).toEqual([]);
    expect(busEvents(arn)).toEqual([]);
    await emulator.admin.advanceClock(MINUTE);
    expect((await byResource(arn)).map((e) => e.EventName)).toEqual(["CreateKey"]);
    expect(
      await eventually(
        () => busEvents(arn),
        (l) => l.length === 1,
      ),
    ).toHaveLength(1);
  });

  it("drop: true loses the EventBridge delivery only; lookupDrop: true keeps the record out of LookupEvents", async () => {
    expect(await emulator.admin.setCloudTrail({ drop: true })).toMatchObject({
      dropRate: 1,
      lookupDropRate: 0,
    });
    const { arn: droppedOnBus } = await externalKey(kmsAs("AKIDDROP"));
    await emulator.admin.setCloudTrail({ drop: false, lookupDrop: true });
    const { arn: notLookedUp } = await externalKey(kmsAs("AKIDDROP"));
    await emulator.admin.setCloudTrail({ drop: true, lookupDrop: true });
    const { arn: lostEverywhere } = await externalKey(kmsAs("AKIDDROP"));
    await emulator.admin.advanceClock(10 * MINUTE);

    expect((await byResource(droppedOnBus)).map((e) => e.EventName)).toEqual(["CreateKey"]);
    expect(await byResource(notLookedUp)).toEqual([]);
    expect(await byResource(lostEverywhere)).toEqual([]);
    await eventually(
      () => busEvents(notLookedUp),
      (l) => l.length === 1,
    );
    expect(busEvents(notLookedUp)).toHaveLength(1);
    expect(busEvents(droppedOnBus)).toEqual([]);
    expect(busEvents(lostEverywhere)).toEqual([]);
    const records = (await emulator.admin.cloudTrail()).records.filter((r) =>
      JSON.stringify(r.detail).includes(lostEverywhere),
    );
    expect(records).toMatchObject([
      { eventName: "CreateKey", dropped: true, delivered: false, inHistory: false },
    ]);
  });

  it("refuses settings that are not numbers in range, naming the field", async () => {
    await expect(emulator.admin.setCloudTrail({ dropRate: 2 })).rejects.toThrow(/dropRate/);
    await expect(emulator.admin.setCloudTrail({ delayMs: -1 })).rejects.toThrow(/delayMs/);
    await expect(emulator.admin.setCloudTrail({ delay: 1 } as never)).rejects.toThrow(
      /unknown setting delay/,
    );
    await expect(
      emulator.admin.registerIdentity({ accessKeyId: "X", arn: "arn:aws:iam::1:root" }),
    ).rejects.toThrow(/arn/);
  });
});

describe("LookupEvents", () => {
  it("pages newest first with MaxResults and NextToken, filtered by each attribute and by time", async () => {
    await emulator.admin.setCloudTrail({ delayMs: 0 });
    const kms = kmsAs("AKIDPAGES");
    const keys: string[] = [];
    for (let i = 0; i < 5; i++) {
      keys.push((await externalKey(kms)).arn);
      await emulator.admin.advanceClock(1000);
    }
    const ct = cloudTrail();
    const input = {
      LookupAttributes: [{ AttributeKey: "AccessKeyId" as const, AttributeValue: "AKIDPAGES" }],
      MaxResults: 2,
    };
    const first = await ct.send(new LookupEventsCommand(input));
    expect(first.Events?.map((e) => e.Resources?.[0]?.ResourceName)).toEqual([keys[4], keys[3]]);
    expect(first.NextToken).toBeDefined();
    const second = await ct.send(new LookupEventsCommand({ ...input, NextToken: first.NextToken }));
    expect(second.Events?.map((e) => e.Resources?.[0]?.ResourceName)).toEqual([keys[2], keys[1]]);
    const third = await ct.send(
      new LookupEventsCommand({ ...input, MaxResults: 50, NextToken: second.NextToken }),
    );
    expect(third.Events?.map((e) => e.Resources?.[0]?.ResourceName)).toEqual([keys[0]]);
    expect(third.NextToken).toBeUndefined();

    const times = first.Events?.map((e) => e.EventTime?.getTime() ?? 0) ?? [];
    const window = await lookup({
      ...input,
      MaxResults: undefined,
      StartTime: new Date(times[1] ?? 0),
      EndTime: new Date(times[1] ?? 0),
    });
    expect(window.map((e) => e.Resources?.[0]?.ResourceName)).toEqual([keys[3]]);

    const eventId = first.Events?.[0]?.EventId ?? "";
    for (const [key, value, expected] of [
      ["EventId", eventId, 1],
      ["EventName", "CreateKey", 5],
      ["Username", "AKIDPAGES", 5],
      ["EventSource", "kms.amazonaws.com", 5],
      ["ResourceType", "AWS::KMS::Key", 5],
      ["ReadOnly", "false", 5],
    ] as const) {
      const found = (
        await lookup({ LookupAttributes: [{ AttributeKey: key, AttributeValue: value }] })
      ).filter((e) => keys.includes(e.Resources?.[0]?.ResourceName ?? ""));
      expect(found, `${key}=${value}`).toHaveLength(expected);
    }
    expect(
      await lookup({
        LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "CreateKey" }],
        EventCategory: "insight",
      }),
    ).toEqual([]);
  });

  it("refuses what AWS refuses", async () => {
    const ct = cloudTrail();
    const attribute = { AttributeKey: "EventName" as const, AttributeValue: "CreateKey" };
    const cases: Array<[LookupEventsCommandInput, string]> = [
      [{ LookupAttributes: [attribute, attribute] }, "InvalidLookupAttributesException"],
      [
        { LookupAttributes: [{ AttributeKey: "Nope" as never, AttributeValue: "x" }] },
        "InvalidLookupAttributesException",
      ],
      [
        { LookupAttributes: [{ AttributeKey: "ReadOnly", AttributeValue: "maybe" }] },
        "InvalidLookupAttributesException",
      ],
      [{ MaxResults: 51 }, "InvalidMaxResultsException"],
      [{ MaxResults: 0 }, "InvalidMaxResultsException"],
      [{ StartTime: new Date(2_000_000), EndTime: new Date(1_000_000) }, "InvalidTimeRangeException"],
      [{ EventCategory: "management" as never }, "InvalidEventCategoryException"],
      [{ NextToken: "not-a-token" }, "InvalidNextTokenException"],
    ];
    for (const [input, name] of cases) {
      expect((await rejection(ct.send(new LookupEventsCommand(input)))).name, JSON.stringify(input)).toBe(
        name,
      );
    }
    // A token is bound to the parameters it was issued for.
    await emulator.admin.setCloudTrail({ delayMs: 0 });
    for (let i = 0; i < 2; i++) await externalKey(kmsAs("AKIDTOKEN"));
    const page = await ct.send(new LookupEventsCommand({ LookupAttributes: [attribute], MaxResults: 1 }));
    const other = {
      LookupAttributes: [{ AttributeKey: "EventName" as const, AttributeValue: "DeleteKey" }],
      NextToken: page.NextToken,
    };
    expect((await rejection(ct.send(new LookupEventsCommand(other)))).name).toBe("InvalidNextTokenException");
  });

  it("throttles beyond 2 requests per second per account and Region when quotas are on", async () => {
    await emulator.admin.setQuotas({ windowMs: 60_000 });
    try {
      const ct = cloudTrail("eu-central-1");
      await ct.send(new LookupEventsCommand({}));
      await ct.send(new LookupEventsCommand({}));
      const third = await rejection(ct.send(new LookupEventsCommand({})));
      expect(third.name).toBe("ThrottlingException");
      // Another Region has its own quota.
      await cloudTrail("eu-west-2").send(new LookupEventsCommand({}));
    } finally {
      await emulator.admin.setQuotas(false);
    }
  });

  it("answers the AWS CLI (aws cloudtrail lookup-events --endpoint-url)", async (context) => {
    const version = await run("aws", ["--version"]).catch(() => undefined);
    if (!version) {
      console.log("skipped: the AWS CLI is not installed");
      context.skip();
    }
    await emulator.admin.setCloudTrail({ delayMs: 0 });
    const { arn } = await externalKey(kmsAs("AKIDCLI"));
    const { stdout } = await run(
      "aws",
      [
        "cloudtrail",
        "lookup-events",
        "--endpoint-url",
        emulator.url,
        "--lookup-attributes",
        `AttributeKey=ResourceName,AttributeValue=${arn}`,
        "--output",
        "json",
      ],
      { env: cliEnv("AKIDCLI") },
    );
    const answer = JSON.parse(stdout) as { Events: Array<{ EventName: string; CloudTrailEvent: string }> };
    expect(answer.Events.map((e) => e.EventName)).toEqual(["CreateKey"]);
    expect(JSON.parse(answer.Events[0]?.CloudTrailEvent ?? "{}")).toMatchObject({
      userIdentity: { userName: "AKIDCLI" },
    });
  });
});

describe("lose-material (a region-wide loss)", () => {
  it("hits every EXTERNAL key in the Region, whoever created it, and leaves no CloudTrail record", async () => {
    await emulator.admin.setCloudTrail({ delayMs: 0 });
    const region = "sa-east-1";
    const tether = kmsAs("local", region);
    const officer = kmsAs(OFFICER.accessKeyId, region);
    const stranger = kmsAs("AKIDSOMEONEELSE", region);
    const keys = [];
    for (const client of [tether, officer, stranger]) {
      const key = await externalKey(client);
      await importKeyMaterial(client, key.keyId, randomBytes(32));
      keys.push(key);
    }
    const awsOwned = (await stranger.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId ?? "";
    const elsewhere = await externalKey(kmsAs("AKIDSOMEONEELSE", "us-west-1"));
    await importKeyMaterial(kmsAs("AKIDSOMEONEELSE", "us-west-1"), elsewhere.keyId, randomBytes(32));
    const recordsBefore = (await emulator.admin.cloudTrail()).records.length;

    const lost = await emulator.admin.loseRegion(region);
    expect(lost.sort()).toEqual(keys.map((k) => k.keyId).sort());
    expect(lost).not.toContain(awsOwned);
    expect(lost).not.toContain(elsewhere.keyId);
    for (const { keyId } of keys) {
      const state = (await tether.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState;
      expect(state).toBe("PendingImport");
    }
    // KMS records nothing for a loss it suffered: no event history, no event, however long one waits.
    await emulator.admin.advanceClock(60 * MINUTE);
    expect((await emulator.admin.cloudTrail()).records).toHaveLength(recordsBefore);
    for (const { arn } of keys) {
      expect((await byResource(arn, region)).map((e) => e.EventName)).toEqual([
        "ImportKeyMaterial",
        "GetParametersForImport",
        "CreateKey",
      ]);
    }
  });
});
