import { DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_APPROVAL_RULES,
  OperationKind,
  type OperationRequest,
  OperationState,
  openOperationRequest,
} from "../../../lib/domain/approvals.js";
import { DynamoOperationRequests } from "../../../lib/store/dynamo-operation-requests.js";
import { HOUR, T0, useStore } from "./support.js";

const store = useStore();

/** What a client read: items (a Query's ScannedCount, a GetItem's item) and the sort keys it was handed. */
interface Reads {
  items: number;
  partitionQueries: number;
  sortKeys: string[];
}

/** A client of the local DynamoDB that counts the items every read of it consumed. */
function countingClient(): { client: DynamoDBClient; reads: Reads } {
  const reads: Reads = { items: 0, partitionQueries: 0, sortKeys: [] };
  const client = new DynamoDBClient({
    endpoint: store.dynamo.url,
    region: "eu-west-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
  const skOf = (item: Record<string, unknown>) => {
    const sk = item.sk as { S?: string } | string | undefined;
    return typeof sk === "string" ? sk : (sk?.S ?? "");
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const out = result.output as {
        ScannedCount?: number;
        Items?: Record<string, unknown>[];
        Item?: Record<string, unknown>;
      };
      if (context.commandName === "QueryCommand") {
        reads.items += out.ScannedCount ?? 0;
        if ((args.input as { IndexName?: string }).IndexName === undefined) reads.partitionQueries++;
        reads.sortKeys.push(...(out.Items ?? []).map(skOf));
      }
      if (context.commandName === "GetItemCommand" && out.Item !== undefined) {
        reads.items++;
        reads.sortKeys.push(skOf(out.Item));
      }
      return result;
    },
    { step: "initialize", name: "countItemsRead" },
  );
  return { client, reads };
}

let n = 0;
function request(overrides: Partial<OperationRequest> = {}): OperationRequest {
  const opened = openOperationRequest(
    {
      id: `op-20260301T120000Z-${String(++n).padStart(12, "0")}`,
      operation: OperationKind.Revoke,
      keyId: "tk_01JX0000000000000000000000",
      input: {},
      requestedBy: "arn:aws:iam::111122223333:role/Admin",
      reason: "test",
      quorum: 2,
      emergency: false,
    },
    DEFAULT_APPROVAL_RULES,
    T0,
  );
  return { ...opened, ...overrides };
}

const closed = (state: OperationState) =>
  request({ state, finishedAt: new Date(T0.getTime() + HOUR), approvals: [] });

async function allOpen(repository: DynamoOperationRequests): Promise<OperationRequest[]> {
  const found: OperationRequest[] = [];
  let nextToken: string | undefined;
  do {
    const page = await repository.open({ limit: 2, nextToken });
    found.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return found;
}

describe("operation requests: the sweep reads open ones only", () => {
  it("reads no closed request, however many there are (the partition read, as before, reads them all)", async () => {
    const tableName = await store.table();
    const writer = new DynamoOperationRequests({ client: store.client, tableName });
    const closedOnes = [
      ...Array.from({ length: 8 }, () => closed(OperationState.Executed)),
      ...Array.from({ length: 6 }, () => closed(OperationState.Denied)),
      ...Array.from({ length: 6 }, () => closed(OperationState.Expired)),
    ];
    const openOnes = [
      request(),
      request({ state: OperationState.Approved }),
      request({ state: OperationState.Unconfirmed, emergency: true }),
      // Closed, but its decision's audit event may not be recorded yet: the sweep must still see it.
      { ...closed(OperationState.Expired), auditPending: true },
    ];
    for (const r of [...closedOnes, ...openOnes]) await writer.create(r);

    const { client, reads } = countingClient();
    const repository = new DynamoOperationRequests({ client, tableName });
    await allOpen(repository); // the first reading of a deployment checks its mark (and indexes older requests)
    reads.items = 0;
    reads.sortKeys = [];
    reads.partitionQueries = 0;

    const found = await allOpen(repository);

    expect(found.map((r) => r.id).sort()).toEqual(openOnes.map((r) => r.id).sort());
    // Each open request counted twice: its index entry (keys only) and its consistent read.
    expect(reads.items).toBe(2 * openOnes.length);
    expect(reads.partitionQueries).toBe(0);
    const closedKeys = new Set(closedOnes.map((r) => `OP#${r.id}`));
    expect(reads.sortKeys.filter((sk) => closedKeys.has(sk))).toEqual([]);

    // What the sweep read before: the partition, filtered after the read, so every request is consumed.
    reads.items = 0;
    await repository.list({ limit: 100, states: [OperationState.Pending, OperationState.Approved] });
    expect(reads.items).toBe(closedOnes.length + openOnes.length);
    client.destroy();
  });

  it("a request leaves the sweep's reading with the write that closes it", async () => {
    const tableName = await store.table();
    const repository = new DynamoOperationRequests({ client: store.client, tableName });
    const pending = request();
    await repository.create(pending);
    expect((await allOpen(repository)).map((r) => r.id)).toEqual([pending.id]);

    const approved = await repository.save({ ...pending, state: OperationState.Approved });
    expect((await allOpen(repository)).map((r) => r.state)).toEqual([OperationState.Approved]);
    await repository.save({ ...approved, state: OperationState.Executed, finishedAt: T0 });
    expect(await allOpen(repository)).toEqual([]);
  });

  it("indexes requests stored before the index once, on the first reading, without a migration step", async () => {
    const tableName = await store.table();
    const writer = new DynamoOperationRequests({ client: store.client, tableName });
    const legacyOpen = request();
    const legacyClosed = closed(OperationState.Denied);
    for (const r of [legacyOpen, legacyClosed]) {
      await writer.create(r);
      // As an older Tether stored it: no `openPk`.
      await store.client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: { S: "OPERATIONS" }, sk: { S: `OP#${r.id}` } },
          UpdateExpression: "REMOVE openPk",
        }),
      );
    }

    const first = countingClient();
    const upgraded = await allOpen(new DynamoOperationRequests({ client: first.client, tableName }));
    expect(upgraded.map((r) => r.id)).toEqual([legacyOpen.id]);
    expect(upgraded[0]?.version).toBe(0); // indexed, not rewritten: the request itself is unchanged
    expect(first.reads.partitionQueries).toBe(1);

    // Another process (a new cold start): the mark says it is done, so the partition is not read again.
    const later = countingClient();
    const again = await allOpen(new DynamoOperationRequests({ client: later.client, tableName }));
    expect(again.map((r) => r.id)).toEqual([legacyOpen.id]);
    expect(later.reads.partitionQueries).toBe(0);
    expect(later.reads.sortKeys).not.toContain(`OP#${legacyClosed.id}`);
    first.client.destroy();
    later.client.destroy();
  });
});
