/**
 * infra/forwarding.yml: the rule each non-deployment Region runs to send its KMS events to the
 * deployment Region's default bus. Its pattern must pass every KMS event that kms-events acts on (the
 * documented samples in test/fixtures/kms-events) and nothing from other services — checked with the
 * local pattern engine and end to end in moto's EventBridge (the rule with its cross-Region bus target
 * and role in one Region, kms-events' patterns in the other); the template passes cfn-lint where installed.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { compileEventPattern } from "../../infra/local/events/pattern.js";
import { loadForwardingRules } from "../../infra/local/runner/forwarding.js";
import { loadServerlessDefinition } from "../../infra/local/runner/serverless-definition.js";
import { MOTO_CREDENTIALS, MOTO_REGION, motoAvailable, sqsCall, startMoto } from "./support/moto.js";
import { REPO_ROOT } from "./support/packaged-service.js";

const run = promisify(execFile);
const TEMPLATE = join(REPO_ROOT, "infra", "forwarding.yml");
const HOME_BUS = "arn:aws:events:eu-west-1:123456789012:event-bus/default";

interface Template {
  Parameters: Record<string, { AllowedPattern?: string }>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

let template: Template;
let pattern: Record<string, unknown>;
let samples: Array<{ name: string; event: Record<string, unknown> }>;
let kmsEventsPatterns: Array<Record<string, unknown>>;

beforeAll(async () => {
  template = parse(await readFile(TEMPLATE, "utf8")) as Template;
  const [rule] = await loadForwardingRules(TEMPLATE);
  pattern = rule?.eventPattern as Record<string, unknown>;
  const dir = join(REPO_ROOT, "test", "fixtures", "kms-events");
  const names = (await readdir(dir)).filter((n) => n.endsWith(".json")).sort();
  samples = await Promise.all(
    names.map(async (name) => ({ name, event: JSON.parse(await readFile(join(dir, name), "utf8")) })),
  );
  const definition = await loadServerlessDefinition(join(REPO_ROOT, "serverless.yml"), {
    stage: "ci",
    region: "eu-west-1",
    accountId: "123456789012",
    params: { adminPrincipals: "x", readerPrincipals: "x", vault: "file", vaultSettings: "/tmp" },
  });
  kmsEventsPatterns = (definition.functions.find((f) => f.name === "kms-events")?.eventRules ?? []).map(
    (r) => r.pattern,
  );
});

/** Events of other services that must stay in their Region. */
function foreignEvents(): Array<Record<string, unknown>> {
  const [sample] = samples;
  return [
    { ...sample?.event, source: "aws.s3" },
    { ...sample?.event, source: "tether" },
    { ...sample?.event, "detail-type": "Some Other Detail Type" },
  ];
}

