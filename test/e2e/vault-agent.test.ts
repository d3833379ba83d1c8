/**
 * `vault: agent` over the local stack (docs/agent.md): the functions hold no material and no way into the
 * vault; agents poll the API over HTTP with their own identity, verify each signed request, wrap with the
 * local file vault and answer. Renewal, restore after expiry and after a regional loss, in-key rotation and a
 * key swap through the agent; forged, expired and replayed requests refused; two agents, each request wrapped
 * once; the agents down past a renewal window → an alert, then recovery.
 */
import { generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  type KMSClient,
  SignCommand,
} from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_SERVICE_CREDENTIALS, type LocalStack } from "../../infra/local/runner/index.js";
import { localAgent } from "../../infra/local/runner/local-agent.js";
import type { VaultAgent } from "../../lib/agent/agent.js";
import type {
  HistoryResponse,
  KeyActionResponse,
  RotateResponse,
  SentinelsResponse,
} from "../../lib/api/schemas.js";
import { agentRequestText } from "../../lib/domain/agent-protocol.js";
import { DynamoAgentQueue } from "../../lib/vault/agent/agent-queue.js";
import { ADMIN, E2E_STACK_START_MS, READER, stackKmsClient, startE2eStack } from "../support/e2e-stack.js";
import { signedFetch } from "./support.js";

const HOUR = 3_600_000;
let stack: LocalStack;
let kms: KMSClient;
let queue: DynamoAgentQueue;
let dir: string;
const reports: string[] = [];
const running = new Map<string, { agent: VaultAgent; stop: () => Promise<void>; logFile: string }>();

async function startAgent(name: string): Promise<VaultAgent> {
  const setup = stack.agent;
  if (setup === undefined) throw new Error("the stack runs without the agent");
  const logFile = join(dir, `${name}.log`);
  const agent = await localAgent(setup, {
    apiUrl: stack.apiUrl,
    region: stack.region,
    regions: stack.regions,
    deployment: process.env.TETHER_DEPLOYMENT as string,
    logFile,
    name,
    report: (line) => reports.push(`${name}: ${line}`),
    clock: () => new Date(Date.now() + stack.localAws.kms.clockOffsetMs()),
  });
  const controller = new AbortController();
  const loop = agent.run(controller.signal, 100);
  running.set(name, {
    agent,
    logFile,
    stop: async () => {
      controller.abort();
      await loop;
      running.delete(name);
    },
  });
  return agent;
}

async function stopAgents(): Promise<void> {
  for (const { stop } of [...running.values()]) await stop();
}

interface LogEntry {
  at: string;
  id: string;
  op: string;
  outcome: string;
  refusal?: string;
  keyArn?: string;
  materialRef?: string;
}

