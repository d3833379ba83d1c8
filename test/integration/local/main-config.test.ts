import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { LocalConfigError, readConfig } from "../../../infra/local/main.js";
import {
  endpointsFileContent,
  identityByAccessKey,
  LOCAL_ADMIN,
  LOCAL_ADMIN_2,
  LOCAL_ADMIN_PRINCIPALS,
  LOCAL_CALLER_IDENTITIES,
  LOCAL_READER,
} from "../../../infra/local/runner/index.js";
import { parsePrincipalList } from "../../../lib/domain/principal-arn.js";

/** `npm start`'s flags and environment: the Regions it serves and where endpoints.json goes. */
describe("npm start configuration", () => {
  it("serves eu-west-1 (home) and eu-central-1 by default", () => {
    expect(readConfig([], {})).toMatchObject({ regions: ["eu-west-1", "eu-central-1"] });
  });

  it("takes --regions over TETHER_LOCAL_REGIONS, home first", () => {
    expect(
      readConfig(["--regions", "us-east-1, eu-west-1"], { TETHER_LOCAL_REGIONS: "ap-south-1" }),
    ).toMatchObject({
      regions: ["us-east-1", "eu-west-1"],
    });
    expect(readConfig([], { TETHER_LOCAL_REGIONS: "ap-south-1" })).toMatchObject({ regions: ["ap-south-1"] });
  });

  it("refuses a Region named twice or not a Region, naming the flag or variable", () => {
    expect(() => readConfig(["--regions", "eu-west-1,eu-west-1"], {})).toThrow(
      new LocalConfigError("--regions: eu-west-1 is named twice"),
    );
    expect(() => readConfig([], { TETHER_LOCAL_REGIONS: "eu-west-1,Frankfurt" })).toThrow(
      /^TETHER_LOCAL_REGIONS: "Frankfurt" is not a Region name/,
    );
  });

  it("writes endpoints.json in the data directory, with --memory too", () => {
    expect(readConfig(["--data-dir", "/tmp/elsewhere"], {})).toMatchObject({
      dataDir: "/tmp/elsewhere",
      endpointsFile: "/tmp/elsewhere/endpoints.json",
    });
    expect(readConfig(["--memory"], { TETHER_LOCAL_DATA_DIR: "/tmp/x" })).toMatchObject({
      dataDir: undefined,
      endpointsFile: "/tmp/x/endpoints.json",
    });
    expect(readConfig([], {})).toMatchObject({ endpointsFile: join(resolve(".local"), "endpoints.json") });
  });

  it("takes dual control's rules from TETHER_LOCAL_APPROVALS, refusing bad ones before starting", () => {
    expect(readConfig([], {})).not.toHaveProperty("approvals");
    expect(readConfig([], { TETHER_LOCAL_APPROVALS: '{"revoke":2}' })).toMatchObject({
      approvals: '{"revoke":2}',
    });
    expect(() => readConfig([], { TETHER_LOCAL_APPROVALS: '{"revoke":9}' })).toThrow(
      /^TETHER_LOCAL_APPROVALS: .*approvals\.revoke\.quorum/,
    );
  });
});

/** The second local admin, so one admin can ask and another approve (dual control) on a laptop. */
describe("the local identities", () => {
  it("has a second admin: an admin, another person than the first, in endpoints.json", () => {
    const admins = parsePrincipalList(LOCAL_ADMIN_PRINCIPALS);
    if (!("matches" in admins)) throw new Error(`refused: ${LOCAL_ADMIN_PRINCIPALS}`);
    expect(admins.matches(LOCAL_ADMIN.principalArn)).toBe(true);
    expect(admins.matches(LOCAL_ADMIN_2.principalArn)).toBe(true);
    expect(admins.matches(LOCAL_READER.principalArn)).toBe(false);
    for (const field of ["accessKeyId", "secretAccessKey", "principalArn", "userId"] as const) {
      expect(LOCAL_ADMIN_2[field]).not.toBe(LOCAL_ADMIN[field]);
    }
    expect(identityByAccessKey(LOCAL_ADMIN_2.accessKeyId)).toBe(LOCAL_ADMIN_2);
    expect(LOCAL_CALLER_IDENTITIES).toContainEqual({
      accessKeyId: LOCAL_ADMIN_2.accessKeyId,
      arn: LOCAL_ADMIN_2.principalArn,
    });
    const endpoints = { api: "a", kms: "k", dynamodb: "d", events: "e" } as unknown as Parameters<
      typeof endpointsFileContent
    >[0];
    expect(endpointsFileContent(endpoints).credentials.admin2).toEqual({
      accessKeyId: LOCAL_ADMIN_2.accessKeyId,
      secretAccessKey: LOCAL_ADMIN_2.secretAccessKey,
      principalArn: LOCAL_ADMIN_2.principalArn,
    });
  });
});
