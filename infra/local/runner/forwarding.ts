/**
 * The cross-Region forwarding rules of infra/forwarding.yml, applied to the local event bus: in every
 * Region of the local stack but the home one, each `AWS::Events::Rule` of the template goes on that
 * Region's bus with its event pattern and, as its target, the home Region's default bus — so a replica
 * Region's KMS events reach Tether's rules locally exactly when they would in AWS (and not otherwise).
 */
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import type { EventBus } from "../events/index.js";
import { LocalStackError } from "./errors.js";

export interface ForwardingRule {
  /** The rule's logical id in the template. */
  readonly logicalId: string;
  readonly eventPattern: unknown;
}

/**
 * Reads the forwarding rules of a template written with long-form intrinsics.
 * @throws LocalStackError when the file holds no rule whose target is the TargetBusArn parameter
 */
export async function loadForwardingRules(templateFile: string): Promise<ForwardingRule[]> {
  const template = parse(await readFile(templateFile, "utf8")) as {
    Resources?: Record<string, { Type?: string; Properties?: Record<string, unknown> }>;
  };
  const rules = Object.entries(template.Resources ?? {})
    .filter(([, resource]) => resource.Type === "AWS::Events::Rule")
    .filter(([, resource]) =>
      ((resource.Properties?.Targets as Array<{ Arn?: unknown }> | undefined) ?? []).some(
        (target) => JSON.stringify(target.Arn) === JSON.stringify({ Ref: "TargetBusArn" }),
      ),
    )
    .map(([logicalId, resource]) => ({ logicalId, eventPattern: resource.Properties?.EventPattern }));
  if (rules.length === 0) {
    throw new LocalStackError(
      `${templateFile} has no AWS::Events::Rule targeting the TargetBusArn parameter`,
    );
  }
  return rules;
}

/**
 * Puts the forwarding rules on the default bus of each non-home Region.
 * @returns the names of the rules put, as `<region>/<name>`
 */
export function applyForwardingRules(
  bus: EventBus,
  rules: readonly ForwardingRule[],
  options: { homeRegion: string; regions: readonly string[]; accountId: string },
): string[] {
  const target = bus.eventBusArn("default", options.homeRegion);
  const applied: string[] = [];
  for (const region of options.regions) {
    if (region === options.homeRegion) continue;
    for (const rule of rules) {
      const name = `tether-forwarding-${rule.logicalId}`.slice(0, 64);
      bus.putRule({
        name,
        region,
        eventPattern: rule.eventPattern,
        targets: [
          {
            id: "tether-deployment-region-bus",
            kind: "event-bus",
            arn: target,
            roleArn: `arn:aws:iam::${options.accountId}:role/tether-local-forwarding-${region}`,
          },
        ],
      });
      applied.push(`${region}/${name}`);
    }
  }
  return applied;
}
