import { describe, expect, it } from "vitest";
import type { AgentQueue, OperationRequestRepository } from "../../../lib/lifecycle/ports.js";
import { checkAgentHealth, sweepOperationRequests } from "../../../lib/lifecycle/scheduled/sweep-extras.js";
import { memoryWorld } from "./memory-ports.js";

const failing = (what: string) => () => Promise.reject(new Error(`${what} unreachable`));

describe("the sweep's extras never fail the sweep", () => {
  it("an operations store that cannot be read: no report, one error logged", async () => {
    const world = memoryWorld();
    const operations = { open: failing("operations") } as unknown as OperationRequestRepository;
    await expect(sweepOperationRequests({ ...world.deps, operations }, "c-1")).resolves.toBeUndefined();
    expect(world.logs).toEqual(["error operation requests not swept"]);
  });

  it("without dual control's store: an empty report, nothing logged", async () => {
    const world = memoryWorld();
    await expect(sweepOperationRequests(world.deps, "c-1")).resolves.toEqual({
      expired: 0,
      executed: 0,
      unconfirmed: 0,
    });
    expect(world.logs).toEqual([]);
  });

  it("agents whose health cannot be read: undefined (the metric says not healthy), one error logged", async () => {
    const world = memoryWorld();
    const agents = {
      heartbeats: failing("agent queue"),
      oldestPending: failing("agent queue"),
    } as unknown as AgentQueue;
    await expect(checkAgentHealth({ ...world.deps, agents }, "c-1")).resolves.toBeUndefined();
    expect(world.logs).toEqual(["error the vault agents' health could not be checked"]);
  });
});
