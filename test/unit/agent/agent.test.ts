/**
 * The agent's pieces without AWS: sealing (only the asking key opens, bound to the request id), the log as a
 * replay store across restarts, the agent's answers from a backend, and the agent vault's mapping of answers
 * back to the Vault port's errors (an in-memory queue stands in for the table; the e2e test uses the real one).
 */
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePublicKey, VaultAgent } from "../../../lib/agent/agent.js";
import { AgentLog } from "../../../lib/agent/agent-log.js";
import {
  type AgentHeartbeat,
  agentRequestText,
  parseAgentRequest,
  replayWindowMs,
} from "../../../lib/domain/agent-protocol.js";
import type { AgentQueue, PendingAgentRequest, Vault } from "../../../lib/lifecycle/ports.js";
import { AgentVault } from "../../../lib/vault/agent/agent-vault.js";
import { newAnswerKey, open, seal } from "../../../lib/vault/agent/seal.js";
import { MaterialNotFoundError, VaultLockedError } from "../../../lib/vault/errors.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tether-agent-unit-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("sealing", () => {
  it("opens only with the answer key, for the same request id, unaltered", () => {
    const wrapped = randomBytes(256);
    const key = newAnswerKey();
    const sealed = seal(wrapped, key.publicKey, "req-1");
    expect(Buffer.from(open(sealed, key.privateKey, "req-1"))).toEqual(wrapped);
    expect(Buffer.from(sealed, "base64").includes(wrapped.subarray(0, 16))).toBe(false);
    expect(() => open(sealed, newAnswerKey().privateKey, "req-1")).toThrow();
    expect(() => open(sealed, key.privateKey, "req-2")).toThrow();
    const altered = Buffer.from(sealed, "base64");
    altered[altered.length - 1] = (altered[altered.length - 1] ?? 0) ^ 1;
    expect(() => open(altered.toString("base64"), key.privateKey, "req-1")).toThrow();
  });
});

describe("the agent's log", () => {
  const T0 = new Date("2026-12-05T00:00:00Z");
  const later = (ms: number) => new Date(T0.getTime() + ms);

  it("remembers every id across a restart, and survives a torn last line", async () => {
    const file = join(dir, "log", "agent.log");
    const log = await AgentLog.open(file);
    await log.append({ at: T0.toISOString(), id: "a", op: "wrap", outcome: "accepted" });
    expect(log.seen("a", T0)).toBe(true);
    const { appendFile } = await import("node:fs/promises");
    await appendFile(file, '{"id":"tor');
    const reopened = await AgentLog.open(file);
    expect(reopened.seen("a", T0)).toBe(true);
    expect(reopened.seen("b", T0)).toBe(false);
  });

  it("keeps an id for the replay window only, so its memory stays bounded; the file keeps everything", async () => {
    const policy = { maxLifetimeMs: 15 * 60_000, clockSkewMs: 60_000 };
    const window = replayWindowMs(policy);
    expect(window).toBe(17 * 60_000);
    const file = join(dir, "window", "agent.log");
    const log = await AgentLog.open(file, window);
    for (let i = 0; i < 1000; i++) {
      await log.append({ at: later(i * 1000).toISOString(), id: `r${i}`, op: "wrap", outcome: "accepted" });
    }
    expect(log.seen("r0", later(window - 1))).toBe(true);
    expect(log.seen("r0", later(window + 2000))).toBe(false);
    expect(log.remembered).toBeLessThan(1000);
    expect(log.seen("r999", later(window + 2000))).toBe(true);
    // Reopened long after: nothing left in memory (a replay then is refused as expired: replayWindowMs).
    const reopened = await AgentLog.open(file, window);
    expect(reopened.seen("r999", later(999_000 + window + 2000))).toBe(false);
    expect((await readFile(file, "utf8")).trim().split("\n")).toHaveLength(1000);
  });

  it("opens a long log a line at a time, keeping only the window's ids (given the agent's clock)", async () => {
    const window = 17 * 60_000;
    const file = join(dir, "long", "agent.log");
    const { appendFile, mkdir } = await import("node:fs/promises");
    await mkdir(join(dir, "long"), { recursive: true });
    // 20,000 requests of last month, then three of the last minutes, one with a time it cannot read.
    const old = Array.from({ length: 20_000 }, (_, i) =>
      JSON.stringify({
        at: later(-30 * 86_400_000 + i * 1000).toISOString(),
        id: `old-${i}`,
        op: "wrap",
        outcome: "answered",
      }),
    );
    const recent = [
      { at: later(-60_000).toISOString(), id: "new-1", op: "wrap", outcome: "answered" },
      { at: later(-1000).toISOString(), id: "new-2", op: "checkValue", outcome: "accepted" },
      { at: "not a time", id: "odd", op: "?", outcome: "refused" },
    ].map((entry) => JSON.stringify(entry));
    await appendFile(file, `${[...old, ...recent].join("\n")}\n`);
    const log = await AgentLog.open(file, window, T0);
    expect(log.remembered).toBe(3);
    expect(log.seen("new-1", T0)).toBe(true);
    expect(log.seen("odd", T0)).toBe(true);
    expect(log.seen("old-19999", T0)).toBe(false);
    // Without the clock, every id is read (and the first `seen` forgets the old ones).
    const unclocked = await AgentLog.open(file, window);
    expect(unclocked.remembered).toBe(20_003);
    expect(unclocked.seen("new-2", T0)).toBe(true);
    expect(unclocked.remembered).toBe(3);
  });
});

