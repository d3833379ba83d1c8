/**
 * The dual-control gate at its edges: with the default rules (a quorum of 1) it decides without reading
 * anything, so a deployment that never set `approvals` behaves exactly as before; with rules it holds only
 * what they name. The key store here refuses every call: any read would fail the test.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_APPROVAL_RULES, parseApprovalRules } from "../../../lib/domain/approvals.js";
import type { LifecycleDeps } from "../../../lib/lifecycle/ports.js";
import { heldOperation } from "../../../lib/lifecycle/use-cases/approvals-gate.js";

const refusing = new Proxy(
  {},
  {
    get(_target, name) {
      return () => {
        throw new Error(`the gate read the key store (${String(name)})`);
      };
    },
  },
);

function depsWith(approvals: LifecycleDeps["approvals"]): LifecycleDeps {
  return { approvals, keys: refusing } as unknown as LifecycleDeps;
}

describe("heldOperation", () => {
  it.each([
    ["revoke", { kind: "revoke", key: "tk_x" }],
    ["unmanage", { kind: "unmanage", key: "tk_x" }],
    ["rotate", { kind: "rotate", key: "tk_x" }],
    ["policy", { kind: "policy", key: "tk_x", policy: { restoreAfterLoss: false }, paused: true }],
  ] as const)("holds nothing and reads nothing with the default rules: %s", async (_what, request) => {
    await expect(heldOperation(depsWith(undefined), request)).resolves.toBeUndefined();
    await expect(heldOperation(depsWith(DEFAULT_APPROVAL_RULES), request)).resolves.toBeUndefined();
  });

  it("reads nothing for an operation the rules leave at 1 while others need 2", async () => {
    const rules = parseApprovalRules('{"revoke":2}');
    await expect(heldOperation(depsWith(rules), { kind: "unmanage", key: "tk_x" })).resolves.toBeUndefined();
    await expect(heldOperation(depsWith(rules), { kind: "revoke", key: "tk_x" })).rejects.toThrow(
      /read the key store/,
    );
  });
});
