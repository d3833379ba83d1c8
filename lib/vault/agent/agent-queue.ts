/**
 * The vault agent's requests, answers and heartbeats in the deployment's table (the AgentQueue port):
 *   AGENT#REQ      REQ#<id>               a request: its expiry, claim, and at most one answer
 *   AGENT#PENDING  <expiresAt>#<id>       the same request while it waits: its signed text and signature
 *   AGENT#HB       <name>                 an agent's last heartbeat
 *   AGENT#HB       #ALERTED               the health state the last check alerted on
 * An answer is a conditional write (`attribute_not_exists(answer)`), so several agents serving one deployment
 * answer each request once; a claim is one too, so only one of them wraps it. Both are on the REQ item, which
 * the asker reads by id.
 *
 * The PENDING partition is what a poll reads: a Query with `sk > <now>` there reads the requests that wait and
 * have not expired, and nothing else. A request's PENDING item is put after its REQ item and deleted once it is
 * answered or withdrawn, so answered (done) requests are not read by a poll however long they stay (an asker
 * that died never withdraws), and expired ones are past the key condition. A PENDING item whose delete was lost
 * (a crash between the answer and the delete) is read until its request expires (at most the request's
 * lifetime); a claim finds its REQ item answered or gone and deletes it then.
 *
 * Both carry `expiration` (an hour after the request's expiry: the table's TTL attribute), and the function that
 * asked deletes its request once answered. Nothing here is material: requests hold a public key and references,
 * answers hold sealed wrapped material (lib/vault/agent/seal.ts), a check value or a vault error.
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
const PENDING_PK = "AGENT#PENDING";
const HEARTBEATS_PK = "AGENT#HB";
const ALERTED_SK = "#ALERTED";
const reqSk = (id: string): string => `REQ#${id}`;
/** ISO 8601 UTC times (toISOString) sort as text, so the expiry first orders the waiting requests by it. */
const pendingSk = (expiresAtIso: string, id: string): string => `${expiresAtIso}#${id}`;
/**
 * The lower bound (exclusive) of the PENDING sort keys still unexpired at `now`: `<now>#~` is above every
 * `<now>#<id>` (an id's characters sort below `~`), so a request expiring at `now` exactly is out, as before.
 */
