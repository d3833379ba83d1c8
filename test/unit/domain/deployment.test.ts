import { describe, expect, it } from "vitest";
import {
  aliasInScope,
  assertAdoptable,
  assertAliasInScope,
  deploymentTagValue,
  MANAGED_BY_TAG_KEY,
  managedByTag,
  ownershipOf,
  parseDeployment,
} from "../../../lib/domain/deployment.js";
import { StateConflictError, ValidationError } from "../../../lib/domain/errors.js";

const OURS = "tether/prod/eu-west-1";
const ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

describe("the deployment's tag", () => {
  it("names the stage and the home Region", () => {
    expect(deploymentTagValue("prod", "eu-west-1")).toBe(OURS);
    expect(deploymentTagValue("dev-2", "us-gov-west-1")).toBe("tether/dev-2/us-gov-west-1");
    expect(managedByTag(OURS)).toEqual({ [MANAGED_BY_TAG_KEY]: OURS });
  });

  it("refuses what is not tether/<stage>/<region>", () => {
    for (const bad of [
      "tether",
      "tether/prod",
      "tether/prod/eu-west-1/x",
      "tether/pr od/eu-west-1",
      "other/prod/eu-west-1",
      "tether/prod/EU-WEST-1",
      "tether/*/eu-west-1",
    ]) {
      expect(() => parseDeployment(bad), bad).toThrow(/tether\/<stage>\/<region>/);
    }
  });

  it("tells this deployment's keys from unmarked ones and from other deployments'", () => {
    expect(ownershipOf({ [MANAGED_BY_TAG_KEY]: OURS, team: "x" }, OURS)).toEqual({ kind: "ours" });
    expect(ownershipOf({ team: "x" }, OURS)).toEqual({ kind: "unmarked" });
    expect(ownershipOf({ [MANAGED_BY_TAG_KEY]: "tether/dev/eu-west-1" }, OURS)).toEqual({
      kind: "other",
      deployment: "tether/dev/eu-west-1",
    });
    // Same stage, another Region's stack: another deployment.
    expect(ownershipOf({ [MANAGED_BY_TAG_KEY]: "tether/prod/us-east-1" }, OURS).kind).toBe("other");
  });
});

describe("adopting", () => {
  it("takes an unmarked key or one of this deployment's", () => {
    expect(() => assertAdoptable(ARN, {}, OURS)).not.toThrow();
    expect(() => assertAdoptable(ARN, { [MANAGED_BY_TAG_KEY]: OURS }, OURS)).not.toThrow();
  });

  it("refuses another deployment's key (a Tether before deployment scopes too), naming it", () => {
    for (const other of ["tether/dev/eu-west-1", "tether"]) {
      let caught: unknown;
      try {
        assertAdoptable(ARN, { [MANAGED_BY_TAG_KEY]: other }, OURS);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(StateConflictError);
      expect((caught as StateConflictError).message).toContain(`tether:managed-by=${other}`);
      expect((caught as StateConflictError).message).toContain(OURS);
      expect((caught as StateConflictError).state).toBe("other-deployment");
    }
  });
});

describe("TETHER_DEPLOYMENT", () => {
  const base = { AWS_REGION: "eu-west-1", TETHER_TABLE_NAME: "tether-x", TETHER_AUDIT_BUS_NAME: "bus" };

  it("is read at cold start, defaulting to the local stage's value, and a malformed one is named", async () => {
    const { loadConfig } = await import("../../../lib/config.js");
    expect(loadConfig(base).deployment).toBe("tether/local/eu-west-1");
    expect(loadConfig({ ...base, TETHER_DEPLOYMENT: OURS }).deployment).toBe(OURS);
    expect(() => loadConfig({ ...base, TETHER_DEPLOYMENT: "tether" })).toThrow(/TETHER_DEPLOYMENT: /);
  });
});

describe("the deployment's alias prefix", () => {
  it("lets through aliases under it, or any alias when it is empty", () => {
    expect(aliasInScope("alias/tether/prod/payments", "tether/prod/")).toBe(true);
    expect(aliasInScope("alias/payments", "")).toBe(true);
    expect(aliasInScope("alias/payments", undefined)).toBe(true);
    expect(() => assertAliasInScope(undefined, "tether/prod/")).not.toThrow();
  });

  it("refuses an alias outside it, naming the field and the prefix", () => {
    expect(aliasInScope("alias/payments", "tether/prod/")).toBe(false);
    expect(aliasInScope("alias/tether/dev/payments", "tether/prod/")).toBe(false);
    expect(() => assertAliasInScope("alias/payments", "tether/prod/")).toThrow(ValidationError);
    expect(() => assertAliasInScope("alias/payments", "tether/prod/", "alias")).toThrow(
      /^alias: must start with alias\/tether\/prod\//,
    );
  });

  it("is checked at cold start", async () => {
    const { loadConfig } = await import("../../../lib/config.js");
    const base = { AWS_REGION: "eu-west-1", TETHER_TABLE_NAME: "tether-x", TETHER_AUDIT_BUS_NAME: "bus" };
    expect(loadConfig(base).aliasPrefix).toBe("");
    expect(loadConfig({ ...base, TETHER_ALIAS_PREFIX: "tether/prod/" }).aliasPrefix).toBe("tether/prod/");
    for (const bad of ["aws/", "with space", "alias*"]) {
      expect(() => loadConfig({ ...base, TETHER_ALIAS_PREFIX: bad }), bad).toThrow(/TETHER_ALIAS_PREFIX: /);
    }
  });
});
