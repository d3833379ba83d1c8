import type { KmsSignal } from "../lifecycle/ports.js";

/** The signal type is a port (lib/lifecycle/ports.ts): the use case owns it, this adapter produces it. */
export type { KmsSignal };

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
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

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
  const { region, account, resources, detail, detailType, time } = readEnvelope(event);
  const arnFor = (keyRef: string | undefined): string => {
    const candidates = [...resources, keyRef ?? ""];
    const found = candidates.find((value) => KEY_ARN.test(value));
    if (found !== undefined) return found;
    if (keyRef !== undefined && KEY_ID.test(keyRef)) return `arn:aws:kms:${region}:${account}:key/${keyRef}`;
    throw new UnusableKmsEventError(`${detailType}: no key ARN or key id in the event`);
  };

  switch (detailType) {
    case "KMS Imported Key Material Expiration":
      return {
        kind: "material-expired",
        keyArn: arnFor(readKmsKeyId(detail, detailType)),
        region,
        ...withTime(time),
      };
    case "KMS CMK Deletion":
    case "KMS CMK Rotation": {
      const keyId = readKmsKeyId(detail, detailType);
      return { kind: "key-changed", keyArn: arnFor(keyId), region, what: detailType };
    }
    case "AWS API Call via CloudTrail":
    case "AWS Service Event via CloudTrail": {
      const trail = readCloudTrailDetail(detail, detailType);
      const { eventName, errorCode, userIdentity, requestParameters, serviceEventDetails } = trail;
      if (errorCode !== undefined) return null; // a refused call changed nothing
      const trailArn = trail.resources?.find((r) => r.ARN !== undefined && KEY_ARN.test(r.ARN))?.ARN;
      const keyRef = trailArn ?? requestParameters?.keyId ?? serviceEventDetails?.keyId;
      const actorArn = userIdentity?.arn ?? userIdentity?.invokedBy ?? "unknown";
      switch (eventName) {
        case "DeleteExpiredKeyMaterial":
          return { kind: "material-expired", keyArn: arnFor(keyRef), region, ...withTime(trail.eventTime) };
        case "DeleteImportedKeyMaterial": {
          const at = trail.eventTime === undefined ? undefined : new Date(trail.eventTime);
          return {
            kind: "material-deleted",
            keyArn: arnFor(keyRef),
            region,
            actorArn,
            ...(at !== undefined && !Number.isNaN(at.getTime()) ? { at } : {}),
            ...(trail.sourceIPAddress === undefined ? {} : { sourceIp: trail.sourceIPAddress }),
          };
        }
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

/**
 * The EventBridge envelope. Checked by hand rather than with a schema library: this runs on every KMS event
 * and the function's cold start should not pay for building schemas (bench/README.md, cold start).
 * @throws UnusableKmsEventError naming what is wrong
 */
/** `{ at }` for a valid timestamp, nothing otherwise (a missing or odd time never drops an event). */
function withTime(value: unknown): { at?: Date } {
  if (typeof value !== "string") return {};
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? {} : { at };
}

function readEnvelope(event: unknown): {
  region: string;
  account: string;
  resources: readonly string[];
  detail: Record<string, unknown>;
  detailType: string;
  time: unknown;
} {
  if (!isObject(event)) throw new UnusableKmsEventError("not a KMS event: (event): expected an object");
  const problems = new Problems();
  problems.check(event.source === "aws.kms", "source", 'expected "aws.kms"');
  const detailType = problems.string(event["detail-type"], "detail-type");
  const account = problems.string(event.account, "account", ACCOUNT);
  const region = problems.string(event.region, "region", REGION);
  const resources = event.resources === undefined ? [] : event.resources;
  problems.check(
    Array.isArray(resources) && isStringArray(resources),
    "resources",
    "expected an array of strings",
  );
  const detail = event.detail;
  problems.check(isPlainObject(detail), "detail", "expected an object");
  problems.throwIfAny("not a KMS event");
  return {
    region: region as string,
    account: account as string,
    resources: resources as string[],
    detail: detail as Record<string, unknown>,
    detailType: detailType as string,
    time: event.time,
  };
}

/**
 * `detail["key-id"]` of KMS's own events.
 * @throws UnusableKmsEventError when it is not a key id
 */
function readKmsKeyId(detail: Record<string, unknown>, detailType: string): string {
  const problems = new Problems();
  const keyId = problems.string(detail["key-id"], "key-id", KEY_ID);
  problems.throwIfAny(detailType);
  return keyId as string;
}

interface CloudTrailDetail {
  readonly eventName: string;
  readonly errorCode: string | undefined;
  readonly userIdentity: { readonly arn?: string; readonly invokedBy?: string } | undefined;
  readonly requestParameters: { readonly keyId?: string } | null | undefined;
  readonly resources: ReadonlyArray<{ readonly ARN?: string }> | undefined;
  readonly serviceEventDetails: { readonly keyId?: string } | undefined;
  readonly eventTime: string | undefined;
  readonly sourceIPAddress: string | undefined;
}

/**
 * The CloudTrail record in `detail` (API calls and service events): only the fields Tether reads, each
 * checked for its type; anything else in the record is ignored.
 * @throws UnusableKmsEventError naming what is wrong
 */
function readCloudTrailDetail(detail: Record<string, unknown>, detailType: string): CloudTrailDetail {
  const problems = new Problems();
  problems.check(detail.eventSource === "kms.amazonaws.com", "eventSource", 'expected "kms.amazonaws.com"');
  const eventName = problems.string(detail.eventName, "eventName");
  const errorCode = problems.optionalString(detail.errorCode, "errorCode");
  const eventTime = problems.optionalString(detail.eventTime, "eventTime");
  const sourceIPAddress = problems.optionalString(detail.sourceIPAddress, "sourceIPAddress");
  const userIdentity = problems.optionalObject(detail.userIdentity, "userIdentity", ["arn", "invokedBy"]);
  const requestParameters =
    detail.requestParameters === null
      ? null
      : problems.optionalObject(detail.requestParameters, "requestParameters", ["keyId"]);
  const serviceEventDetails = problems.optionalObject(detail.serviceEventDetails, "serviceEventDetails", [
    "keyId",
  ]);
  let resources: Array<{ ARN?: string }> | undefined;
  if (Array.isArray(detail.resources)) {
    const list: unknown[] = detail.resources;
    resources = [];
    // An index loop, not map(): map skips the holes of a sparse array, which must be refused too.
    for (let i = 0; i < list.length; i++) resources.push(problems.object(list[i], `resources.${i}`, ["ARN"]));
  } else problems.check(detail.resources === undefined, "resources", "expected an array");
  problems.throwIfAny(detailType);
  return {
    eventName: eventName as string,
    errorCode,
    userIdentity,
    requestParameters,
    resources,
    serviceEventDetails,
    eventTime,
    sourceIPAddress,
  };
}

/** What is wrong with an event, as `path: problem`; the first three make the reason it is dropped for. */
class Problems {
  readonly #found: string[] = [];

  check(ok: boolean, path: string, problem: string): void {
    if (!ok) this.#found.push(`${path}: ${problem}`);
  }

  string(value: unknown, path: string, pattern?: RegExp): string | undefined {
    if (typeof value !== "string") {
      this.check(false, path, "expected a string");
      return undefined;
    }
    this.check(pattern === undefined || pattern.test(value), path, "has the wrong format");
    return value;
  }

  optionalString(value: unknown, path: string): string | undefined {
    return value === undefined ? undefined : this.string(value, path);
  }

  /** An object whose listed fields are strings or absent; its other fields are not looked at. */
  object<K extends string>(value: unknown, path: string, fields: readonly K[]): { [F in K]?: string } {
    const read: { [F in K]?: string } = {};
    if (!isObject(value)) {
      this.check(false, path, "expected an object");
      return read;
    }
    for (const field of fields) {
      const text = this.optionalString(value[field], `${path}.${field}`);
      if (text !== undefined) read[field] = text;
    }
    return read;
  }

  optionalObject<K extends string>(
    value: unknown,
    path: string,
    fields: readonly K[],
  ): { [F in K]?: string } | undefined {
    return value === undefined ? undefined : this.object(value, path, fields);
  }

  /** @throws UnusableKmsEventError with `prefix: ` and the first three problems, if there are any */
  throwIfAny(prefix: string): void {
    if (this.#found.length > 0)
      throw new UnusableKmsEventError(`${prefix}: ${this.#found.slice(0, 3).join("; ")}`);
  }
}

/** Every element a string; an index loop, as every() skips the holes of a sparse array. */
function isStringArray(list: readonly unknown[]): boolean {
  for (let i = 0; i < list.length; i++) if (typeof list[i] !== "string") return false;
  return true;
}

/** What JSON.parse makes of `{...}`: an object that is not an array. */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An object made by `{...}` or JSON.parse, not a class instance (a Date, a Map) passed by mistake. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!isObject(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
