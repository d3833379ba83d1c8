import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, expect, it } from "vitest";
import { LOCAL_SERVICE_CREDENTIALS, type LocalStack } from "../../infra/local/runner/index.js";
import type { HistoryResponse, KeyActionResponse } from "../../lib/api/schemas.js";
import { AuditTrail } from "../../lib/audit/audit-trail.js";
import { EventBridgePublisher } from "../../lib/audit/eventbridge-publisher.js";
import { AuditDetailType, buildFactEvent } from "../../lib/domain/audit-types.js";
import type { AuditLog } from "../../lib/lifecycle/ports.js";
import { DynamoAuditLog } from "../../lib/store/dynamo-audit-log.js";
import { ADMIN, E2E_STACK_START_MS, startE2eStack } from "../support/e2e-stack.js";
import { signedFetch } from "./support.js";

/**
 * The audit bus is at least once, as docs/deploy.md says: an event the bus accepted but that was not
 * marked sent (the function stopped in between) is sent again by the sweep, with the same detail.id. The
 * consumer rule the docs show is put on the running stack's audit bus and sees both copies; deduplicating
 * on detail.id, as the docs say, leaves one.
 */
let stack: LocalStack;
let dynamodb: DynamoDBClient;
let events: EventBridgeClient;

/** The JSON rule under "Consuming the audit bus" in docs/deploy.md. */
function documentedConsumerRule(): unknown {
  const doc = readFileSync(new URL("../../docs/deploy.md", import.meta.url), "utf8");
  const section = doc.split("## Consuming the audit bus")[1]?.split("\n## ")[0] ?? "";
  expect(section, "docs/deploy.md has a 'Consuming the audit bus' section").not.toBe("");
  expect(section).toMatch(/at least once/);
  expect(section).toContain("detail.id");
  const json = /```json\n([\s\S]*?)```/.exec(section)?.[1];
  expect(json, "the section shows the consumer rule as JSON").toBeDefined();
  return JSON.parse(json as string);
}

beforeAll(async () => {
  stack = await startE2eStack();
  const common = { region: stack.region, credentials: LOCAL_SERVICE_CREDENTIALS };
  dynamodb = new DynamoDBClient({ ...common, endpoint: stack.endpoints.dynamodb });
  events = new EventBridgeClient({ ...common, endpoint: stack.endpoints.events });
}, E2E_STACK_START_MS);

afterAll(async () => {
  dynamodb?.destroy();
  events?.destroy();
  await stack?.close();
});

it("delivers an event the function stopped before marking twice, with one detail.id; the documented rule sees both", async () => {
  stack.localAws.events.putRule({
    name: "documented-consumer",
    eventBusName: stack.auditBusName,
    eventPattern: documentedConsumerRule(),
    targets: [{ id: "consumer", kind: "recorder" }],
  });
  const registered = await signedFetch(stack.apiUrl, {
    method: "POST",
    path: "/keys",
    credentials: ADMIN,
    body: {
      mode: "create",
      region: stack.region,
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: `audit/${Date.now()}`,
      generateMaterial: true,
    },
  });
  expect(registered.status).toBe(201);
  const key = (registered.body as KeyActionResponse).key;

  // Tether's outbox, over the stack's table and audit bus, in a function that stops after the bus
  // accepted the event and before it is marked sent (as a timeout or crash would stop it).
  const log = new DynamoAuditLog({ client: dynamodb, tableName: stack.tableName });
  let stopped = false;
  const stoppingLog: AuditLog = {
    append: (e) => log.append(e),
    unpublished: (limit) => log.unpublished(limit),
    history: (keyId, options) => log.history(keyId, options),
    markPublished: async () => {
      stopped = true;
      throw new Error("the function stopped here");
    },
  };
  const trail = new AuditTrail({
    log: stoppingLog,
    publisher: new EventBridgePublisher({ client: events, busName: stack.auditBusName }),
  });
  const fact = buildFactEvent(
    AuditDetailType.KeyPolicyChanged,
    { id: randomUUID(), time: new Date(), actor: "test:at-least-once", correlationId: randomUUID() },
    { keyId: key.id, keyArn: key.keyArn, reason: "at-least-once" },
  );
  await trail.record(fact);
  expect(stopped).toBe(true);

  // The next scheduled sweep sends what waits in the outbox.
  const report = await stack.sweepNow();
  expect(report.outbox.published).toBeGreaterThanOrEqual(1);
  await stack.localAws.events.drain();

  const seen = stack.localAws.events.recorded("consumer");
  const copies = seen.filter((e) => (e.detail as { id?: string }).id === fact.id);
  expect(copies).toHaveLength(2);
  expect(new Set(copies.map((e) => e.id)).size).toBe(2); // new envelope ids: no use for deduplication
  // Every event the rule sees carries detail.id; deduplicating on it leaves each fact once.
  expect(seen.every((e) => typeof (e.detail as { id?: unknown }).id === "string")).toBe(true);
  const unique = new Set(seen.map((e) => (e.detail as { id: string }).id));
  expect(unique.size).toBe(seen.length - 1);
  expect(seen.map((e) => e["detail-type"])).toContain("Key Registered");

  // The history holds it once.
  const history = await signedFetch(stack.apiUrl, {
    method: "GET",
    path: `/keys/${key.id}/history`,
    credentials: ADMIN,
  });
  expect((history.body as HistoryResponse).items.filter((e) => e.id === fact.id)).toHaveLength(1);
}, 60_000);
