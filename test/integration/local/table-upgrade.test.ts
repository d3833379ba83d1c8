/**
 * A local data directory kept by an older Tether: its table lacks an index this Tether needs, and dynalite
 * cannot add one, so the local stack rebuilds the table keeping every item (infra/local/runner/upgrade-table.ts).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateTableCommand,
  DescribeTableCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupPath, upgradeLocalTable } from "../../../infra/local/runner/upgrade-table.js";
import { StoreIndex, tableDefinition } from "../../../lib/store/index.js";
import { useStore } from "../store/support.js";

const store = useStore();
let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "tether-upgrade-"));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** A table as an older Tether made it: without the openOperations index. */
async function oldTable(name: string, items: number): Promise<void> {
  const definition = tableDefinition(name);
  await store.client.send(
    new CreateTableCommand({
      ...definition,
      GlobalSecondaryIndexes: definition.GlobalSecondaryIndexes?.filter(
        (index) => index.IndexName !== StoreIndex.OpenOperations,
      ),
      AttributeDefinitions: definition.AttributeDefinitions?.filter((a) => a.AttributeName !== "openPk"),
    }),
  );
  for (let i = 0; i < items; i++) {
    await store.client.send(
      new PutItemCommand({
        TableName: name,
        Item: {
          pk: { S: `OPERATIONS` },
          sk: { S: `REQUEST#${String(i).padStart(3, "0")}` },
          openPk: { S: i % 2 === 0 ? "OPEN" : "x" },
          payload: { S: `item ${i}` },
        },
      }),
    );
  }
}

async function indexes(name: string): Promise<string[]> {
  const { Table } = await store.client.send(new DescribeTableCommand({ TableName: name }));
  return (Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName ?? "").sort();
}

async function count(name: string): Promise<number> {
  return (await store.client.send(new ScanCommand({ TableName: name, Select: "COUNT" }))).Count ?? 0;
}

describe("the local table upgrade", () => {
  it("rebuilds a table without a new index, every item kept, the new index serving them", async () => {
    await oldTable("old-1", 60);
    const said = await upgradeLocalTable(store.client, "old-1", dataDir);
    expect(said).toBe("table old-1 rebuilt with the new index(es) openOperations: 60 item(s) kept");
    expect(await indexes("old-1")).toEqual(Object.values(StoreIndex).sort());
    expect(await count("old-1")).toBe(60);
    const open = await store.client.send(
      new QueryCommand({
        TableName: "old-1",
        IndexName: StoreIndex.OpenOperations,
        KeyConditionExpression: "openPk = :p",
        ExpressionAttributeValues: { ":p": { S: "OPEN" } },
      }),
    );
    expect(open.Count).toBe(30);
    // Done: the backup is gone, and a second start changes nothing.
    await expect(readFile(backupPath(dataDir, "old-1"))).rejects.toThrow(/ENOENT/);
    expect(await upgradeLocalTable(store.client, "old-1", dataDir)).toBeUndefined();
    expect(await count("old-1")).toBe(60);
  });

  it("finishes an upgrade a crash interrupted, from its backup", async () => {
    // The crash came after the table was rebuilt and before the items were back: the backup holds them.
    await oldTable("old-2", 5);
    const { Items } = await store.client.send(new ScanCommand({ TableName: "old-2", ConsistentRead: true }));
    await writeFile(backupPath(dataDir, "old-2"), JSON.stringify(Items));
    const said = await upgradeLocalTable(store.client, "old-2", dataDir);
    expect(said).toMatch(/5 item\(s\) kept/);
    expect(await indexes("old-2")).toEqual(Object.values(StoreIndex).sort());
    expect(await count("old-2")).toBe(5);
  });

  it("creates a missing table, and says nothing", async () => {
    expect(await upgradeLocalTable(store.client, "fresh", dataDir)).toBeUndefined();
    expect(await indexes("fresh")).toEqual(Object.values(StoreIndex).sort());
  });
});
