/**
 * CloudTrail records of KMS calls, as KMS writes them.
 *
 * - Which calls: every KMS operation that changes something, plus GetParametersForImport (a
 *   management event with `readOnly: true`), each as an `AwsApiCall`
 *   (https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html, the
 *   per-operation examples under "Examples of AWS KMS log entries"). Read-only calls KMS also logs
 *   (DescribeKey, List*, Encrypt/Decrypt, ...) are not recorded locally: Tether never looks for them.
 * - Failed calls are recorded too, with `errorCode` and `errorMessage` ("The AWS service error if the
 *   request returns an error", https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html);
 *   calls refused before KMS saw them (unsigned, unknown operation) are not.
 * - KMS's own deeds are `AwsServiceEvent`s: `DeleteExpiredKeyMaterial` when imported material expires
 *   (https://docs.aws.amazon.com/kms/latest/developerguide/ct-deleteexpiredkeymaterial.html) and
 *   `DeleteKey` when a key's waiting period ends (https://docs.aws.amazon.com/kms/latest/developerguide/ct-deletekey.html).
 * - Secrets are never recorded: no import token, no wrapped or plaintext material, no public key
 *   (https://docs.aws.amazon.com/kms/latest/developerguide/ct-importkeymaterial.html shows the
 *   ImportKeyMaterial record without token or material; ct-getparametersforimport.html has
 *   `responseElements: null`).
 */
import { randomUUID } from "node:crypto";
import { type CallerIdentity, lookupUsername, userIdentity } from "./identities.js";

export const API_CALL = "AWS API Call via CloudTrail";
export const SERVICE_EVENT = "AWS Service Event via CloudTrail";
export const KMS_EVENT_SOURCE = "kms.amazonaws.com";
export const KMS_KEY_TYPE = "AWS::KMS::Key";
export const KMS_ALIAS_TYPE = "AWS::KMS::Alias";
const EVENT_VERSION = "1.11";

/** The operations recorded, and whether each is read-only. */
export const RECORDED_OPERATIONS: Readonly<Record<string, boolean>> = {
  CancelKeyDeletion: false,
  CreateAlias: false,
  CreateKey: false,
  DeleteAlias: false,
  DeleteImportedKeyMaterial: false,
  DisableKey: false,
  EnableKey: false,
  GetParametersForImport: true,
  ImportKeyMaterial: false,
  PutKeyPolicy: false,
  ReplicateKey: false,
  RotateKeyOnDemand: false,
  ScheduleKeyDeletion: false,
  TagResource: false,
  UntagResource: false,
  UpdateAlias: false,
  UpdateKeyDescription: false,
};

/** Request and response members that are never written to a record. */
const SECRET_MEMBERS = new Set([
  "ImportToken",
  "EncryptedKeyMaterial",
  "PublicKey",
  "Plaintext",
  "CiphertextBlob",
  "Message",
  "Mac",
  "Signature",
]);

/** Members that carry a timestamp (epoch seconds on the wire); CloudTrail prints them as dates. */
const DATE_MEMBERS = /(Date|^ValidTo)$/;

export interface TrailResource {
  readonly type: string;
  readonly arn: string;
}

/** One record, with what LookupEvents needs besides the JSON document. */
export interface TrailRecord {
  readonly detailType: typeof API_CALL | typeof SERVICE_EVENT;
  readonly eventId: string;
  readonly eventName: string;
  readonly eventTime: number;
  readonly region: string;
  readonly account: string;
  readonly readOnly: boolean;
  readonly resources: readonly TrailResource[];
  readonly accessKeyId?: string;
  readonly username?: string;
  readonly eventSource: string;
  /**
   * The CloudTrail event itself as JSON: `detail` on EventBridge, `CloudTrailEvent` in LookupEvents. Kept as
   * text, which costs a fraction of the object's memory.
   */
  readonly detailJson: string;
}