const unexpiredAfter = (now: Date): string => `${now.toISOString()}#~`;

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

  /** Puts the REQ item, then the PENDING one (a failure removes the REQ item again: nothing half-written). */
  async publish(request: PendingAgentRequest): Promise<void> {
    const expiresAt = request.expiresAt.toISOString();
    // The table's TTL attribute (infra/table.yml): DynamoDB removes a request its asker never withdrew.
    const expiration = Math.floor(request.expiresAt.getTime() / 1000) + 3600;
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          pk: REQUESTS_PK,
          sk: reqSk(request.id),
          signingKeyId: request.signingKeyId,
          expiresAt,
          expiration,
        },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: PENDING_PK,
            sk: pendingSk(expiresAt, request.id),
            id: request.id,
            text: request.text,
            signature: request.signature,
            signingKeyId: request.signingKeyId,
            issuedAt: issuedAtOf(request.text)?.toISOString(),
            expiresAt,
            expiration,
          },
        }),
      );
    } catch (error) {
      await this.#deleteRequest(request.id).catch(() => undefined);
      throw error;
    }
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
    const old = await this.#deleteRequest(id);
    if (typeof old?.expiresAt === "string") await this.#dropPending(old.expiresAt, id);
  }

  async #deleteRequest(id: string): Promise<Item | undefined> {
    const out = await this.#doc.send(
      new DeleteCommand({
        TableName: this.#table,
        Key: { pk: REQUESTS_PK, sk: reqSk(id) },
        ReturnValues: "ALL_OLD",
      }),
    );
    return out.Attributes;
  }

  async #dropPending(expiresAtIso: string, id: string): Promise<void> {
    await this.#doc.send(
      new DeleteCommand({ TableName: this.#table, Key: { pk: PENDING_PK, sk: pendingSk(expiresAtIso, id) } }),
    );
  }

  /** The waiting, unexpired requests (the PENDING partition above `now`), a page at a time. */
  async *#pending(now: Date): AsyncGenerator<Item> {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: "pk = :pk AND sk > :after",
          ExpressionAttributeValues: { ":pk": PENDING_PK, ":after": unexpiredAfter(now) },
          ConsistentRead: true,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      yield* out.Items ?? [];
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
  }

  async claim(agent: string, now: Date, max: number, claimMs: number): Promise<PendingAgentRequest[]> {
    const nowIso = now.toISOString();
    const claimed: PendingAgentRequest[] = [];
    if (max <= 0) return claimed;
    for await (const item of this.#pending(now)) {
      // Another agent's claim that still runs (as its claim left it on the PENDING item): not ours to try.
      if (item.claimedBy !== agent && item.claimedUntil !== undefined && String(item.claimedUntil) > nowIso) {
        continue;
      }
      if (!(await this.#claimOne(item, agent, now, claimMs))) continue;
      claimed.push({
        id: String(item.id),
        text: String(item.text),
        signature: String(item.signature),
        signingKeyId: String(item.signingKeyId),
        expiresAt: new Date(String(item.expiresAt)),
      });
      if (claimed.length >= max) break;
    }
    return claimed;
  }

  /**
   * Claims one request on its REQ item (conditional write), then notes the claim on its PENDING item so other
   * agents' polls pass it by. A claim refused because the request is answered or withdrawn removes the PENDING
   * item its answer or withdrawal did not (a crash between the two writes).
   */
  async #claimOne(item: Item, agent: string, now: Date, claimMs: number): Promise<boolean> {
    const id = String(item.id);
    const until = new Date(now.getTime() + claimMs).toISOString();
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: REQUESTS_PK, sk: reqSk(id) },
          UpdateExpression: "SET claimedBy = :agent, claimedUntil = :until",
          ConditionExpression:
            "attribute_exists(pk) AND attribute_not_exists(answer) AND (attribute_not_exists(claimedUntil) OR claimedUntil <= :now OR claimedBy = :agent)",
          ExpressionAttributeValues: { ":agent": agent, ":until": until, ":now": now.toISOString() },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      const out = await this.#doc.send(
        new GetCommand({
          TableName: this.#table,
          Key: { pk: REQUESTS_PK, sk: reqSk(id) },
          ConsistentRead: true,
          ProjectionExpression: "answer",
        }),
      );
      if (out.Item === undefined || out.Item.answer !== undefined) {
        await this.#dropPending(String(item.expiresAt), id);
      }
      return false;
    }
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: PENDING_PK, sk: item.sk },
          UpdateExpression: "SET claimedBy = :agent, claimedUntil = :until",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":agent": agent, ":until": until },
        }),
      );
    } catch (error) {
      // Answered or withdrawn in between: the claim on the REQ item is what counts.
      if (!isConditionFailed(error)) throw error;
    }
    return true;
  }

  async answer(
    id: string,
    agent: string,
    answer: string,
    now: Date,
  ): Promise<"answered" | "already" | "unknown"> {
    let old: Item | undefined;
    try {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: REQUESTS_PK, sk: reqSk(id) },
          UpdateExpression: "SET answer = :answer, answeredBy = :agent, answeredAt = :now",
          ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(answer)",
          ExpressionAttributeValues: { ":answer": answer, ":agent": agent, ":now": now.toISOString() },
          ReturnValues: "ALL_OLD",
        }),
      );
      old = out.Attributes;
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      const out = await this.#doc.send(
        new GetCommand({
          TableName: this.#table,
          Key: { pk: REQUESTS_PK, sk: reqSk(id) },
          ConsistentRead: true,
          ProjectionExpression: "expiresAt",
        }),
      );
      if (out.Item === undefined) return "unknown";
      if (typeof out.Item.expiresAt === "string") await this.#dropPending(out.Item.expiresAt, id);
      return "already";
    }
    // Answered: no poll reads it again. Best effort: the answer is recorded, and a PENDING item left behind is
    // removed by the next claim that reads it.
    if (typeof old?.expiresAt === "string") await this.#dropPending(old.expiresAt, id).catch(() => undefined);
    return "answered";
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
    let oldest: Date | undefined;
    for await (const item of this.#pending(now)) {
      const issuedAt =
        typeof item.issuedAt === "string" ? new Date(item.issuedAt) : issuedAtOf(String(item.text));
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
