import { DescribeKeyCommand } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../infra/local/runner/index.js";
import { ADMIN, E2E_STACK_START_MS, stackKmsClient, startE2eStack } from "../support/e2e-stack.js";
import { signedFetch } from "./support.js";

/**
 * Issue 14 item 3 over the running stack, as a user meets it: `POST /keys` for a Multi-Region key while the
 * sweep runs on its schedule (every 200 ms here) and the primary's import is slow. Before the fix the
 * sweep imported into the replica while the API was still importing into the primary; KMS refused it, the
 * replica was parked as IncorrectKeyMaterialError and stayed PendingImport.
 */
let stack: LocalStack;

beforeAll(async () => {
  stack = await startE2eStack({ sweepIntervalMs: 200 });
}, E2E_STACK_START_MS);

afterAll(async () => {
  await stack?.localAws.kms.admin.clearFaults();
  await stack?.close();
});

describe("a new Multi-Region key over the API, with the sweep running", () => {
  it("imports into the primary first and ends Enabled in both Regions, with 3 s of import latency on the primary", async () => {
    const [home, replica] = stack.regions;
    expect(replica, "the local stack serves two Regions by default").toBeDefined();
    await stack.localAws.kms.admin.injectFault({
      operation: "ImportKeyMaterial",
      region: home,
      latencyMs: 3000,
    });

    const answer = await signedFetch(stack.apiUrl, {
      method: "POST",
      path: "/keys",
      credentials: ADMIN,
      body: {
        mode: "create",
        region: home,
        keySpec: "SYMMETRIC_DEFAULT",
        materialRef: `e2e/mrk-race-${Date.now().toString(36)}`,
        generateMaterial: true,
        multiRegion: true,
        replicaRegions: [replica],
        policy: { validityPeriod: "P30D" },
      },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    await stack.localAws.kms.admin.clearFaults();
    const key = (
      answer.body as { key: { id: string; keyArn: string; regions: { region: string; keyArn: string }[] } }
    ).key;
    const replicaArn = key.regions.find((r) => r.region === replica)?.keyArn as string;
    expect(replicaArn).toMatch(/^arn:aws:kms:/);

    // Let the schedule run a few more sweeps: none may park the replica or undo anything.
    for (let i = 0; i < 5; i++) await stack.sweepNow();

    for (const [region, arn] of [
      [home, key.keyArn],
      [replica, replicaArn],
    ] as const) {
      const kms = stackKmsClient(stack, region);
      const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: arn }));
      kms.destroy();
      expect(KeyMetadata?.KeyState, region).toBe("Enabled");
    }
    const history = await signedFetch(stack.apiUrl, {
      method: "GET",
      path: `/keys/${encodeURIComponent(key.id)}/history`,
      credentials: ADMIN,
    });
    const events = (history.body as { items: { detailType: string; errorName?: string }[] }).items;
    expect(events.filter((e) => e.errorName === "IncorrectKeyMaterialError")).toEqual([]);
    expect(events.filter((e) => e.detailType === "Tether Alert")).toEqual([]);
  }, 90_000);
});
