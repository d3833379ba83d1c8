import { z } from "zod";

/**
 * What a KMS event means for Tether, parsed from the EventBridge envelope. Everything else in the event
 * is ignored; nothing here is trusted before it passed the schema.
 */
export type KmsSignal =
  /** KMS deleted expired material (its own event, or CloudTrail's DeleteExpiredKeyMaterial). */
  | { readonly kind: "material-expired"; readonly keyArn: string; readonly region: string }
  /** Someone called DeleteImportedKeyMaterial; `actorArn` says who (Tether or not). */
  | {
      readonly kind: "material-deleted";
      readonly keyArn: string;
      readonly region: string;
      readonly actorArn: string;
    }
  /** Someone called ImportKeyMaterial. */
  | {
      readonly kind: "material-imported";
      readonly keyArn: string;
      readonly region: string;
      readonly actorArn: string;
    }
  /** The key was deleted, disabled, scheduled for deletion or rotated: look at it now. */
  | { readonly kind: "key-changed"; readonly keyArn: string; readonly region: string; readonly what: string };

/** Why an event was dropped, for the log line. */
export class UnusableKmsEventError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "UnusableKmsEventError";
  }
}

const ACCOUNT = /^\d{12}$/;
const KEY_ID = /^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(?:mrk-[0-9a-f]{32}|[0-9a-f-]{36})$/;

const envelope = z.object({
  source: z.literal("aws.kms"),
  "detail-type": z.string(),
  account: z.string().regex(ACCOUNT),
  region: z.string().regex(/^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/),
  resources: z.array(z.string()).default([]),
  detail: z.record(z.string(), z.unknown()),
});

const kmsOwnDetail = z.object({ "key-id": z.string().regex(KEY_ID) });

const cloudTrailDetail = z.object({
  eventSource: z.literal("kms.amazonaws.com"),
  eventName: z.string(),
  userIdentity: z
    .object({ arn: z.string().optional(), invokedBy: z.string().optional() })
    .passthrough()
    .optional(),
  requestParameters: z.object({ keyId: z.string().optional() }).passthrough().nullable().optional(),
  resources: z.array(z.object({ ARN: z.string().optional() }).passthrough()).optional(),
  serviceEventDetails: z.object({ keyId: z.string().optional() }).passthrough().optional(),
  errorCode: z.string().optional(),
});

/** CloudTrail events that change a key's state and deserve a look now. */
const KEY_CHANGING_CALLS = new Set([
  "DisableKey",
  "EnableKey",
  "ScheduleKeyDeletion",
  "CancelKeyDeletion",
  "RotateKeyOnDemand",
  "DeleteKey",
]);

/**
 * Parses an EventBridge event from KMS into a signal, or null for events Tether does not act on (other
 * CloudTrail calls, failed calls).
 * @throws UnusableKmsEventError when the event is malformed (dropped with the reason, never retried)
 */
export function parseKmsEvent(event: unknown): KmsSignal | null {
  const parsed = envelope.safeParse(event);
  if (!parsed.success) throw new UnusableKmsEventError(`not a KMS event: ${describe(parsed.error)}`);
  const { region, account, resources, detail } = parsed.data;
  const detailType = parsed.data["detail-type"];
  const arnFor = (keyRef: string | undefined): string => {
    const candidates = [...resources, keyRef ?? ""];
    const found = candidates.find((value) => KEY_ARN.test(value));
    if (found !== undefined) return found;
    if (keyRef !== undefined && KEY_ID.test(keyRef)) return `arn:aws:kms:${region}:${account}:key/${keyRef}`;
    throw new UnusableKmsEventError(`${detailType}: no key ARN or key id in the event`);
  };

  switch (detailType) {
    case "KMS Imported Key Material Expiration": {
      const own = kmsOwnDetail.safeParse(detail);
      if (!own.success) throw new UnusableKmsEventError(`${detailType}: ${describe(own.error)}`);
      return { kind: "material-expired", keyArn: arnFor(own.data["key-id"]), region };
    }
    case "KMS CMK Deletion":
    case "KMS CMK Rotation": {
      const own = kmsOwnDetail.safeParse(detail);
      if (!own.success) throw new UnusableKmsEventError(`${detailType}: ${describe(own.error)}`);
      return { kind: "key-changed", keyArn: arnFor(own.data["key-id"]), region, what: detailType };
    }
    case "AWS API Call via CloudTrail":
    case "AWS Service Event via CloudTrail": {
      const trail = cloudTrailDetail.safeParse(detail);
      if (!trail.success) throw new UnusableKmsEventError(`${detailType}: ${describe(trail.error)}`);
      const { eventName, errorCode, userIdentity, requestParameters, serviceEventDetails } = trail.data;
      if (errorCode !== undefined) return null; // a refused call changed nothing
      const trailArn = trail.data.resources?.find((r) => r.ARN !== undefined && KEY_ARN.test(r.ARN))?.ARN;
      const keyRef = trailArn ?? requestParameters?.keyId ?? serviceEventDetails?.keyId;
      const actorArn = userIdentity?.arn ?? userIdentity?.invokedBy ?? "unknown";
      switch (eventName) {
        case "DeleteExpiredKeyMaterial":
          return { kind: "material-expired", keyArn: arnFor(keyRef), region };
        case "DeleteImportedKeyMaterial":
          return { kind: "material-deleted", keyArn: arnFor(keyRef), region, actorArn };
        case "ImportKeyMaterial":
          return { kind: "material-imported", keyArn: arnFor(keyRef), region, actorArn };
        default:
          return KEY_CHANGING_CALLS.has(eventName)
            ? { kind: "key-changed", keyArn: arnFor(keyRef), region, what: eventName }
            : null;
      }
    }
    default:
      return null;
  }
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join(".") || "(event)"}: ${issue.message}`)
    .join("; ");
}
