import { DecryptCommand, DescribeKeyCommand, EncryptCommand, type KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { LocalStack } from "../../infra/local/runner/index.js";
import type { HistoryResponse, KeyActionResponse } from "../../lib/api/schemas.js";
import { ADMIN, E2E_STACK_START_MS, stackKmsClient, startE2eStack } from "../support/e2e-stack.js";
import { signedFetch } from "./support.js";

/**
 * One clock for the whole local stack: moving the KMS emulator's clock (`POST /_admin/clock`) moves the
 * functions' "now" too, so what Tether does after the move is right for the time KMS is at.
 */
let stack: LocalStack;
let kms: KMSClient;
const HOUR = 3_600_000;

beforeAll(async () => {
  stack = await startE2eStack();
  kms = stackKmsClient(stack);
}, E2E_STACK_START_MS);

afterAll(async () => {
  await stack?.localAws.kms.admin.setClockOffset(0);
  kms?.destroy();
  await stack?.close();
});

it("after the emulator's clock jumps past ValidTo, Tether restores for the emulator's time", async () => {
  const registered = await signedFetch(stack.apiUrl, {
    method: "POST",
    path: "/keys",
    credentials: ADMIN,
    body: {
      mode: "create",
      region: stack.region,
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: `clock/${Date.now()}`,
      generateMaterial: true,
      policy: { validityPeriod: "PT1H" },
    },
  });
  expect(registered.status).toBe(201);
  const key = (registered.body as KeyActionResponse).key;
  const ciphertext = (await kms.send(new EncryptCommand({ KeyId: key.keyArn, Plaintext: Buffer.from("x") })))
    .CiphertextBlob;

  // Two hours on: the material (valid one hour) expires in KMS, whose event reaches kms-events.
  const moved = await stack.localAws.kms.admin.advanceClock(2 * HOUR);

  const deadline = Date.now() + 30_000;
  let state = "";
  let validTo = 0;
  while (Date.now() < deadline) {
    const m = (await kms.send(new DescribeKeyCommand({ KeyId: key.keyArn }))).KeyMetadata;
    state = m?.KeyState ?? "";
    validTo = m?.ValidTo?.getTime() ?? 0;
    if (state === "Enabled" && validTo > moved.epochMs) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // Restored with a ValidTo an hour after the emulator's now (on the system clock it would already be past).
  expect(state).toBe("Enabled");
  expect(validTo).toBeGreaterThan(moved.epochMs + HOUR - 60_000);
  expect(validTo).toBeLessThan(moved.epochMs + HOUR + 60_000);
  await kms.send(new DecryptCommand({ KeyId: key.keyArn, CiphertextBlob: ciphertext }));

  // Tether's own record says the same time: the restore event is stamped on the emulator's clock.
  const history = await signedFetch(stack.apiUrl, {
    method: "GET",
    path: `/keys/${key.id}/history`,
    credentials: ADMIN,
  });
  const restored = (history.body as HistoryResponse).items.find(
    (e) => e.detailType === "Key Material Restored",
  );
  expect(restored?.actor).toBe("tether:kms-events");
  expect(Date.parse(restored?.time ?? "")).toBeGreaterThan(moved.epochMs - 60_000);
}, 60_000);
