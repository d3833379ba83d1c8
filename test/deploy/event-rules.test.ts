import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEventBus } from "../../infra/local/events/index.js";
import { compileEventPattern } from "../../infra/local/events/pattern.js";
import { EventBridgeDrainRequests } from "../../lib/audit/drain-requests.js";
import { EventBridgePublisher } from "../../lib/audit/eventbridge-publisher.js";
import { AlertReason, AlertSeverity } from "../../lib/domain/alerts.js";
import {
  AuditDetailType,
  type AuditEvent,
  buildAlertEvent,
  buildFactEvent,
  buildImportFailedEvent,
} from "../../lib/domain/audit-types.js";
import { drainRequestOf } from "../../lib/domain/drain.js";
import { parseAwsRegion } from "../../lib/domain/ids.js";
import { incidentAlert, type RegionalIncident, sentinelSubject } from "../../lib/domain/sentinel.js";
import { MOTO_CREDENTIALS, MOTO_REGION, motoAvailable, sqsCall, startMoto } from "./support/moto.js";
import {
  type CfnResource,
  type PackagedService,
  packageService,
  REPO_ROOT,
  resourcesOfType,
} from "./support/packaged-service.js";

let packaged: PackagedService;
let alertPattern: Record<string, unknown>;
let auditBusName: string;

beforeAll(async () => {
  packaged = await packageService("ci");
  const rule = packaged.template.Resources.AlertRule as CfnResource;
  alertPattern = rule.Properties?.EventPattern as Record<string, unknown>;
  auditBusName = String(packaged.template.Resources.AuditBus?.Properties?.Name);
}, 300_000);

afterAll(async () => {
  await packaged?.remove();
});

const context = (id: string) => ({
  id,
  time: new Date("2026-11-28T12:00:00Z"),
  actor: "tether:sweep",
  correlationId: "run-1",
});
const subject = {
  keyId: "tk_01JDW0000000000000000000AA",
  keyArn: "arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
  region: "eu-west-1",
};

/** Events the real builders make: which of them must page on-call. */
function auditEvents(): { shouldPage: AuditEvent[]; shouldNot: AuditEvent[] } {
  const critical = buildAlertEvent(AuditDetailType.TetherAlert, context("alert-critical"), subject, {
    severity: AlertSeverity.Critical,
    reason: AlertReason.IncorrectKeyMaterial,
    summary: "KMS refused the vault's material",
  });
  const warning = buildAlertEvent(AuditDetailType.TetherAlert, context("alert-warning"), subject, {
    severity: AlertSeverity.Warning,
    reason: AlertReason.ValidToDrift,
    summary: "ValidTo differs from what Tether imported",
  });
  const fact = buildFactEvent(AuditDetailType.KeyMaterialRenewed, context("fact-renewed"), {
    ...subject,
    validTo: new Date("2026-12-28T12:00:00Z"),
  });
  const failed = buildImportFailedEvent(context("import-failed"), subject, {
    errorName: "KmsThrottledError",
    attempt: 1,
  });
  // The builder cannot make an info alert; forged here so the severity clause is shown to filter.
  const info = { ...warning, id: "alert-info", severity: "info" } as unknown as AuditEvent;
  return { shouldPage: [critical, warning], shouldNot: [fact, failed, info] };
}

