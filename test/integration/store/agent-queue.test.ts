/**
 * The vault agent's queue in the table (lib/vault/agent/agent-queue.ts) against dynalite: a poll (claim) and
 * the health check (oldestPending) read the requests that wait and nothing else — answered (done), withdrawn
 * and expired requests are not read, however many there are. Each Query's items are counted on the client's
 * middleware stack, as DynamoDB returns them.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { DynamoAgentQueue } from "../../../lib/vault/agent/agent-queue.js";
import { clientFor, MINUTE, T0, useStore } from "./support.js";

const store = useStore();
const clients: DynamoDBClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.destroy();
});

interface Reads {
  /** Items each Query returned (ScannedCount: read before any filter). */
  queried: number;
  /** The request ids in those items (a REQ item's `REQ#<id>`, a PENDING item's `id`). */
  ids: Set<string>;
}

const textOf = (v: unknown): string | undefined =>
  typeof v === "string"
    ? v
    : typeof (v as { S?: unknown })?.S === "string"
      ? (v as { S: string }).S
      : undefined;

/** A queue on a client of its own that counts what its Queries read; `failPendingDeletes` drops those deletes. */
async function countingQueue(options: { failPendingDeletes?: () => boolean } = {}) {
  const client = clientFor(store.dynamo);
  clients.push(client);
  const reads: Reads = { queried: 0, ids: new Set() };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = (args as { input: { Key?: { pk?: unknown } } }).input;
      if (
        context.commandName === "DeleteItemCommand" &&
        textOf(input.Key?.pk) === "AGENT#PENDING" &&
        options.failPendingDeletes?.()
      ) {
        throw Object.assign(new Error("injected: the connection dropped"), { name: "NetworkingError" });
      }
      const out = await next(args);
      if (context.commandName === "QueryCommand") {
        const output = out.output as { ScannedCount?: number; Items?: Record<string, unknown>[] };
        reads.queried += output.ScannedCount ?? 0;
        for (const item of output.Items ?? []) {
          const id = textOf(item.id) ?? textOf(item.sk)?.replace(/^REQ#/, "");
          if (id !== undefined) reads.ids.add(id);
        }
      }
      return out;
    },
    { step: "initialize", name: "countReads" },
  );
  const queue = new DynamoAgentQueue({ client, tableName: await store.table() });
  return { queue, reads };
}

const at = (ms: number) => new Date(T0.getTime() + ms);

function request(id: string, issuedMs: number, lifetimeMs: number) {
  return {
    id,
    text: JSON.stringify({ v: 1, id, issuedAt: at(issuedMs).toISOString() }),
    signature: "c2ln",
    signingKeyId: "arn:aws:kms:eu-west-1:111122223333:key/signing",
    expiresAt: at(issuedMs + lifetimeMs),
  };
}