async function logEntries(name: string): Promise<LogEntry[]> {
  const text = await readFile(join(dir, `${name}.log`), "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line));
}

async function allLogEntries(): Promise<LogEntry[]> {
  return (await Promise.all([...running.keys()].map((name) => logEntries(name))))
    .flat()
    .sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
}

async function register(ref: string, policy: Record<string, string>): Promise<KeyActionResponse["key"]> {
  const answer = await signedFetch(stack.apiUrl, {
    method: "POST",
    path: "/keys",
    credentials: ADMIN,
    body: {
      mode: "create",
      region: stack.region,
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: ref,
      generateMaterial: true,
      policy,
    },
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return (answer.body as KeyActionResponse).key;
}

async function describe_(keyArn: string) {
  return (await kms.send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata;
}

function alerts(reason: string) {
  return stack.localAws.events
    .events(stack.auditBusName)
    .filter((e) => e["detail-type"] === "Tether Alert" && e.detail.reasonCode === reason);
}

beforeAll(async () => {
  // A short wait for an agent's answer, so the "agents down" case costs seconds, not the default 20.
  process.env.TETHER_AGENT_TIMEOUT_SECONDS = "3";
  process.env.TETHER_AGENT_POLL_MS = "50";
  dir = await mkdtemp(join(tmpdir(), "tether-agent-e2e-"));
  stack = await startE2eStack({ agent: { start: false } });
  kms = stackKmsClient(stack);
  queue = new DynamoAgentQueue({
    client: new DynamoDBClient({
      endpoint: stack.endpoints.dynamodb,
      region: stack.region,
      credentials: LOCAL_SERVICE_CREDENTIALS,
    }),
    tableName: stack.tableName,
  });
}, E2E_STACK_START_MS);

afterAll(async () => {
  if (process.env.TETHER_AGENT_TEST_DEBUG) console.error(reports.join("\n"));
  await stopAgents();
  await stack?.localAws.kms.admin.setClockOffset(0);
  kms?.destroy();
  await stack?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("vault: agent", () => {
  it("the functions hold no file vault: no passphrase or directory in their environment", () => {
    expect(process.env.TETHER_VAULT).toBe("agent");
    expect(process.env.TETHER_FILE_VAULT_PASSPHRASE).toBeUndefined();
    expect(stack.agent?.publicKeyPem).toMatch(/BEGIN PUBLIC KEY/);
  });

  it("registers, renews and restores after expiry through one agent; two agents wrap each request once", async () => {
    await startAgent("agent-a");
    await startAgent("agent-b");
    // The first sweep makes the sentinels (their material generated and wrapped by the agents) outside an API
    // call, whose 29 s the loaded test machine would otherwise spend on them.
    await stack.sweepNow();
    const key = await register(`test/agent-${Date.now()}`, { validityPeriod: "PT1H", renewBefore: "PT10M" });
    expect((await describe_(key.keyArn))?.KeyState).toBe("Enabled");
    const ciphertext = (
      await kms.send(new EncryptCommand({ KeyId: key.keyArn, Plaintext: Buffer.from("x") }))
    ).CiphertextBlob;

    // Renewal: an operator's reimport goes through the agent too.
    const reimported = await signedFetch(stack.apiUrl, {
      method: "POST",
      path: `/keys/${key.id}/reimport`,
      credentials: ADMIN,
      body: {},
    });
    expect(reimported.status, JSON.stringify(reimported.body)).toBe(200);

    // Restore after expiry: two hours on, KMS deleted the material; the sweep restores it through the agent.
    const moved = await stack.localAws.kms.admin.advanceClock(2 * HOUR);
    const deadline = Date.now() + 30_000;
    let metadata = await describe_(key.keyArn);
    while (
      Date.now() < deadline &&
      !(metadata?.KeyState === "Enabled" && (metadata.ValidTo?.getTime() ?? 0) > moved.epochMs)
    ) {
      const report = await stack.sweepNow();
      if (process.env.TETHER_AGENT_TEST_DEBUG) console.error(JSON.stringify(report));
      metadata = await describe_(key.keyArn);
    }
    expect(metadata?.KeyState).toBe("Enabled");
    expect(metadata?.ValidTo?.getTime()).toBeGreaterThan(moved.epochMs);
    await kms.send(new DecryptCommand({ KeyId: key.keyArn, CiphertextBlob: ciphertext }));

    // Each request was accepted (and wrapped) by exactly one of the two agents, and both took some work.
    const a = (await logEntries("agent-a")).filter((e) => e.outcome === "accepted");
    const b = (await logEntries("agent-b")).filter((e) => e.outcome === "accepted");
    const ids = [...a, ...b].map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...a, ...b].filter((e) => e.op === "wrap").length).toBeGreaterThanOrEqual(3);
    const health = await signedFetch(stack.apiUrl, {
      method: "GET",
      path: "/agent/health",
      credentials: READER,
    });
    expect(health.status).toBe(200);
    expect((health.body as { state: string; agents: unknown[] }).state).toBe("healthy");
    expect((health.body as { agents: unknown[] }).agents).toHaveLength(2);
  }, 120_000);

  it("rotates a key's material in place through the agent (new material generated and wrapped there)", async () => {
    const key = await register(`test/rotate-${Date.now()}`, { validityPeriod: "P30D" });
    const rotated = await signedFetch(stack.apiUrl, {
      method: "POST",
      path: `/keys/${key.id}/rotate`,
      credentials: ADMIN,
      body: { reason: "yearly, through the agent" },
    });
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    const body = rotated.body as {
      rotations: number;
      materials?: { state: string }[];
      key: { materialRef: string };
    };
    expect(body.rotations).toBe(1);
    expect(body.materials?.map((m) => m.state)).toEqual(["NON_CURRENT", "CURRENT"]);
    expect(body.key.materialRef).toBe(`${key.materialRef}/r2`);
    const generated = [...(await logEntries("agent-a")), ...(await logEntries("agent-b"))].filter(
      (e) => e.op === "generate" && e.outcome === "answered",
    );
    expect(generated.length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it("swaps a key through the agent: the new key's material wrapped by the agent, the old key still decrypts", async () => {
    const alias = `alias/agent-swap-${Date.now()}`;
    const answer = await signedFetch(stack.apiUrl, {
      method: "POST",
      path: "/keys",
      credentials: ADMIN,
      body: {
        mode: "create",
        region: stack.region,
        keySpec: "SYMMETRIC_DEFAULT",
        materialRef: `test/swap-${Date.now()}`,
        generateMaterial: true,
        alias,
        policy: { validityPeriod: "P30D", rotationMethod: "key-swap" },
      },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    const old = (answer.body as KeyActionResponse).key;
    const before = (await kms.send(new EncryptCommand({ KeyId: alias, Plaintext: Buffer.from("old") })))
      .CiphertextBlob as Uint8Array;
    const wrapsBefore = (await allLogEntries()).length;

    const swapped = await signedFetch(stack.apiUrl, {
      method: "POST",
      path: `/keys/${old.id}/rotate`,
      credentials: ADMIN,
      body: { reason: "key swap, through the agent" },
    });
    expect(swapped.status, JSON.stringify(swapped.body)).toBe(200);
    const body = swapped.body as RotateResponse;
    expect(body.method).toBe("key-swap");
    const successor = body.successor;
    if (successor === undefined) throw new Error("a key swap answered no successor");
    expect(successor.keyArn).not.toBe(old.keyArn);
    expect(successor.materialRef).toBe(`${old.materialRef}/s2`);
    expect(body.key).toMatchObject({ id: old.id, supersededBy: successor.id });

    // The new key's material was generated and wrapped by an agent, for the new key's ARN: the functions
    // hold no vault (the first test), so no other path could have imported it.
    const since = (await allLogEntries()).slice(wrapsBefore);
    const forNew = since.filter((e) => e.keyArn === successor.keyArn && e.op === "wrap");
    expect(forNew.map((e) => e.outcome)).toEqual(expect.arrayContaining(["accepted", "answered"]));
    expect(since.some((e) => e.op === "generate" && e.materialRef === successor.materialRef)).toBe(true);
    expect(await describe_(successor.keyArn)).toMatchObject({ KeyState: "Enabled", Origin: "EXTERNAL" });

    // The alias now names the new key; the old key (superseded, still managed) decrypts what it made.
    const after = await kms.send(new EncryptCommand({ KeyId: alias, Plaintext: Buffer.from("new") }));
    expect(after.KeyId).toBe(successor.keyArn);
    const decrypted = await kms.send(new DecryptCommand({ KeyId: old.keyArn, CiphertextBlob: before }));
    expect(Buffer.from(decrypted.Plaintext as Uint8Array).toString()).toBe("old");
    expect((await describe_(old.keyArn))?.KeyState).toBe("Enabled");

    // Audit: the swap on the old key's history, the new key's import on its own.
    const history = async (id: string) =>
      (
        (await signedFetch(stack.apiUrl, { method: "GET", path: `/keys/${id}/history`, credentials: READER }))
          .body as HistoryResponse
      ).items.map((e) => e.detailType);
    expect(await history(old.id)).toContain("Key Swapped");
    expect((await history(successor.id)).length).toBeGreaterThan(0);
  }, 60_000);

  it("restores every key through the agent after a regional loss: the probe opens the incident, the sweep closes it", async () => {
    const region = stack.region;
    const key = await register(`test/loss-${Date.now()}`, { validityPeriod: "P30D" });
    const ciphertext = (
      await kms.send(new EncryptCommand({ KeyId: key.keyArn, Plaintext: Buffer.from("before the loss") }))
    ).CiphertextBlob as Uint8Array;
    const sentinels = async () =>
      (
        (await signedFetch(stack.apiUrl, { method: "GET", path: "/sentinels", credentials: READER }))
          .body as SentinelsResponse
      ).items.find((s) => s.region === region);
    expect((await sentinels())?.state).toBe("ready");
    expect((await sentinels())?.incident).toBeUndefined();
    const logBefore = (await allLogEntries()).length;

    // The Region loses every imported material (the sentinel's and the key's); a minute on, the probe sees it.
    const lost = await stack.localAws.kms.admin.loseRegion(region);
    expect(lost).toContain(key.keyArn.split("/")[1]);
    expect((await describe_(key.keyArn))?.KeyState).toBe("PendingImport");
    await stack.localAws.kms.admin.advanceClock(60_000);
    await stack.runSchedule("probe");
    expect((await sentinels())?.incident).toBeDefined();
    expect(alerts("REGIONAL_LOSS_DETECTED").filter((e) => e.detail.region === region)).toHaveLength(1);

    // The sweep restores every key of the Region through the agent, and closes the incident.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await sentinels())?.incident !== undefined) await stack.sweepNow();
    expect((await sentinels())?.incident).toBeUndefined();
    expect((await describe_(key.keyArn))?.KeyState).toBe("Enabled");
    const sentinelArn = (await sentinels())?.keyArn as string;
    expect((await describe_(sentinelArn))?.KeyState).toBe("Enabled");
    const decrypted = await kms.send(new DecryptCommand({ KeyId: key.keyArn, CiphertextBlob: ciphertext }));
    expect(Buffer.from(decrypted.Plaintext as Uint8Array).toString()).toBe("before the loss");

    // Both materials were wrapped by an agent after the loss, for their own key ARNs.
    const since = (await allLogEntries()).slice(logBefore);
    for (const arn of [key.keyArn, sentinelArn]) {
      expect(since.filter((e) => e.keyArn === arn && e.op === "wrap").map((e) => e.outcome)).toEqual(
        expect.arrayContaining(["accepted", "answered"]),
      );
    }
    const audit = stack.localAws.events.events(stack.auditBusName);
    expect(
      audit.filter((e) => e["detail-type"] === "Key Material Restored" && e.detail.keyId === key.id),
    ).toHaveLength(1);
    const recovered = audit.filter(
      (e) => e["detail-type"] === "Regional Loss Recovered" && e.detail.region === region,
    );
    expect(recovered).toHaveLength(1);
    expect(recovered[0]?.detail).toMatchObject({ keysNotRestored: 0 });
  }, 90_000);

  it("refuses forged, expired and replayed requests, answering the refusal", async () => {
    await stopAgents();
    const base = {
      v: 1 as const,
      op: "checkValue" as const,
      deployment: process.env.TETHER_DEPLOYMENT as string,
      materialRef: "demo/payments",
    };
    const now = Date.now() + stack.localAws.kms.clockOffsetMs();
    const fresh = { issuedAt: new Date(now).toISOString(), expiresAt: new Date(now + 60_000).toISOString() };
    const kmsSign = async (text: string) =>
      Buffer.from(
        (
          await kms.send(
            new SignCommand({
              KeyId: stack.agent?.signingKeyArn,
              Message: Buffer.from(text),
              MessageType: "RAW",
              SigningAlgorithm: "RSASSA_PKCS1_V1_5_SHA_256",
            }),
          )
        ).Signature as Uint8Array,
      ).toString("base64");
    const publish = async (id: string, text: string, signature: string) =>
      queue.publish({ id, text, signature, signingKeyId: "k", expiresAt: new Date(now + 60_000) });

    // Forged: a well-formed request signed with a key that is not the deployment's.
    const forgedId = randomUUID();
    const forgedText = agentRequestText({ ...base, id: forgedId, ...fresh });
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
    await publish(
      forgedId,
      forgedText,
      sign("sha256", Buffer.from(forgedText), other.privateKey).toString("base64"),
    );
    // Expired: signed by the deployment's key, but its validity ended (the queue still hands it out: the
    // agent must not trust the queue's own expiry).
    const expiredId = randomUUID();
    const expiredText = agentRequestText({
      ...base,
      id: expiredId,
      issuedAt: new Date(now - 120_000).toISOString(),
      expiresAt: new Date(now - 60_000).toISOString(),
    });
    await publish(expiredId, expiredText, await kmsSign(expiredText));
    // Replayed: a genuine request an agent already served, put back as it was.
    const replayId = randomUUID();
    const replayText = agentRequestText({ ...base, id: replayId, ...fresh });
    const replaySignature = await kmsSign(replayText);
    await publish(replayId, replayText, replaySignature);

    const agent = await startAgent("agent-c");
    await running.get("agent-c")?.stop();
    expect(agent.counts.refused).toBeGreaterThanOrEqual(2);
    const answer = async (id: string) => JSON.parse((await queue.answerOf(id)) ?? "null");
    expect(await answer(forgedId)).toMatchObject({ op: "error", code: "Refused", refusal: "FORGED" });
    expect(await answer(expiredId)).toMatchObject({ op: "error", code: "Refused", refusal: "EXPIRED" });
    expect(await answer(replayId)).toMatchObject({ op: "checkValue" });

    await queue.withdraw(replayId);
    await publish(replayId, replayText, replaySignature);
    await agent.pollOnce();
    expect(await answer(replayId)).toMatchObject({ op: "error", code: "Refused", refusal: "REPLAYED" });
    const log = await logEntries("agent-c");
    expect(log.filter((e) => e.id === replayId).map((e) => e.outcome)).toEqual([
      "accepted",
      "answered",
      "refused",
    ]);
    for (const id of [forgedId, expiredId, replayId]) await queue.withdraw(id);
  }, 60_000);

  it("agents down past a renewal window: the renewal waits, one alert; when one returns, renewal and a recovery notice", async () => {
    await stopAgents();
    await startAgent("agent-d");
    const key = await register(`test/down-${Date.now()}`, { validityPeriod: "PT6H", renewBefore: "PT1H" });
    const before = (await describe_(key.keyArn))?.ValidTo?.getTime() ?? 0;
    await stack.sweepNow();
    await stopAgents();

    // Into the renewal window (5 h 10 min on): the agents are gone, so the renewal cannot be wrapped.
    await stack.localAws.kms.admin.advanceClock(5 * HOUR + 10 * 60_000);
    await stack.sweepNow();
    expect((await describe_(key.keyArn))?.ValidTo?.getTime()).toBe(before);
    expect(alerts("VAULT_AGENT_UNAVAILABLE")).toHaveLength(1);
    const down = await signedFetch(stack.apiUrl, {
      method: "GET",
      path: "/agent/health",
      credentials: READER,
    });
    expect((down.body as { state: string }).state).toBe("down");
    await stack.sweepNow();
    expect(alerts("VAULT_AGENT_UNAVAILABLE")).toHaveLength(1);

    // An agent returns; past the failed renewal's retry delay, still before expiry, the sweep renews.
    await startAgent("agent-e");
    await stack.localAws.kms.admin.advanceClock(20 * 60_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const deadline = Date.now() + 30_000;
    let validTo = before;
    while (Date.now() < deadline && validTo <= before) {
      await stack.sweepNow();
      validTo = (await describe_(key.keyArn))?.ValidTo?.getTime() ?? 0;
    }
    expect(validTo).toBeGreaterThan(before);
    expect((await describe_(key.keyArn))?.KeyState).toBe("Enabled");
    expect(alerts("VAULT_AGENT_RECOVERED")).toHaveLength(1);
  }, 120_000);

  it("only agents may poll or answer: an admin is refused", async () => {
    const polled = await signedFetch(stack.apiUrl, {
      method: "GET",
      path: "/agent/requests?agent=admin",
      credentials: ADMIN,
    });
    expect(polled.status).toBe(403);
    const answered = await signedFetch(stack.apiUrl, {
      method: "POST",
      path: `/agent/requests/${randomUUID()}/answer`,
      credentials: ADMIN,
      body: { agent: "x", answer: { op: "has", has: true } },
    });
    expect(answered.status).toBe(403);
  });
});
