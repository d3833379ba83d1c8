/**
 * Client middleware that counts what a benchmark needs from the SDK's own view of each call: DynamoDB items
 * read (ScannedCount for Query/Scan, the item for GetItem, every item of BatchGetItem) and read capacity,
 * and the round-trip time of every KMS call. Nothing here changes a request except asking DynamoDB for
 * ReturnConsumedCapacity=TOTAL on reads.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { KMSClient } from "@aws-sdk/client-kms";
import type { KmsPort } from "../../lib/lifecycle/ports.js";

export interface DynamoCounter {
  itemsRead: number;
  readCapacityUnits: number;
  /** Items read, by operation name and index (Query:due, Query, Scan, GetItem, BatchGetItem). */
  readonly byOperation: Record<string, number>;
  requests: number;
  /** Milliseconds spent waiting for DynamoDB (sum over calls, overlapping calls counted each). */
  waitMs: number;
  reset(): void;
}

const READS = new Set(["QueryCommand", "ScanCommand", "GetItemCommand", "BatchGetItemCommand"]);

export function newDynamoCounter(): DynamoCounter {
  return {
    itemsRead: 0,
    readCapacityUnits: 0,
    byOperation: {},
    requests: 0,
    waitMs: 0,
    reset() {
      this.itemsRead = 0;
      this.readCapacityUnits = 0;
      this.requests = 0;
      this.waitMs = 0;
      for (const name of Object.keys(this.byOperation)) delete this.byOperation[name];
    },
  };
}

function itemsOf(command: string, output: Record<string, unknown>): number {
  switch (command) {
    case "QueryCommand":
    case "ScanCommand":
      return Number(output.ScannedCount ?? output.Count ?? 0);
    case "GetItemCommand":
      return output.Item === undefined ? 0 : 1;
    case "BatchGetItemCommand":
      return Object.values((output.Responses ?? {}) as Record<string, unknown[]>).reduce(
        (sum, items) => sum + items.length,
        0,
      );
    default:
      return 0;
  }
}

function capacityOf(output: Record<string, unknown>): number {
  const consumed = output.ConsumedCapacity as
    | { CapacityUnits?: number }
    | Array<{ CapacityUnits?: number }>
    | undefined;
  if (consumed === undefined) return 0;
  const list = Array.isArray(consumed) ? consumed : [consumed];
  return list.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
}

/** Counts every read `client` (and any DocumentClient built on it) makes into `counter`. */
export function instrumentDynamo(client: DynamoDBClient, counter: DynamoCounter): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName ?? "");
      const input = args.input as Record<string, unknown>;
      if (READS.has(command) && input.ReturnConsumedCapacity === undefined) {
        input.ReturnConsumedCapacity = "TOTAL";
      }
      const started = performance.now();
      const result = await next(args);
      counter.waitMs += performance.now() - started;
      counter.requests++;
      if (READS.has(command)) {
        const output = result.output as unknown as Record<string, unknown>;
        const items = itemsOf(command, output);
        const index = typeof input.IndexName === "string" ? `:${input.IndexName}` : "";
        const operation = `${command.replace(/Command$/, "")}${index}`;
        counter.itemsRead += items;
        counter.byOperation[operation] = (counter.byOperation[operation] ?? 0) + items;
        counter.readCapacityUnits += capacityOf(output);
      }
      return result;
    },
    { step: "initialize", name: "benchDynamoCounter" },
  );
}

export interface KmsTiming {
  calls: number;
  /** Sum of KMS round trips in ms (request signing to parsed answer, SDK retries included). */
  totalMs: number;
  readonly byOperation: Record<string, { calls: number; ms: number }>;
  reset(): void;
}

export function newKmsTiming(): KmsTiming {
  return {
    calls: 0,
    totalMs: 0,
    byOperation: {},
    reset() {
      this.calls = 0;
      this.totalMs = 0;
      for (const name of Object.keys(this.byOperation)) delete this.byOperation[name];
    },
  };
}

/** Times every call of `client` into `timing`, errors included. */
export function instrumentKms(client: KMSClient, timing: KmsTiming): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? "").replace(/Command$/, "");
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        const ms = performance.now() - started;
        timing.calls++;
        timing.totalMs += ms;
        const row = timing.byOperation[operation] ?? { calls: 0, ms: 0 };
        row.calls++;
        row.ms += ms;
        timing.byOperation[operation] = row;
      }
    },
    { step: "initialize", name: "benchKmsTiming" },
  );
}

/** The KMS port with each answered import's completion time (and key) reported (restore and agent benches). */
export function timedImports(port: KmsPort, done: (at: number, keyId: string) => void): KmsPort {
  return new Proxy(port, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (property === "importMaterial") {
        return async (...args: Parameters<KmsPort["importMaterial"]>) => {
          const result = await port.importMaterial(...args);
          done(performance.now(), args[0].keyId);
          return result;
        };
      }
      return value.bind(target);
    },
  });
}
