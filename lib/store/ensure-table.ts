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
 * @throws Error when an existing table of that name lacks one of Tether's indexes (naming them); SDK errors
 *   otherwise
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  options: { maxWaitSeconds?: number } = {},
): Promise<void> {
  let table = await describeTable(client, tableName);
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
    table = await describeTable(client, tableName);
  }
  const missing = missingIndexes(table);
  if (missing.length > 0) {
    // The local stack upgrades its own table first (infra/local/runner/upgrade-table.ts); anything else
    // that finds one without Tether's indexes is not Tether's table.
    throw new Error(`Table ${tableName} exists but lacks the index(es) ${missing.join(", ")}.`);
  }
}

/** Tether's indexes a table lacks (all of them when there is no table). */
export function missingIndexes(table: TableDescription | undefined): string[] {
  const present = new Set((table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  return TABLE_DEFINITION.GlobalSecondaryIndexes.map((index) => index.IndexName).filter(
    (name) => !present.has(name),
  );
}

export async function describeTable(
  client: DynamoDBClient,
  tableName: string,
): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if (error instanceof Error && error.name === "ResourceNotFoundException") return undefined;
    throw error;
  }
}
