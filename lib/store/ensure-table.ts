import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type TableDescription,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import { TABLE_DEFINITION, tableDefinition } from "./table-definition.js";

/**
 * Creates Tether's table if it is missing and waits until it is ACTIVE. For the local stack and tests;
 * in AWS the table comes from CloudFormation.
 * @throws Error when an existing table of that name lacks one of Tether's indexes (naming them, and the way
 *   out for a local data directory); SDK errors otherwise
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  options: { maxWaitSeconds?: number } = {},
): Promise<void> {
  let table = await describe(client, tableName);
  if (table === undefined) {
    try {
      await client.send(new CreateTableCommand(tableDefinition(tableName)));
    } catch (error) {
      // Someone else created it between our DescribeTable and CreateTable: fine, wait for it below.
      if (!(error instanceof Error && error.name === "ResourceInUseException")) throw error;
    }
  }
  if (table?.TableStatus !== "ACTIVE") {
    await waitUntilTableExists(
      { client, maxWaitTime: options.maxWaitSeconds ?? 120, minDelay: 1, maxDelay: 5 },
      { TableName: tableName },
    );
    table = await describe(client, tableName);
  }
  const present = new Set((table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  const missing = TABLE_DEFINITION.GlobalSecondaryIndexes.map((index) => index.IndexName).filter(
    (name) => !present.has(name),
  );
  if (missing.length > 0) {
    // dynalite cannot add an index to a table (no GlobalSecondaryIndexUpdates Create), so a local table
    // persisted by an older Tether is refused with the way out rather than patched.
    throw new Error(
      `Table ${tableName} exists but lacks the index(es) ${missing.join(", ")}. A local table from an ` +
        "older Tether: remove the data directory's dynamodb/ folder (its keys and history go with it) or start with --memory.",
    );
  }
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if (error instanceof Error && error.name === "ResourceNotFoundException") return undefined;
    throw error;
  }
}
