import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { LocalStack } from "../../infra/local/runner/index.js";
import { main } from "../../scripts/demo.js";
import { E2E_STACK_START_MS, startE2eStack } from "../support/e2e-stack.js";

/**
 * `npm run demo` as a test: the story runs against a stack started here. Instead of waiting for the
 * schedule in real time, time passes by moving Date — Tether's clock and the KMS emulator's follow it
 * together — and running the probe (it reads the sentinels: a regional loss opens an incident) and the
 * sweep at once.
 */
let stack: LocalStack;

beforeAll(async () => {
  stack = await startE2eStack();
}, E2E_STACK_START_MS);

afterAll(async () => {
  vi.useRealTimers();
  await stack?.close();
});

it("tells the whole story and every step does what it should", async () => {
  vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
  const lines: string[] = [];
  const ok = await main({
    endpoints: stack.endpoints,
    out: (line) => lines.push(line),
    letTimePass: async (ms) => {
      vi.setSystemTime(Date.now() + ms);
      await stack.runSchedule("probe");
      await stack.sweepNow();
    },
  });
  const printed = lines.join("\n");
  expect(ok, printed).toBe(true);
  expect(printed.match(/^✔ /gm)).toHaveLength(19);
  expect(printed).not.toContain("✘");
  expect(printed).toContain("Enabled again by tether:kms-events");
  expect(printed).toContain("Enabled again by tether:sweep");
  expect(printed).toMatch(/Revoke.*\n.*KMSInvalidStateException/);
  // Multi-Region on the local stack (two Regions by default): a loss in the replica's Region only.
  expect(stack.regions).toEqual(["eu-west-1", "eu-central-1"]);
  expect(printed).toMatch(
    /replica PendingImport, Decrypt in eu-central-1 → KMSInvalidStateException; primary in eu-west-1 still Enabled/,
  );
  expect(printed).toContain(
    "replica Enabled again by tether:sweep; the secret encrypted in eu-central-1 before the loss decrypts there",
  );
  // Two member accounts: registered, a key adopted in each, listed by account; one member's material
  // expires and is restored in that member, the other's is left as it was.
  expect(printed).toMatch(
    /Register them with Tether.*\n.*222200001111 \(demo-payments\) ok, 333300001111 \(demo-orders\) ok/,
  );
  expect(printed).toMatch(/--account 222200001111: 1 key\(s\).*--account 333300001111: 1 key\(s\)/);
  expect(printed).toMatch(/key Enabled again in 222200001111 by tether:(kms-events|sweep)/);
  expect(printed).toMatch(
    /333300001111, was untouched.*\n.*key still Enabled, the same ValidTo .*never restored/,
  );
}, 150_000);
