/**
 * The canary: imports KNOWN material through every lifecycle path against the local AWS, captures everything
 * Tether wrote or returned, and searches it for the material (raw bytes, hex, base64) and for every import
 * token and wrapped blob that crossed the wire to KMS. Used by test/canary/*.test.ts, one file per vault.
 *
 * Tether is composed as functions/singletons.ts and functions/api.ts compose it (createLifecycleDeps with a log
 * that forwards to a Powertools Logger, createApi wrapped in middy with injectLambdaContext), with two test
 * seams: the vault under test, and a recording HTTP proxy in front of the KMS emulator that reads ImportToken
 * and EncryptedKeyMaterial off the wire (so the harness sees exactly what Tether sent, not what it says it
 * sent). The Logger writes to stdout as in Lambda; stdout and stderr are captured while the paths run.
 */
import { randomUUID } from "node:crypto";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { type AttributeValue, ScanCommand } from "@aws-sdk/client-dynamodb";
import middy from "@middy/core";
import type {
  APIGatewayProxyEventV2WithIAMAuthorizer,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import { expect } from "vitest";
import { createApi } from "../../lib/api/app.js";
import { createLifecycleDeps } from "../../lib/composition-root.js";
import { loadConfig } from "../../lib/config.js";
import { HOUR_MS, MINUTE_MS } from "../../lib/domain/duration.js";
import { parseKmsEvent } from "../../lib/kms/kms-events.js";
import type { LifecycleDeps, Vault } from "../../lib/lifecycle/ports.js";
import { handleKmsSignal } from "../../lib/lifecycle/region/kms-signal.js";
import { sweep } from "../../lib/lifecycle/scheduled/sweep.js";
import { registerKey } from "../../lib/lifecycle/use-cases/register.js";
import { computeCheckValue } from "../../lib/vault/check-value.js";
import { httpApiEvent } from "./deployed-function.js";
import {
  AUDIT_BUS,
  AUDIT_RECORDER,
  CREDENTIALS,
  KMS_RECORDER,
  type LifecycleTestbed,
} from "./lifecycle-testbed.js";

const ADMIN = "arn:aws:sts::111122223333:assumed-role/TetherOps/canary";
const REGION = "eu-west-1";
const REPLICA_REGION = "us-east-1";

/** Material the test generated and put into the vault under `ref`. */
export interface KnownMaterial {
  readonly ref: string;
  readonly material: Buffer;
}

export interface CanaryOptions {
  /** Shown in the report ("file", "secrets-manager", ...). */
  readonly name: string;
  /** The local AWS (the testbed's own file vault is not used unless it is `vault`). */
  readonly bed: LifecycleTestbed;
  readonly vault: Vault;
  readonly known: KnownMaterial;
  /** Other secrets that must not appear either (a Vault token), searched as they are. */
  readonly otherSecrets?: ReadonlyArray<{ readonly label: string; readonly value: string }>;
}

/** One place a needle was found: which capture, which needle. Never the text itself (it would leak). */
export interface CanaryHit {
  readonly source: string;
  readonly needle: string;
}

export interface CanaryCounts {
  readonly logLines: number;
  readonly stdioLines: number;
  /** Logger lines at WARN or ERROR naming the injected KMS error: the error path was logged, and searched. */
  readonly errorPathLines: number;
  readonly returnValues: number;
  readonly errors: number;
  readonly auditEvents: number;
  readonly dynamoItems: number;
  readonly httpResponses: number;
  readonly importTokens: number;
  readonly wrappedBlobs: number;
  /** Wrapping public keys off the wire (GetParametersForImport answers). */
  readonly publicKeys: number;
  /** Warm import parameter sets found in Region items (left out of the search, checked to be real). */
  readonly storedParameterSets: number;
  readonly needles: number;
  readonly bytesSearched: number;
}

export interface CanaryReport {
  readonly vault: string;
  /** What each path ended with, e.g. `{ register: "201 imported", renew: "renewed", ... }`. */
  readonly paths: Readonly<Record<string, string>>;
  readonly counts: CanaryCounts;
  readonly hits: readonly CanaryHit[];
  /** Encodings of the material the search was shown to catch when they were planted (positive controls). */
  readonly controls: { readonly planted: number; readonly detected: number };
  summary(): string;
}

interface Capture {
  readonly source: string;
  readonly kind: keyof Omit<
    CanaryCounts,
    "importTokens" | "wrappedBlobs" | "publicKeys" | "storedParameterSets" | "needles" | "bytesSearched"
  >;
  readonly text: string;
}

interface Needle {
  readonly label: string;
  readonly text: string;
}

/**
 * Runs every path with the known material, then searches all captures.
 * @throws Error when a path does not end as it must (the canary would otherwise prove nothing)
 */
export async function runCanary(options: CanaryOptions): Promise<CanaryReport> {
  const { bed, vault, known, name } = options;
  const expectedCheckValue = computeCheckValue("SYMMETRIC_DEFAULT", known.material);
  const actualCheckValue = await vault.checkValue(known.ref);
  if (actualCheckValue !== expectedCheckValue) {
    throw new Error(`the ${name} vault does not hold the known material under ${known.ref}`);
  }

  const captures: Capture[] = [];
  const capture = (kind: Capture["kind"], source: string, value: unknown) =>
    captures.push({ kind, source, text: typeof value === "string" ? value : serialize(value) });
  const wire = await startKmsRecorder(bed.aws.endpoints.kms);
  const stdio: string[] = [];
  const previousLogLevel = process.env.POWERTOOLS_LOG_LEVEL;
  process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
  const restoreStdio = captureStdio(stdio);
  const paths: Record<string, string> = {};
  try {
    const logger = new Logger({ serviceName: "tether", logLevel: "DEBUG" });
    const config = loadConfig({
      AWS_REGION: REGION,
      TETHER_TABLE_NAME: bed.config.tableName,
      TETHER_AUDIT_BUS_NAME: bed.config.auditBusName,
      TETHER_KMS_ENDPOINT: wire.url,
      TETHER_DYNAMODB_ENDPOINT: bed.aws.endpoints.dynamodb,
      TETHER_EVENTS_ENDPOINT: bed.aws.endpoints.events,
      TETHER_SELF_PRINCIPALS: "arn:aws:iam::111122223333:role/tether-test-sweep",
      TETHER_ADMIN_PRINCIPALS: ADMIN,
      TETHER_READER_PRINCIPALS: ADMIN,
    });
    let logLine = 0;
    const deps: LifecycleDeps = createLifecycleDeps(config, {
      vault,
      credentials: CREDENTIALS,
      clock: () => bed.now(),
      log: (level, message, fields) => {
        capture("logLines", `deps.log#${++logLine} ${level}`, { level, message, fields });
        logger[level](message, fields ?? {});
      },
    });
    const apiCore = createApi({
      deps: () => deps,
      roles: config,
      maxBodyBytes: config.maxBodyBytes,
      log: logger,
    });
    const handler = middy<APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyResultV2>()
      .use(injectLambdaContext(logger))
      .handler((event, context) => apiCore(event, context));
    const call = async (method: string, path: string, body?: unknown) => {
      const result = (await handler(
        apiEvent(method, path, body),
        lambdaContext(),
      )) as APIGatewayProxyStructuredResultV2;
      const raw = String(result.body ?? "");
      capture("httpResponses", `${method} ${path} → ${result.statusCode}`, {
        headers: result.headers,
        body: raw,
      });
      return { status: result.statusCode ?? 0, body: raw === "" ? undefined : (JSON.parse(raw) as ApiBody) };
    };
    /** Runs one lib call, capturing what it returns or throws. */
    const step = async <T>(label: string, run: () => Promise<T>): Promise<T> => {
      try {
        const value = await run();
        capture("returnValues", `return ${label}`, value);
        return value;
      } catch (error) {
        capture("errors", `thrown ${label}`, error);
        throw error;
      }
    };

    // register (POST /keys), one replica so the import runs in two Regions
    const policy = {
      validityPeriod: "PT1H",
      renewBefore: "PT5M",
      reconcileInterval: "PT1M",
      restoreAfterLoss: true,
      // The loss below has nothing to explain it (no sentinel, no CloudTrail record): look once, then restore.
      attributionGrace: "PT0S",
    };
    const registered = await call("POST", "/keys", {
      mode: "create",
      region: REGION,
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: known.ref,
      checkValue: expectedCheckValue,
      multiRegion: true,
      replicaRegions: [REPLICA_REGION],
      policy,
    });
    const keyId = registered.body?.key?.id;
    const keyArn = registered.body?.key?.keyArn;
    paths.register = `${registered.status} ${registered.body?.regions?.[REGION]?.kind}`;
    if (registered.status !== 201 || keyId === undefined || keyArn === undefined) {
      throw new Error(`register answered ${registered.status} ${registered.body?.error?.code ?? ""}`);
    }
    const keyPath = `/keys/${encodeURIComponent(keyId)}`;
    paths.get = String((await call("GET", keyPath)).status);
    // a refused registration (check value of other material) so the refusal path answers and logs too
    paths.refusedRegister = String(
      (
        await call("POST", "/keys", {
          mode: "create",
          region: REGION,
          keySpec: "SYMMETRIC_DEFAULT",
          materialRef: known.ref,
          checkValue: "kcv-aes:000000",
          policy,
        })
      ).status,
    );

    // renew: into the renew window (ValidTo - 5 min), then a sweep
    await bed.advance(56 * MINUTE_MS);
    const renewed = await step("sweep renew", () =>
      sweep(deps, { correlationId: `canary-renew-${randomUUID()}`, warmParametersPerRun: 10 }),
    );
    paths.renew = `renewed ${renewed.outcomes.renewed ?? 0}`;
    if ((renewed.outcomes.renewed ?? 0) < 1) throw new Error("the renew sweep renewed nothing");

    // restore after expiry: past ValidTo, the emulator's expiry event through parseKmsEvent + handleKmsSignal
    await bed.advance(2 * HOUR_MS);
    const expiry = await expiryEvent(bed, keyArn);
    capture("auditEvents", "kms expiry event", expiry);
    const signal = parseKmsEvent(expiry);
    if (signal === null) throw new Error("parseKmsEvent ignored the expiry event");
    const handled = await step("handleKmsSignal", () =>
      handleKmsSignal(deps, signal, {
        correlationId: `canary-expiry-${randomUUID()}`,
        isTether: config.isTether,
      }),
    );
    paths.restoreAfterExpiry = handled.kind === "handled" ? handled.outcome.kind : handled.kind;
    if (paths.restoreAfterExpiry !== "restored") throw new Error(`expiry: ${serialize(handled)}`);
    // the replica expired too; a sweep restores it
    await step("sweep after expiry", () =>
      sweep(deps, { correlationId: `canary-expiry-sweep-${randomUUID()}` }),
    );

    // restore after a regional loss
    await bed.aws.kms.admin.loseRegion(REGION);
    await bed.advance(2 * MINUTE_MS);
    const lossSweep = await step("sweep loss", () =>
      sweep(deps, { correlationId: `canary-loss-${randomUUID()}`, warmParametersPerRun: 10 }),
    );
    paths.restoreAfterLoss = `restored ${lossSweep.outcomes.restored ?? 0}`;
    if ((lossSweep.outcomes.restored ?? 0) < 1) throw new Error("the loss sweep restored nothing");

    // revoke and restore through the API
    const revoked = await call("POST", `${keyPath}/revoke`, { reason: "canary: kill switch" });
    paths.revoke = `${revoked.status} ${revoked.body?.regions?.[REGION]?.kind}`;
    const restored = await call("POST", `${keyPath}/restore`, { reason: "canary: back again" });
    paths.restore = `${restored.status} ${restored.body?.regions?.[REGION]?.kind}`;
    if (revoked.status !== 200 || restored.body?.regions?.[REGION]?.kind !== "restored") {
      throw new Error(`revoke/restore answered ${paths.revoke} / ${paths.restore}`);
    }

    // a failing import: KMS answers KMSInternalException to every ImportKeyMaterial (SDK retries included)
    await bed.aws.kms.admin.injectFault({
      operation: "ImportKeyMaterial",
      error: "KMSInternalException",
      count: 1000,
    });
    try {
      const failed = await call("POST", `${keyPath}/reimport`, {});
      paths.failingImport = `${failed.status} ${failed.body?.regions?.[REGION]?.kind ?? failed.body?.error?.code}`;
    } finally {
      await bed.aws.kms.admin.clearFaults();
    }
    if (!paths.failingImport.includes("failed") && !paths.failingImport.startsWith("5")) {
      throw new Error(`the injected KMS error did not fail the import: ${paths.failingImport}`);
    }

    // thrown errors from the use case: a check value of other material, and a reference the vault lacks
    for (const [label, materialRef, checkValue] of [
      ["registerKey check value mismatch", known.ref, "kcv-aes:000000"],
      ["registerKey missing material", `${known.ref}-missing`, undefined],
    ] as const) {
      const outcome = await step(label, () =>
        registerKey(deps, {
          mode: "create",
          region: REGION,
          keySpec: "SYMMETRIC_DEFAULT",
          materialRef,
          checkValue,
          policy,
          actor: ADMIN,
          correlationId: `canary-refused-${randomUUID()}`,
        }),
      ).then(
        () => "registered",
        (error: unknown) => (error instanceof Error ? error.name : "thrown"),
      );
      paths[label] = outcome;
      if (outcome === "registered") throw new Error(`${label} was not refused`);
    }

    paths.history = String((await call("GET", `${keyPath}/history`)).status);
    paths.getAfter = String((await call("GET", keyPath)).status);
  } finally {
    restoreStdio();
    if (previousLogLevel === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
    else process.env.POWERTOOLS_LOG_LEVEL = previousLogLevel;
    await wire.close();
  }

  stdio
    .join("")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .forEach((line, i) => {
      captures.push({ kind: "stdioLines", source: `stdout/stderr line ${i + 1}`, text: line });
    });
  await bed.aws.events.drain();
  for (const [i, event] of bed.aws.events.events(AUDIT_BUS).entries())
    capture("auditEvents", `bus event ${i}`, event);
  for (const [i, event] of bed.aws.events.recorded(AUDIT_RECORDER).entries()) {
    capture("auditEvents", `recorded audit event ${i}`, event);
  }
  // Warm import parameters are the one place a token and a public key may be: the `importParameters`
  // attribute of a Region item. Every other attribute of every item is searched; each stored set must be one
  // that crossed the wire (so the search below had it as a needle), and the rest of its item must not hold it.
  const storedSets: Array<{ token: Buffer; publicKey: Buffer }> = [];
  for (const [i, item] of (await scanAll(bed)).entries()) {
    const { importParameters, ...rest } = item;
    const stored = importParameters?.M;
    if (stored !== undefined) {
      if (!String(item.sk?.S).startsWith("REGION#")) {
        throw new Error(`dynamodb item ${i}: import parameters outside a Region item`);
      }
      storedSets.push({
        token: Buffer.from(stored.importToken?.B ?? new Uint8Array()),
        publicKey: Buffer.from(stored.publicKey?.B ?? new Uint8Array()),
      });
    }
    capture("dynamoItems", `dynamodb item ${i}`, rest);
  }
  for (const [i, set] of storedSets.entries()) {
    if (
      !wire.tokens.some((t) => t.equals(set.token)) ||
      !wire.publicKeys.some((k) => k.equals(set.publicKey))
    ) {
      throw new Error(`stored import parameters ${i} are not a set GetParametersForImport answered`);
    }
  }

  const needles = [
    ...materialNeedles(known.material),
    ...wire.tokens.flatMap((t, i) => blobNeedles(`import token ${i}`, t)),
    ...wire.wrapped.flatMap((w, i) => blobNeedles(`wrapped material ${i}`, w)),
    ...wire.publicKeys.flatMap((k, i) => blobNeedles(`wrapping public key ${i}`, k)),
    ...(options.otherSecrets ?? []).map((secret) => ({ label: secret.label, text: secret.value })),
  ];
  const hits = search(captures, needles);
  const materialControls = plantedControls(known.material);
  // The same for a stored set: were its token or public key serialised anywhere else (a view spreading the
  // Region item, a log of the record), the search would find it.
  const setControls = storedSets.flatMap((set) => [
    serialize({ importParameters: { importToken: set.token } }),
    serialize({ publicKey: set.publicKey.toString("base64") }),
  ]);
  const setDetected = setControls.filter(
    (text, i) => search([{ kind: "dynamoItems", source: `set control ${i}`, text }], needles).length > 0,
  ).length;
  const controls = {
    planted: materialControls.planted + setControls.length,
    detected: materialControls.detected + setDetected,
  };
  const count = (kind: Capture["kind"]) => captures.filter((c) => c.kind === kind).length;
  const counts: CanaryCounts = {
    logLines: count("logLines"),
    stdioLines: count("stdioLines"),
    errorPathLines: captures.filter(
      (c) =>
        c.kind === "stdioLines" &&
        /"level":"(WARN|ERROR)"/.test(c.text) &&
        c.text.includes("KMSInternalException"),
    ).length,
    returnValues: count("returnValues"),
    errors: count("errors"),
    auditEvents: count("auditEvents"),
    dynamoItems: count("dynamoItems"),
    httpResponses: count("httpResponses"),
    importTokens: wire.tokens.length,
    wrappedBlobs: wire.wrapped.length,
    publicKeys: wire.publicKeys.length,
    storedParameterSets: storedSets.length,
    needles: needles.length,
    bytesSearched: captures.reduce((sum, c) => sum + Buffer.byteLength(c.text, "utf8"), 0),
  };
  return {
    vault: name,
    paths,
    counts,
    hits,
    controls,
    summary: () =>
      [
        `canary [${name}] paths: ${Object.entries(paths)
          .map(([k, v]) => `${k}=${v}`)
          .join(", ")}`,
        `canary [${name}] searched: ${counts.logLines} deps.log lines, ${counts.stdioLines} Powertools/stdout lines ` +
          `(${counts.errorPathLines} WARN/ERROR lines with the injected KMS error), ` +
          `${counts.returnValues} return values, ${counts.errors} thrown errors, ${counts.auditEvents} events, ` +
          `${counts.dynamoItems} DynamoDB items, ${counts.httpResponses} HTTP responses — ${counts.bytesSearched} bytes`,
        `canary [${name}] for: the material (${materialNeedles(known.material).length} encodings), ` +
          `${counts.importTokens} import tokens, ${counts.publicKeys} wrapping public keys and ${counts.wrappedBlobs} wrapped blobs off the wire ` +
          `(${counts.storedParameterSets} stored parameter sets, allowed only in their Region items) ` +
          `(${counts.needles} needles); planted controls detected ${controls.detected}/${controls.planted}`,
        `canary [${name}] hits: ${hits.length}${hits.length === 0 ? "" : ` — ${hits.map((h) => `${h.needle} in ${h.source}`).join("; ")}`}`,
      ].join("\n"),
  };
}

/**
 * The assertions every canary makes: each path ran as it must, the wire recorder and every capture saw
 * traffic (so zero hits is not zero searched), the planted controls were found, and nothing leaked.
 */
export function expectNoLeak(report: CanaryReport): void {
  expect(report.paths).toMatchObject({
    register: "201 imported",
    get: "200",
    refusedRegister: "409",
    restoreAfterExpiry: "restored",
    revoke: "200 revoked",
    restore: "200 restored",
    failingImport: "200 failed",
    history: "200",
  });
  expect(report.controls.detected).toBe(report.controls.planted);
  // register, renew, expiry, loss and restore: at least nine imports over two Regions, one token per Region
  expect(report.counts.importTokens).toBeGreaterThanOrEqual(2);
  expect(report.counts.wrappedBlobs).toBeGreaterThanOrEqual(9);
  // Warm import parameters: each public key is a needle too, and the Region items hold sets (key and replica).
  expect(report.counts.publicKeys).toBe(report.counts.importTokens);
  expect(report.counts.storedParameterSets).toBeGreaterThanOrEqual(2);
  for (const kind of [
    "logLines",
    "stdioLines",
    "errorPathLines",
    "returnValues",
    "errors",
    "auditEvents",
    "dynamoItems",
  ] as const) {
    expect(report.counts[kind], kind).toBeGreaterThan(0);
  }
  expect(report.counts.httpResponses).toBeGreaterThanOrEqual(8);
  expect(report.hits).toEqual([]);
}

/** The encodings of the material a leak could take. */
export function materialNeedles(material: Buffer): Needle[] {
  const latin1 = material.toString("latin1");
  const hex = material.toString("hex");
  const half = material.length / 2;
  return [
    { label: "material raw bytes (latin1)", text: latin1 },
    { label: "material raw bytes (JSON-escaped)", text: JSON.stringify(latin1).slice(1, -1) },
    { label: "material hex", text: hex },
    { label: "material HEX", text: hex.toUpperCase() },
    { label: "material hex spaced (inspect)", text: hex.replace(/(..)(?!$)/g, "$1 ") },
    { label: "material base64", text: material.toString("base64") },
    { label: "material base64 unpadded", text: material.toString("base64").replace(/=+$/, "") },
    { label: "material base64url", text: material.toString("base64url") },
    { label: "material byte list (Buffer JSON)", text: [...material].join(",") },
    { label: "material first half hex", text: hex.slice(0, half * 2) },
    { label: "material second half hex", text: hex.slice(half * 2) },
  ];
}

function blobNeedles(label: string, blob: Buffer): Needle[] {
  return [
    { label: `${label} base64`, text: blob.toString("base64").replace(/=+$/, "") },
    { label: `${label} base64url`, text: blob.toString("base64url") },
    { label: `${label} hex`, text: blob.toString("hex") },
    { label: `${label} HEX`, text: blob.toString("hex").toUpperCase() },
    {
      label: `${label} raw bytes (JSON-escaped)`,
      text: JSON.stringify(blob.toString("latin1")).slice(1, -1),
    },
  ];
}

function search(captures: readonly Capture[], needles: readonly Needle[]): CanaryHit[] {
  const hits: CanaryHit[] = [];
  for (const capture of captures) {
    for (const needle of needles) {
      if (needle.text.length >= 16 && capture.text.includes(needle.text)) {
        hits.push({ source: capture.source, needle: needle.label });
      }
    }
  }
  return hits;
}

/**
 * Positive controls: the material planted in each form a leak could take (a Buffer or Uint8Array in a log
 * field, util.inspect, a hex or base64 string, raw bytes in a message), serialized the same way as real
 * captures. Every one must be found, or a zero-hit result would mean nothing.
 */
function plantedControls(material: Buffer): { planted: number; detected: number } {
  const planted = [
    serialize({ fields: { material } }),
    serialize({ fields: { material: new Uint8Array(material) } }),
    inspect({ material }),
    serialize({ message: `material ${material.toString("hex")}` }),
    serialize({ message: `material ${material.toString("hex").toUpperCase()}` }),
    serialize({ message: material.toString("base64") }),
    serialize({ message: material.toString("base64url") }),
    serialize({ message: `raw ${material.toString("latin1")}` }),
    `raw ${material.toString("latin1")} in a stdout line`,
    serialize(new Error(`wrapped ${material.toString("base64")}`)),
  ];
  const needles = materialNeedles(material);
  const detected = planted.filter(
    (text, i) => search([{ kind: "logLines", source: `control ${i}`, text }], needles).length > 0,
  ).length;
  return { planted: planted.length, detected };
}

/**
 * JSON with bytes shown as latin1, base64 and hex (JSON.stringify alone would turn a Uint8Array into
 * `{"0":…}`), and errors with name, message, stack, cause and own fields.
 */
export function serialize(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(
    value,
    function replacer(this: Record<string, unknown>, key: string, current: unknown) {
      const original = key === "" ? value : this[key];
      if (original instanceof Uint8Array) {
        const bytes = Buffer.from(original);
        return {
          bytes: bytes.toString("latin1"),
          base64: bytes.toString("base64"),
          hex: bytes.toString("hex"),
        };
      }
      if (original instanceof Error) {
        return {
          ...Object.fromEntries(Object.entries(original)),
          name: original.name,
          message: original.message,
          stack: original.stack,
          cause: original.cause,
          ...(original instanceof AggregateError ? { errors: original.errors } : {}),
        };
      }
      if (typeof current === "bigint") return current.toString();
      if (typeof current === "object" && current !== null) {
        if (seen.has(current)) return "[circular]";
        seen.add(current);
      }
      return current;
    },
  );
}

interface ApiBody {
  key?: { id?: string; keyArn?: string };
  regions?: Record<string, { kind?: string }>;
  error?: { code?: string };
}

function apiEvent(method: string, path: string, body?: unknown): APIGatewayProxyEventV2WithIAMAuthorizer {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return httpApiEvent({
    method,
    rawPath: path,
    caller: ADMIN,
    requestId: randomUUID(),
    headers: text === undefined ? {} : { "content-type": "application/json" },
    ...(text === undefined ? {} : { body: text }),
  });
}

function lambdaContext(): Context {
  return {
    functionName: "tether-api",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:eu-west-1:111122223333:function:tether-api",
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: "/aws/lambda/tether-api",
    logStreamName: "canary",
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 29_000,
  } as unknown as Context;
}

/** The emulator's "KMS Imported Key Material Expiration" event for this key, once the bus delivered it. */
async function expiryEvent(bed: LifecycleTestbed, keyArn: string): Promise<unknown> {
  const keyUuid = keyArn.split("/")[1];
  for (let i = 0; i < 200; i++) {
    await bed.aws.events.drain();
    const found = bed.aws.events
      .recorded(KMS_RECORDER)
      .find(
        (e) =>
          e["detail-type"] === "KMS Imported Key Material Expiration" &&
          (e.detail as { "key-id"?: string })["key-id"] === keyUuid &&
          e.region === REGION,
      );
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no expiry event for ${keyArn}`);
}

async function scanAll(bed: LifecycleTestbed): Promise<Array<Record<string, AttributeValue>>> {
  const items: Array<Record<string, AttributeValue>> = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await bed.dynamodb.send(
      new ScanCommand({ TableName: bed.config.tableName, ExclusiveStartKey: start, Limit: 50 }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** Collects what is written to stdout and stderr (the Powertools Logger's Console) until the returned undo. */
function captureStdio(sink: string[]): () => void {
  const out = process.stdout.write;
  const err = process.stderr.write;
  const grab = (chunk: unknown, ...rest: unknown[]): boolean => {
    sink.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
    callback?.();
    return true;
  };
  process.stdout.write = grab as typeof process.stdout.write;
  process.stderr.write = grab as typeof process.stderr.write;
  return () => {
    process.stdout.write = out;
    process.stderr.write = err;
  };
}

interface KmsRecorder {
  readonly url: string;
  /**
   * Every distinct ImportToken, from GetParametersForImport answers and ImportKeyMaterial requests. Tether
   * reuses import parameters while they are valid (24 hours), so this is about one per Region.
   */
  readonly tokens: Buffer[];
  /** Every distinct EncryptedKeyMaterial sent in an ImportKeyMaterial request. */
  readonly wrapped: Buffer[];
  /** Every distinct wrapping PublicKey from GetParametersForImport answers. */
  readonly publicKeys: Buffer[];
  close(): Promise<void>;
}

/**
 * A plain HTTP proxy in front of the KMS emulator that records the import secrets crossing the wire.
 * Headers go through untouched (Host included), so the SigV4 signature still matches.
 */
async function startKmsRecorder(target: string): Promise<KmsRecorder> {
  const upstream = new URL(target);
  const tokens: Buffer[] = [];
  const wrapped: Buffer[] = [];
  const publicKeys: Buffer[] = [];
  const seenPublicKeys = new Set<string>();
  const seenTokens = new Set<string>();
  const seenWrapped = new Set<string>();
  const addToken = (value: unknown) => {
    if (typeof value !== "string" || seenTokens.has(value)) return;
    seenTokens.add(value);
    tokens.push(Buffer.from(value, "base64"));
  };
  const readAll = async (stream: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  const parse = (body: Buffer): Record<string, unknown> => {
    try {
      return JSON.parse(body.toString("utf8")) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const body = await readAll(req);
      const operation = String(req.headers["x-amz-target"] ?? "").split(".")[1];
      if (operation === "ImportKeyMaterial") {
        const input = parse(body);
        addToken(input.ImportToken);
        // SDK retries resend the same body; count each wrapped blob once
        if (typeof input.EncryptedKeyMaterial === "string" && !seenWrapped.has(input.EncryptedKeyMaterial)) {
          seenWrapped.add(input.EncryptedKeyMaterial);
          wrapped.push(Buffer.from(input.EncryptedKeyMaterial, "base64"));
        }
      }
      const forwarded = httpRequest({
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      });
      forwarded.on("response", async (answer) => {
        const answerBody = await readAll(answer);
        if (operation === "GetParametersForImport") {
          const answer = parse(answerBody);
          addToken(answer.ImportToken);
          if (typeof answer.PublicKey === "string" && !seenPublicKeys.has(answer.PublicKey)) {
            seenPublicKeys.add(answer.PublicKey);
            publicKeys.push(Buffer.from(answer.PublicKey, "base64"));
          }
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.end(answerBody);
      });
      forwarded.on("error", () => {
        res.writeHead(502);
        res.end();
      });
      forwarded.end(body);
    } catch {
      res.writeHead(502);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tokens,
    wrapped,
    publicKeys,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