/** `2026-11-28T12:15:00Z`: CloudTrail's eventTime, to the second. */
export function trailTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19)}Z`;
}

/** `May 21, 2025, 5:47:45 AM`, as KMS's records print request dates (ct-importkeymaterial.html). */
function printedDate(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toLocaleString("en-US", {
    timeZone: "UTC",
    dateStyle: "medium",
    timeStyle: "medium",
  });
}

function camel(name: string): string {
  // "KeyId" → "keyId", "AWSAccountId" → "aWSAccountId" as CloudTrail spells KMS members.
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** A request or response body as CloudTrail records it: camelCase members, dates printed, secrets out. */
export function recordedMembers(value: unknown, member = ""): unknown {
  if (Array.isArray(value)) return value.map((item) => recordedMembers(item));
  if (typeof value === "number" && DATE_MEMBERS.test(member)) return printedDate(value);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [name, inner] of Object.entries(value as Record<string, unknown>)) {
    if (SECRET_MEMBERS.has(name)) continue;
    out[camel(name)] = recordedMembers(inner, name);
  }
  return out;
}

export interface ApiCall {
  readonly operation: string;
  readonly region: string;
  readonly account: string;
  readonly at: number;
  readonly caller: CallerIdentity;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly requestId: string;
  readonly request: Record<string, unknown>;
  /** The answer on success. */
  readonly response?: Record<string, unknown>;
  /** The error on failure. */
  readonly error?: { readonly code: string; readonly message: string };
  readonly resources: readonly TrailResource[];
}

/** The record of one KMS API call (successful or not). */
export function apiCallRecord(call: ApiCall): TrailRecord {
  const readOnly = RECORDED_OPERATIONS[call.operation] ?? false;
  const eventId = randomUUID();
  const keyArn = call.resources.find((r) => r.type === KMS_KEY_TYPE)?.arn;
  let responseElements: unknown = null;
  if (call.response && call.operation !== "GetParametersForImport") {
    const members = recordedMembers(call.response) as Record<string, unknown>;
    // KMS records the key ARN in responseElements.keyId "even though this operation does not return" it
    // (ct-importkeymaterial.html, ct-deleteimportedkeymaterial.html).
    if (keyArn && (call.operation === "ImportKeyMaterial" || "keyId" in members)) members.keyId = keyArn;
    responseElements = Object.keys(members).length > 0 ? members : null;
  }
  const detail: Record<string, unknown> = {
    eventVersion: EVENT_VERSION,
    userIdentity: userIdentity(call.caller),
    eventTime: trailTime(call.at),
    eventSource: KMS_EVENT_SOURCE,
    eventName: call.operation,
    awsRegion: call.region,
    sourceIPAddress: call.sourceIp,
    userAgent: call.userAgent,
    ...(call.error ? { errorCode: call.error.code, errorMessage: call.error.message } : {}),
    requestParameters: recordedMembers(call.request),
    responseElements,
    requestID: call.requestId,
    eventID: eventId,
    readOnly,
    resources: call.resources.map((r) => ({ accountId: call.account, type: r.type, ARN: r.arn })),
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: call.account,
    eventCategory: "Management",
  };
  return {
    detailType: API_CALL,
    eventId,
    eventName: call.operation,
    eventTime: call.at,
    region: call.region,
    account: call.account,
    readOnly,
    resources: call.resources,
    accessKeyId: call.caller.accessKeyId,
    username: lookupUsername(call.caller),
    eventSource: KMS_EVENT_SOURCE,
    detailJson: JSON.stringify(detail),
  };
}

/** A record of something KMS did on its own (`DeleteExpiredKeyMaterial`, `DeleteKey`). */
export function serviceEventRecord(args: {
  eventName: "DeleteExpiredKeyMaterial" | "DeleteKey";
  region: string;
  account: string;
  at: number;
  keyArn: string;
  keyId: string;
  keyMaterialId?: string;
}): TrailRecord {
  const eventId = randomUUID();
  const detail: Record<string, unknown> = {
    eventVersion: EVENT_VERSION,
    userIdentity: { accountId: args.account, invokedBy: "AWS Internal" },
    eventTime: trailTime(args.at),
    eventSource: KMS_EVENT_SOURCE,
    eventName: args.eventName,
    awsRegion: args.region,
    sourceIPAddress: "AWS Internal",
    userAgent: "AWS Internal",
    requestParameters: null,
    responseElements: null,
    eventID: eventId,
    readOnly: false,
    resources: [{ accountId: args.account, type: KMS_KEY_TYPE, ARN: args.keyArn }],
    eventType: "AwsServiceEvent",
    managementEvent: true,
    recipientAccountId: args.account,
    serviceEventDetails: {
      keyId: args.keyId,
      ...(args.keyMaterialId === undefined ? {} : { keyMaterialId: args.keyMaterialId }),
    },
    eventCategory: "Management",
  };
  return {
    detailType: SERVICE_EVENT,
    eventId,
    eventName: args.eventName,
    eventTime: args.at,
    region: args.region,
    account: args.account,
    readOnly: false,
    resources: [{ type: KMS_KEY_TYPE, arn: args.keyArn }],
    eventSource: KMS_EVENT_SOURCE,
    detailJson: JSON.stringify(detail),
  };
}
