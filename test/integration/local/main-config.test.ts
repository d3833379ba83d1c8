import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { LocalConfigError, readConfig } from "../../../infra/local/main.js";

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
});