/** An in-memory AgentQueue with an agent behind it answering from `backend`. */
function memoryQueue(): AgentQueue & { items: Map<string, PendingAgentRequest & { answer?: string }> } {
  const items = new Map<string, PendingAgentRequest & { answer?: string }>();
  const beats: AgentHeartbeat[] = [];
  return {
    items,
    publish: async (r) => void items.set(r.id, { ...r }),
    answerOf: async (id) => items.get(id)?.answer,
    withdraw: async (id) => void items.delete(id),
    claim: async (_agent, _now, max) =>
      [...items.values()].filter((i) => i.answer === undefined).slice(0, max),
    answer: async (id, _agent, answer) => {
      const item = items.get(id);
      if (item === undefined) return "unknown";
      if (item.answer !== undefined) return "already";
      item.answer = answer;
      return "answered";
    },
    heartbeat: async (b) => void beats.push(b),
    heartbeats: async () => beats,
    oldestPending: async () => undefined,
    alertedState: async () => undefined,
    setAlertedState: async () => undefined,
  };
}

describe("agent and agent vault, end to end in memory", () => {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const signer = {
    keyId: "test",
    sign: async (text: string) => sign("sha256", Buffer.from(text), privateKey).toString("base64"),
  };
  const backend: Vault = {
    kind: "memory",
    wrap: async () => new Uint8Array([1, 2, 3, 4]),
    checkValue: async (ref) => {
      if (ref === "payments/missing") throw new MaterialNotFoundError(ref);
      return "cv-1";
    },
    generate: async () => ({ checkValue: "cv-new" }),
    has: async () => true,
    describe: async () => ({ keySpecs: ["SYMMETRIC_DEFAULT"] }),
  };

  async function pair(timeoutMs = 2_000) {
    const queue = memoryQueue();
    const agent = new VaultAgent({
      api: {
        request: async (method, path, options) => {
          if (method === "GET") return { requests: await queue.claim("a", new Date(), 10, 1) };
          const id = decodeURIComponent(path.split("/")[3] ?? "");
          await queue.answer(
            id,
            "a",
            JSON.stringify((options?.body as { answer: unknown } | undefined)?.answer),
            new Date(),
          );
          return {};
        },
      },
      name: "a",
      backend,
      publicKeys: [parsePublicKey(publicKey.export({ type: "spki", format: "pem" }).toString())],
      policy: {
        deployments: ["d"],
        materialPrefixes: ["payments"],
        accounts: ["111122223333"],
        regions: ["eu-west-1"],
        maxLifetimeMs: 60_000,
        clockSkewMs: 1_000,
      },
      log: await AgentLog.open(join(dir, `${Math.random()}.log`)),
    });
    const vault = new AgentVault({ queue, signer, deployment: "d", timeoutMs, pollMs: 5 });
    const controller = new AbortController();
    const running = agent.run(controller.signal, 5);
    return {
      queue,
      agent,
      vault,
      stop: async () => {
        controller.abort();
        await running;
      },
    };
  }

  it("wraps for a key and answers the check value; nothing in the queue is the wrapped bytes", async () => {
    const { vault, queue, stop } = await pair();
    const published: string[] = [];
    const publish = queue.publish;
    queue.publish = async (r) => {
      published.push(r.text);
      await publish(r);
    };
    try {
      const answer = await vault.wrapFor({
        materialRef: "payments/k1",
        publicKeyDer: new Uint8Array([9, 9]),
        algorithm: "RSAES_OAEP_SHA_256",
        keyArn: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        region: "eu-west-1" as never,
        keySpec: "SYMMETRIC_DEFAULT",
      });
      expect([...answer.wrapped]).toEqual([1, 2, 3, 4]);
      expect(answer.checkValue).toBe("cv-1");
      const request = parseAgentRequest(published[0] ?? "");
      expect(request).not.toHaveProperty("importToken");
      expect(agentRequestText(request)).toBe(published[0]);
      expect(queue.items.size).toBe(0);
      expect(await vault.checkValue("payments/k1")).toBe("cv-1");
    } finally {
      await stop();
    }
  });

  it("turns the backend's error into the Vault port's, a refusal into a VaultError, and silence into VaultLockedError", async () => {
    const { vault, stop } = await pair(300);
    try {
      await expect(vault.checkValue("payments/missing")).rejects.toBeInstanceOf(MaterialNotFoundError);
      await expect(vault.checkValue("hr/secret")).rejects.toThrow(/MATERIAL_NOT_ALLOWED/);
      await expect(vault.wrap("payments/k1")).rejects.toThrow(/wrapFor/);
    } finally {
      await stop();
    }
    await expect(vault.has("payments/k1")).rejects.toBeInstanceOf(VaultLockedError);
  });
});