describe("the alert rule from the template", () => {
  it("routes Tether Alert of severity critical and warning", () => {
    expect(alertPattern).toEqual({
      source: ["tether"],
      "detail-type": [AuditDetailType.TetherAlert],
      detail: { severity: [AlertSeverity.Critical, AlertSeverity.Warning] },
    });
  });

  it("matches the builder's alerts and nothing else on the local bus (real publisher, over HTTP)", async () => {
    const bus = await startEventBus({ region: "eu-west-1" });
    try {
      bus.createEventBus(auditBusName);
      bus.putRule({
        name: "alerts",
        eventBusName: auditBusName,
        eventPattern: alertPattern,
        targets: [{ id: "on-call", kind: "recorder" }],
      });
      const client = new EventBridgeClient({
        endpoint: bus.url,
        region: "eu-west-1",
        credentials: MOTO_CREDENTIALS,
      });
      const { shouldPage, shouldNot } = auditEvents();
      const { failed } = await new EventBridgePublisher({ client, busName: auditBusName }).publish([
        ...shouldPage,
        ...shouldNot,
      ]);
      expect(failed).toEqual([]);
      await bus.drain();
      expect(bus.events(auditBusName)).toHaveLength(shouldPage.length + shouldNot.length);
      const paged = bus.recorded("on-call").map((e) => (e.detail as { id: string }).id);
      expect(paged.sort()).toEqual(shouldPage.map((e) => e.id).sort());
      client.destroy();
    } finally {
      await bus.close();
    }
  });

  const moto = motoAvailable();
  if (!moto)
    console.warn("moto is not installed here (python3 -m moto.server): skipping the moto EventBridge check.");
  it.skipIf(!moto)(
    "matches the builder's alerts and nothing else in moto's EventBridge (rule → SQS)",
    async () => {
      const server = await startMoto();
      const client = new EventBridgeClient({
        endpoint: server.url,
        region: MOTO_REGION,
        credentials: MOTO_CREDENTIALS,
      });
      try {
        await client.send(new CreateEventBusCommand({ Name: auditBusName }));
        await client.send(
          new PutRuleCommand({
            Name: "alerts",
            EventBusName: auditBusName,
            EventPattern: JSON.stringify(alertPattern),
          }),
        );
        const { QueueUrl } = await sqsCall<{ QueueUrl: string }>(server.url, "CreateQueue", {
          QueueName: "on-call",
        });
        const { Attributes } = await sqsCall<{ Attributes: { QueueArn: string } }>(
          server.url,
          "GetQueueAttributes",
          {
            QueueUrl,
            AttributeNames: ["QueueArn"],
          },
        );
        await client.send(
          new PutTargetsCommand({
            Rule: "alerts",
            EventBusName: auditBusName,
            Targets: [{ Id: "on-call", Arn: Attributes.QueueArn }],
          }),
        );
        const { shouldPage, shouldNot } = auditEvents();
        const { failed } = await new EventBridgePublisher({ client, busName: auditBusName }).publish([
          ...shouldPage,
          ...shouldNot,
        ]);
        expect(failed).toEqual([]);
        const received: string[] = [];
        for (;;) {
          const { Messages } = await sqsCall<{ Messages?: Array<{ Body: string }> }>(
            server.url,
            "ReceiveMessage",
            {
              QueueUrl,
              MaxNumberOfMessages: 10,
              WaitTimeSeconds: 0,
            },
          );
          if (Messages === undefined || Messages.length === 0) break;
          for (const message of Messages) {
            const envelope = JSON.parse(message.Body) as {
              source: string;
              "detail-type": string;
              detail: { id: string };
            };
            expect(envelope.source).toBe("tether");
            received.push(envelope.detail.id);
          }
        }
        expect(received.sort()).toEqual(shouldPage.map((e) => e.id).sort());
      } finally {
        client.destroy();
        await server.stop();
      }
    },
    60_000,
  );
});

describe("the KMS event rules from the template", () => {
  const fixtureDir = join(REPO_ROOT, "test", "fixtures", "kms-events");

  async function fixtures(): Promise<Array<{ name: string; event: Record<string, unknown> }>> {
    const names = (await readdir(fixtureDir)).filter((n) => n.endsWith(".json")).sort();
    return Promise.all(
      names.map(async (name) => ({
        name,
        event: JSON.parse(await readFile(join(fixtureDir, name), "utf8")),
      })),
    );
  }

  function kmsRules() {
    return resourcesOfType(packaged.template, "AWS::Events::Rule")
      .filter(([, rule]) => JSON.stringify(rule.Properties?.Targets).includes("KmsDasheventsLambdaFunction"))
      .map(([id, rule]) => ({ id, pattern: compileEventPattern(rule.Properties?.EventPattern) }));
  }

  it("are on the default bus, where KMS and CloudTrail events arrive", () => {
    const rules = resourcesOfType(packaged.template, "AWS::Events::Rule").filter(([, r]) =>
      JSON.stringify(r.Properties?.Targets).includes("KmsDasheventsLambdaFunction"),
    );
    expect(rules).toHaveLength(3);
    for (const [, rule] of rules) expect(rule.Properties?.EventBusName).toBeUndefined();
  });

  it("each match every documented sample event of theirs, so every fixture reaches kms-events once", async () => {
    const rules = kmsRules();
    const all = await fixtures();
    expect(all.length).toBeGreaterThanOrEqual(6);
    for (const { name, event } of all) {
      const matching = rules.filter((rule) => rule.pattern.matches(event)).map((rule) => rule.id);
      expect(matching, name).toHaveLength(1);
    }
  });

  it("do not match KMS events Tether does not act on", async () => {
    const rules = kmsRules();
    const [cloudTrail] = (await fixtures()).filter(
      ({ name }) => name === "cloudtrail-import-key-material.json",
    );
    const decrypt = {
      ...cloudTrail?.event,
      detail: { ...(cloudTrail?.event.detail as object), eventName: "Decrypt" },
    };
    const otherService = { ...cloudTrail?.event, source: "aws.s3" };
    for (const event of [decrypt, otherService]) {
      expect(rules.filter((rule) => rule.pattern.matches(event))).toHaveLength(0);
    }
  });
});

