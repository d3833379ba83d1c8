/**
 * The vault agent's requests, answers and heartbeats in the deployment's table (the AgentQueue port):
 *   AGENT#REQ   REQ#<id>    a request: its signed text and signature, expiry, claim, and at most one answer
 *   AGENT#HB    <name>      an agent's last heartbeat
 *   AGENT#HB    #ALERTED    the health state the last check alerted on
 * An answer is a conditional write (`attribute_not_exists(answer)`), so several agents serving one deployment
 * answer each request once; a claim is one too, so only one of them wraps it. Requests carry `expiration` (an hour
 * after their expiry: the table's TTL attribute), and the function that asked deletes its request once answered.
 * Nothing here is material: requests hold a public key and references, answers hold sealed wrapped material
 * (lib/vault/agent/seal.ts), a check value or a vault error.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import {
  type AgentHealthState,
  type AgentHeartbeat,
  type AgentWrappings,
  agentWrappingsText,
  parseAgentWrappings,
} from "../../domain/agent-protocol.js";
import type { AgentQueue, PendingAgentRequest } from "../../lifecycle/ports.js";

const REQUESTS_PK = "AGENT#REQ";
const HEARTBEATS_PK = "AGENT#HB";
const ALERTED_SK = "#ALERTED";
const reqSk = (id: string): string => `REQ#${id}`;

type Item = Record<string, unknown>;

function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}

export class DynamoAgentQueue implements AgentQueue {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    this.#doc = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.#table = options.tableName;
  }

  async publish(request: PendingAgentRequest): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          pk: REQUESTS_PK,
          sk: reqSk(request.id),
          text: request.text,
          signature: request.signature,
          signingKeyId: request.signingKeyId,
          expiresAt: request.expiresAt.toISOString(),
          // The table's TTL attribute (infra/table.yml): DynamoDB removes a request its asker never withdrew.
          expiration: Math.floor(request.expiresAt.getTime() / 1000) + 3600,
        },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
  }

  async answerOf(id: string): Promise<string | undefined> {
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: REQUESTS_PK, sk: reqSk(id) },
        ConsistentRead: true,
        ProjectionExpression: "answer",
      }),
    );
    const answer = out.Item?.answer;
    return typeof answer === "string" ? answer : undefined;
  }

  async withdraw(id: string): Promise<void> {
    await this.#doc.send(
      new DeleteCommand({ TableName: this.#table, Key: { pk: REQUESTS_PK, sk: reqSk(id) } }),
    );
  }

  async #requests(): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": REQUESTS_PK },
          ConsistentRead: true,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  async claim(agent: string, now: Date, max: number, claimMs: number): Promise<PendingAgentRequest[]> {
    const nowIso = now.toISOString();
    const open = (await this.#requests()).filter(
      (item) =>
        item.answer === undefined &&
        String(item.expiresAt) > nowIso &&
        (item.claimedUntil === undefined || String(item.claimedUntil) <= nowIso || item.claimedBy === agent),
    );
    const claimed: PendingAgentRequest[] = [];
    for (const item of open) {
      if (claimed.length >= max) break;
      try {
        await this.#doc.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: { pk: REQUESTS_PK, sk: item.sk },
            UpdateExpression: "SET claimedBy = :agent, claimedUntil = :until",
            ConditionExpression:
              "attribute_exists(pk) AND attribute_not_exists(answer) AND (attribute_not_exists(claimedUntil) OR claimedUntil <= :now OR claimedBy = :agent)",
            ExpressionAttributeValues: {
              ":agent": agent,
              ":until": new Date(now.getTime() + claimMs).toISOString(),
              ":now": nowIso,
            },
          }),
        );
      } catch (error) {
        if (isConditionFailed(error)) continue;
        throw error;
      }
      claimed.push({
        id: String(item.sk).slice("REQ#".length),
        text: String(item.text),
        signature: String(item.signature),
        signingKeyId: String(item.signingKeyId),
        expiresAt: new Date(String(item.expiresAt)),
      });
    }
    return claimed;
  }

  async answer(
    id: string,
    agent: string,
    answer: string,
    now: Date,
  ): Promise<"answered" | "already" | "unknown"> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: REQUESTS_PK, sk: reqSk(id) },
          UpdateExpression: "SET answer = :answer, answeredBy = :agent, answeredAt = :now",
          ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(answer)",
          ExpressionAttributeValues: { ":answer": answer, ":agent": agent, ":now": now.toISOString() },
        }),
      );
      return "answered";
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: REQUESTS_PK, sk: reqSk(id) },
        ConsistentRead: true,
      }),
    );
    return out.Item === undefined ? "unknown" : "already";
  }

  async heartbeat(beat: AgentHeartbeat): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          pk: HEARTBEATS_PK,
          sk: beat.name,
          principal: beat.principal,
          lastSeen: beat.lastSeen.toISOString(),
          version: beat.version,
          answered: beat.answered,
          refused: beat.refused,
          wrappings: beat.wrappings === undefined ? undefined : agentWrappingsText(beat.wrappings),
        },
      }),
    );
  }

  async heartbeats(): Promise<AgentHeartbeat[]> {
    const out = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": HEARTBEATS_PK },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? [])
      .filter((item) => item.sk !== ALERTED_SK)
      .map((item) => ({
        name: String(item.sk),
        principal: String(item.principal),
        lastSeen: new Date(String(item.lastSeen)),
        ...(typeof item.version === "string" ? { version: item.version } : {}),
        ...(typeof item.answered === "number" ? { answered: item.answered } : {}),
        ...(typeof item.refused === "number" ? { refused: item.refused } : {}),
        ...(typeof item.wrappings === "string" ? wrappingsOf(item.wrappings) : {}),
      }));
  }

  async oldestPending(now: Date): Promise<Date | undefined> {
    const nowIso = now.toISOString();
    let oldest: Date | undefined;
    for (const item of await this.#requests()) {
      if (item.answer !== undefined || String(item.expiresAt) <= nowIso) continue;
      const issuedAt = issuedAtOf(String(item.text));
      if (issuedAt !== undefined && (oldest === undefined || issuedAt < oldest)) oldest = issuedAt;
    }
    return oldest;
  }

  async alertedState(): Promise<AgentHealthState | undefined> {
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: HEARTBEATS_PK, sk: ALERTED_SK },
        ConsistentRead: true,
      }),
    );
    return out.Item?.state as AgentHealthState | undefined;
  }

  async setAlertedState(state: AgentHealthState, at: Date): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: { pk: HEARTBEATS_PK, sk: ALERTED_SK, state, at: at.toISOString() },
      }),
    );
  }
}

/** A stored heartbeat's wrappings (checked by the API before it was stored; anything else is left out). */
function wrappingsOf(text: string): { wrappings?: AgentWrappings } {
  try {
    return { wrappings: parseAgentWrappings(text) };
  } catch {
    return {};
  }
}

function issuedAtOf(text: string): Date | undefined {
  try {
    const issued = (JSON.parse(text) as { issuedAt?: unknown }).issuedAt;
    return typeof issued === "string" ? new Date(issued) : undefined;
  } catch {
    return undefined;
  }
}
