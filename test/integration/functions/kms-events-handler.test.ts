import { readFileSync } from "node:fs";
import type { Context, EventBridgeEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testbedFunctionEnv } from "../../support/deployed-function.js";
import { type LifecycleTestbed, startLifecycleTestbed } from "../../support/lifecycle-testbed.js";
import { describeKey, registerNew } from "../lifecycle/helpers.js";

/**
 * The deployed entry point, loaded as Lambda loads it: configuration from the environment at cold start,
 * then one invocation per event. Runs against the local AWS.
 */
let bed: LifecycleTestbed;
let handler: (event: EventBridgeEvent<string, unknown>, context: Context) => Promise<{ kind: string }>;

const context = {
  functionName: "tether-kms-events",
  awsRequestId: "req-1",
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

beforeAll(async () => {
  bed = await startLifecycleTestbed();
  Object.assign(process.env, testbedFunctionEnv(bed));
  ({ handler } = (await import("../../../functions/kms-events.js")) as unknown as {
    handler: typeof handler;
  });
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

describe("kms-events handler", () => {
  it("drops a malformed event with its reason instead of failing (no endless retries)", async () => {
    const outcome = await handler({ source: "aws.kms", detail: "nope" } as never, context);
    expect(outcome.kind).toBe("dropped");
  });

  it("ignores KMS events Tether does not act on", async () => {
    const fixture = JSON.parse(
      readFileSync(new URL("../../fixtures/kms-events/key-deletion.json", import.meta.url), "utf8"),
    );
    const outcome = await handler({ ...fixture, "detail-type": "KMS Something New" }, context);
    expect(outcome.kind).toBe("ignored");
  });

  it("restores a managed key after KMS's expiry event, in the same invocation", async () => {
    const { key } = await registerNew(bed, { validityPeriod: "PT1H", renewBefore: "PT5M" });
    const arn = key.regions[0]?.keyArn as string;
    await bed.advance(2 * 60 * 60 * 1000);
    expect((await describeKey(bed, "eu-west-1", arn)).KeyState).toBe("PendingImport");
    // The handler runs on the system clock, as in Lambda: bring the emulator's clock back to it (the
    // material stays expired) so both agree on what "now + validity" means.
    await bed.aws.kms.admin.setClockOffset(0);
    const event = {
      version: "0",
      id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
      "detail-type": "KMS Imported Key Material Expiration",
      source: "aws.kms",
      account: arn.split(":")[4],
      time: new Date().toISOString(),
      region: "eu-west-1",
      resources: [arn],
      detail: { "key-id": arn.split("/")[1] },
    };
    const outcome = await handler(event as never, context);
    expect(outcome).toMatchObject({ kind: "handled", outcome: { kind: "restored" } });
    expect((await describeKey(bed, "eu-west-1", arn)).KeyState).toBe("Enabled");
  });
});