describe("DynamoAgentQueue reads only pending requests", () => {
  it("a poll and the health check read the waiting requests, not the done, withdrawn or expired ones", async () => {
    const { queue, reads } = await countingQueue();
    // 30 done: answered, never withdrawn (an asker that died); 10 withdrawn; 10 expired, never answered.
    for (let i = 0; i < 30; i++) {
      await queue.publish(request(`done-${i}`, 0, 10 * MINUTE));
      expect(await queue.answer(`done-${i}`, "agent-a", '{"op":"has","has":true}', at(1000))).toBe(
        "answered",
      );
    }
    for (let i = 0; i < 10; i++) {
      await queue.publish(request(`gone-${i}`, 0, 10 * MINUTE));
      await queue.withdraw(`gone-${i}`);
    }
    for (let i = 0; i < 10; i++) await queue.publish(request(`expired-${i}`, 0, MINUTE));
    await queue.publish(request("waiting-1", 2 * MINUTE, 5 * MINUTE));
    await queue.publish(request("waiting-2", 3 * MINUTE, 5 * MINUTE));

    const now = at(4 * MINUTE);
    reads.queried = 0;
    reads.ids.clear();
    const claimed = await queue.claim("agent-a", now, 10, 30_000);
    expect(claimed.map((r) => r.id).sort()).toEqual(["waiting-1", "waiting-2"]);
    expect(claimed[0]?.text).toContain('"id":"waiting-1"');
    expect(reads.queried).toBe(2);
    expect([...reads.ids].sort()).toEqual(["waiting-1", "waiting-2"]);

    reads.queried = 0;
    reads.ids.clear();
    expect(await queue.oldestPending(now)).toEqual(at(2 * MINUTE));
    expect(reads.queried).toBe(2);

    // Answered now: the next poll and health check read nothing at all.
    for (const id of ["waiting-1", "waiting-2"]) {
      expect(await queue.answer(id, "agent-a", '{"op":"has","has":false}', now)).toBe("answered");
      expect(await queue.answerOf(id)).toBe('{"op":"has","has":false}');
    }
    reads.queried = 0;
    expect(await queue.claim("agent-b", now, 10, 30_000)).toEqual([]);
    expect(await queue.oldestPending(now)).toBeUndefined();
    expect(reads.queried).toBe(0);
  });

  it("one claim at a time: another agent passes a running claim by and takes it once it lapsed", async () => {
    const { queue } = await countingQueue();
    await queue.publish(request("r1", 0, 10 * MINUTE));
    expect((await queue.claim("agent-a", at(MINUTE), 10, 30_000)).map((r) => r.id)).toEqual(["r1"]);
    expect(await queue.claim("agent-b", at(MINUTE + 10_000), 10, 30_000)).toEqual([]);
    // Its own claim it may take again (an agent that restarted under the same name).
    expect((await queue.claim("agent-a", at(MINUTE + 10_000), 10, 30_000)).map((r) => r.id)).toEqual(["r1"]);
    expect((await queue.claim("agent-b", at(2 * MINUTE), 10, 30_000)).map((r) => r.id)).toEqual(["r1"]);
    expect(await queue.answer("r1", "agent-b", '{"op":"has","has":true}', at(2 * MINUTE))).toBe("answered");
    expect(await queue.answer("r1", "agent-a", '{"op":"has","has":false}', at(2 * MINUTE))).toBe("already");
    expect(await queue.answer("never", "agent-a", '{"op":"has","has":false}', at(2 * MINUTE))).toBe(
      "unknown",
    );
    expect(await queue.answerOf("r1")).toBe('{"op":"has","has":true}');
    // `max` is kept.
    for (const id of ["m1", "m2", "m3"]) await queue.publish(request(id, 0, 10 * MINUTE));
    expect(await queue.claim("agent-a", at(MINUTE), 2, 30_000)).toHaveLength(2);
  });

  it("a pending entry whose delete was lost is read once more, then removed by the claim that finds it done", async () => {
    let failing = true;
    const { queue, reads } = await countingQueue({ failPendingDeletes: () => failing });
    await queue.publish(request("r1", 0, 10 * MINUTE));
    // The answer is recorded; removing its pending entry fails (the connection dropped).
    expect(await queue.answer("r1", "agent-a", '{"op":"has","has":true}', at(MINUTE))).toBe("answered");
    failing = false;
    reads.queried = 0;
    expect(await queue.claim("agent-b", at(MINUTE), 10, 30_000)).toEqual([]);
    expect(reads.queried).toBe(1);
    reads.queried = 0;
    expect(await queue.claim("agent-b", at(MINUTE), 10, 30_000)).toEqual([]);
    expect(reads.queried).toBe(0);
    expect(await queue.answerOf("r1")).toBe('{"op":"has","has":true}');
  });

  it("a publish whose pending entry cannot be written leaves nothing behind", async () => {
    const client = clientFor(store.dynamo);
    clients.push(client);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const item = (args as { input: { Item?: { pk?: unknown } } }).input.Item;
        if (context.commandName === "PutItemCommand" && textOf(item?.pk) === "AGENT#PENDING") {
          throw Object.assign(new Error("injected: the connection dropped"), { name: "NetworkingError" });
        }
        return next(args);
      },
      { step: "initialize", name: "failPendingPut" },
    );
    const queue = new DynamoAgentQueue({ client, tableName: await store.table() });
    await expect(queue.publish(request("r1", 0, 10 * MINUTE))).rejects.toThrow(/connection dropped/);
    // The REQ item is gone too: an answer finds no request.
    expect(await queue.answer("r1", "agent-a", '{"op":"has","has":true}', at(MINUTE))).toBe("unknown");
  });
});