describe("the forwarding template", () => {
  it("has one rule on the default bus, targeting the TargetBusArn parameter with a role", () => {
    const rules = Object.entries(template.Resources).filter(([, r]) => r.Type === "AWS::Events::Rule");
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0] as [string, { Properties: Record<string, unknown> }];
    expect(rule.Properties).toMatchObject({
      EventBusName: "default",
      State: "ENABLED",
      Targets: [{ Arn: { Ref: "TargetBusArn" }, RoleArn: { "Fn::GetAtt": ["ForwardingRole", "Arn"] } }],
    });
    expect(new RegExp(template.Parameters.TargetBusArn?.AllowedPattern ?? "$^").test(HOME_BUS)).toBe(true);
    expect(
      new RegExp(template.Parameters.TargetBusArn?.AllowedPattern ?? "$^").test(
        "arn:aws:events:eu-west-1:123456789012:event-bus/tether-audit",
      ),
    ).toBe(false);
  });

  it("gives EventBridge a role that may only put events on the target bus", () => {
    const role = template.Resources.ForwardingRole?.Properties as Record<string, unknown>;
    expect(role.AssumeRolePolicyDocument).toMatchObject({
      Statement: [
        { Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: "sts:AssumeRole" },
      ],
    });
    expect(role.Policies).toEqual([
      {
        PolicyName: expect.any(String),
        PolicyDocument: {
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "events:PutEvents", Resource: { Ref: "TargetBusArn" } }],
        },
      },
    ]);
  });

  it("passes every KMS event kms-events acts on, and no other service's events (local pattern engine)", () => {
    const forward = compileEventPattern(pattern);
    const kmsEvents = kmsEventsPatterns.map((p) => compileEventPattern(p));
    expect(kmsEvents.length).toBeGreaterThan(0);
    expect(samples.length).toBeGreaterThanOrEqual(6);
    for (const { name, event } of samples) {
      expect(forward.matches(event), name).toBe(true);
      // Whatever kms-events would act on in the deployment Region, the forwarding rule carries there.
      if (kmsEvents.some((p) => p.matches(event))) expect(forward.matches(event), name).toBe(true);
    }
    for (const event of foreignEvents()) expect(forward.matches(event)).toBe(false);
  });

  const moto = motoAvailable();
  if (!moto)
    console.warn("moto is not installed here (python3 -m moto.server): skipping the moto EventBridge check.");
  it.skipIf(!moto)(
    "carries a replica Region's KMS events to kms-events' rules in the deployment Region in moto's EventBridge, and only with the rule",
    async () => {
      const server = await startMoto();
      const replica = new EventBridgeClient({
        endpoint: server.url,
        region: "eu-central-1",
        credentials: MOTO_CREDENTIALS,
      });
      const home = new EventBridgeClient({
        endpoint: server.url,
        region: MOTO_REGION,
        credentials: MOTO_CREDENTIALS,
      });
      try {
        // kms-events' rules in the deployment Region, each to one queue there.
        const { QueueUrl } = await sqsCall<{ QueueUrl: string }>(server.url, "CreateQueue", {
          QueueName: "kms-events",
        });
        const { Attributes } = await sqsCall<{ Attributes: { QueueArn: string } }>(
          server.url,
          "GetQueueAttributes",
          {
            QueueUrl,
            AttributeNames: ["QueueArn"],
          },
        );
        for (const [index, kmsPattern] of kmsEventsPatterns.entries()) {
          await home.send(
            new PutRuleCommand({ Name: `kms-events-${index}`, EventPattern: JSON.stringify(kmsPattern) }),
          );
          await home.send(
            new PutTargetsCommand({
              Rule: `kms-events-${index}`,
              Targets: [{ Id: "kms-events", Arn: Attributes.QueueArn }],
            }),
          );
        }
        const received = async (): Promise<string[]> => {
          const ids: string[] = [];
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
            if (Messages === undefined || Messages.length === 0) return ids;
            for (const message of Messages) {
              const event = JSON.parse(message.Body) as { detail: Record<string, unknown> };
              ids.push(String(event.detail.marker));
            }
          }
        };
        const putInReplica = async (events: Array<Record<string, unknown>>, round: string) => {
          for (const [index, event] of events.entries()) {
            const result = await replica.send(
              new PutEventsCommand({
                Entries: [
                  {
                    Source: String(event.source),
                    DetailType: String(event["detail-type"]),
                    Detail: JSON.stringify({ ...(event.detail as object), marker: `${round}-${index}` }),
                    Resources: event.resources as string[],
                  },
                ],
              }),
            );
            expect(result.FailedEntryCount).toBe(0);
          }
        };
        const kmsSamples = samples.map((s) => s.event);

        // Without the forwarding rule, nothing from the replica Region arrives.
        await putInReplica(kmsSamples, "before");
        expect(await received()).toEqual([]);

        // With the template's rule (and its cross-Region bus target and role), every sample does; no foreign event.
        await replica.send(
          new PutRuleCommand({ Name: "tether-forwarding", EventPattern: JSON.stringify(pattern) }),
        );
        const put = await replica.send(
          new PutTargetsCommand({
            Rule: "tether-forwarding",
            Targets: [
              {
                Id: "tether-deployment-region-bus",
                Arn: `arn:aws:events:${MOTO_REGION}:123456789012:event-bus/default`,
                RoleArn: "arn:aws:iam::123456789012:role/tether-forwarding",
              },
            ],
          }),
        );
        expect(put.FailedEntryCount).toBe(0);
        await putInReplica(kmsSamples, "after");
        await putInReplica(foreignEvents(), "foreign");
        expect((await received()).sort()).toEqual(kmsSamples.map((_, index) => `after-${index}`).sort());
      } finally {
        replica.destroy();
        home.destroy();
        await server.stop();
      }
    },
    60_000,
  );

  const cfnLint = (process.env.PATH ?? "")
    .split(":")
    .some((dir) => dir !== "" && existsSync(join(dir, "cfn-lint")));
  if (!cfnLint) console.warn("cfn-lint is not installed here: skipping the forwarding template lint.");
  it.skipIf(!cfnLint)(
    "passes cfn-lint",
    async () => {
      const result = await run("cfn-lint", ["--", TEMPLATE]).then(
        () => ({ code: 0, output: "" }),
        (error: { code?: number; stdout?: string }) => ({
          code: error.code ?? 1,
          output: error.stdout ?? "",
        }),
      );
      expect(result.output).toBe("");
      expect(result.code).toBe(0);
    },
    60_000,
  );
});
