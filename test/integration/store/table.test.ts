import { CreateTableCommand, DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { ensureTable, StoreIndex, TABLE_DEFINITION, tableDefinition } from "../../../lib/store/index.js";
import { useStore } from "./support.js";

const store = useStore();

describe("ensureTable", () => {
  it("creates the table with its four indexes once, and leaves it alone after", async () => {
    await ensureTable(store.client, "tether-table");
    await ensureTable(store.client, "tether-table");

    const { Table } = await store.client.send(new DescribeTableCommand({ TableName: "tether-table" }));
    expect(Table?.TableStatus).toBe("ACTIVE");
    expect(Table?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
    const indexes = Object.fromEntries((Table?.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, i]));
    expect(Object.keys(indexes).sort()).toEqual(Object.values(StoreIndex).sort());
    expect(indexes.due?.KeySchema).toEqual([
      { AttributeName: "dueShard", KeyType: "HASH" },
      { AttributeName: "dueAt", KeyType: "RANGE" },
    ]);
    expect(indexes.outbox?.Projection).toEqual({ ProjectionType: "INCLUDE", NonKeyAttributes: ["event"] });
    expect(indexes.openOperations?.KeySchema).toEqual([
      { AttributeName: "openPk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ]);
  });

  it("refuses a same-named table that lacks Tether's indexes", async () => {
    const { GlobalSecondaryIndexes: _, ...bare } = tableDefinition("not-tethers");
    await store.client.send(
      new CreateTableCommand({ ...bare, AttributeDefinitions: bare.AttributeDefinitions?.slice(0, 2) }),
    );
    await expect(ensureTable(store.client, "not-tethers")).rejects.toThrow(
      /lacks the index\(es\) due, outbox, keys, openOperations\./,
    );
  });

  it("hands out copies, so the shared definition cannot be changed through them", () => {
    const copy = tableDefinition("x");
    copy.KeySchema?.splice(0, 1, { AttributeName: "mutated", KeyType: "HASH" });
    expect(copy.KeySchema?.[0]?.AttributeName).toBe("mutated");
    expect(TABLE_DEFINITION.KeySchema[0].AttributeName).toBe("pk");
  });
});