describe("the sweep's drain rules from the template (one drain per incident)", () => {
  function sweepRules() {
    return resourcesOfType(packaged.template, "AWS::Events::Rule").filter(([, rule]) =>
      JSON.stringify(rule.Properties?.Targets).includes("SweepLambdaFunction"),
    );
  }

  it("are two rules on the audit bus (the stack's own, not a new one) with the async-failure queue", () => {
    const rules = sweepRules().filter(([, r]) => r.Properties?.ScheduleExpression === undefined);
    expect(rules).toHaveLength(2);
    for (const [, rule] of rules) {
      expect(rule.Properties?.EventBusName).toEqual({ "Fn::GetAtt": ["AuditBus", "Name"] });
      const targets = rule.Properties?.Targets as Array<Record<string, unknown>>;
      expect(targets).toHaveLength(1);
      expect(targets[0]?.DeadLetterConfig).toEqual({ Arn: { "Fn::GetAtt": ["AsyncFailureQueue", "Arn"] } });
    }
    // No second bus named like the audit bus: osls creates one only for a bus given by name.
    expect(resourcesOfType(packaged.template, "AWS::Events::EventBus")).toHaveLength(1);
    // EventBridge may invoke the sweep for them (osls's permission per rule).
    const permissions = resourcesOfType(packaged.template, "AWS::Lambda::Permission").filter(
      ([, p]) =>
        p.Properties?.Principal === "events.amazonaws.com" &&
        JSON.stringify(p.Properties?.FunctionName).includes("SweepLambdaFunction"),
    );
    expect(permissions.length).toBeGreaterThanOrEqual(2);
  });

  it("deliver the incident's alert and a drain's continuation to the sweep, as drain requests, and nothing else (local bus, real publishers)", async () => {
    const rules = sweepRules().filter(([, r]) => r.Properties?.ScheduleExpression === undefined);
    const bus = await startEventBus({ region: "eu-west-1" });
    const client = new EventBridgeClient({
      endpoint: bus.url,
      region: "eu-west-1",
      credentials: MOTO_CREDENTIALS,
    });
    try {
      bus.createEventBus(auditBusName);
      for (const [id, rule] of rules) {
        bus.putRule({
          name: id,
          eventBusName: auditBusName,
          eventPattern: rule.Properties?.EventPattern as Record<string, unknown>,
          targets: [{ id: "sweep", kind: "recorder" }],
        });
      }
      const incident: RegionalIncident = {
        region: parseAwsRegion("eu-central-1"),
        sentinelArn: subject.keyArn,
        openedAt: new Date("2026-11-28T12:00:00Z"),
        keysMadeDue: 3,
      };
      const detected = buildAlertEvent(
        AuditDetailType.TetherAlert,
        context("incident:eu-central-1"),
        { ...subject, keyId: sentinelSubject("eu-central-1"), region: "eu-central-1" },
        incidentAlert(incident),
      );
      const { shouldPage, shouldNot } = auditEvents();
      const publisher = new EventBridgePublisher({ client, busName: auditBusName });
      expect((await publisher.publish([detected, ...shouldPage, ...shouldNot])).failed).toEqual([]);
      await new EventBridgeDrainRequests({ client, busName: auditBusName }).request(
        { region: parseAwsRegion("eu-central-1"), run: 3 },
        { id: "continue-1", time: new Date("2026-11-28T12:05:00Z"), correlationId: "run-1" },
      );
      await bus.drain();
      const delivered = bus.recorded("sweep");
      expect(delivered.map((event) => drainRequestOf(event))).toEqual([
        { region: "eu-central-1", run: 0 },
        { region: "eu-central-1", run: 3 },
      ]);
      // The scheduled sweep's own event is no drain.
      expect(
        drainRequestOf({ source: "aws.events", "detail-type": "Scheduled Event", detail: {} }),
      ).toBeUndefined();
    } finally {
      client.destroy();
      await bus.close();
    }
  });
});
