/**
 * The local stack's table upgrade: a data directory kept by an older Tether holds a table without an index
 * this one needs (a new sparse index, for example). In AWS CloudFormation adds an index to the live table
 * (docs/deploy.md); dynalite cannot (no GlobalSecondaryIndexUpdates), so the local stack rebuilds the table
 * with every item kept: read them all, write a backup file beside the table, delete and create the table
 * with Tether's definition, write the items back, then drop the backup. A failure midway leaves the backup,
 * and the next start finishes the job from it, so nothing registered locally is lost.
 */
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type AttributeValue,
  BatchWriteItemCommand,
  DeleteTableCommand,
  type DynamoDBClient,
  paginateScan,
  waitUntilTableNotExists,
} from "@aws-sdk/client-dynamodb";
import { describeTable, ensureTable, missingIndexes } from "../../../lib/store/ensure-table.js";

type Item = Record<string, AttributeValue>;

/** BatchWriteItem takes at most 25 puts per call. */
const BATCH = 25;

export function backupPath(dataDir: string, tableName: string): string {
  return join(dataDir, `${tableName}.upgrade-backup.json`);
}

/**
 * Brings a persisted local table up to Tether's definition (a no-op when it has every index), then makes
 * sure it exists.
 * @returns what it did, for the start-up log; undefined when nothing was needed
 */
export async function upgradeLocalTable(
  client: DynamoDBClient,
  tableName: string,
  dataDir: string | undefined,
): Promise<string | undefined> {
  const backup = dataDir === undefined ? undefined : backupPath(dataDir, tableName);
  const pending = backup === undefined ? undefined : await readBackup(backup);
  const table = await describeTable(client, tableName);
  const missing = table === undefined ? [] : missingIndexes(table);
  if (pending === undefined && missing.length === 0) {
    await ensureTable(client, tableName);
    return undefined;
  }
  const items = pending ?? (await scanAll(client, tableName));
  if (backup !== undefined && pending === undefined) await writeAtomically(backup, JSON.stringify(items));
  if (table !== undefined) {
    await client.send(new DeleteTableCommand({ TableName: tableName }));
    await waitUntilTableNotExists(
      { client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 },
      { TableName: tableName },
    );
  }
  await ensureTable(client, tableName);
  await putAll(client, tableName, items);
  if (backup !== undefined) await rm(backup, { force: true });
  const added = missing.length > 0 ? ` with the new index(es) ${missing.join(", ")}` : "";
  return `table ${tableName} rebuilt${added}: ${items.length} item(s) kept`;
}

async function readBackup(path: string): Promise<Item[] | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as Item[];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`The local table's upgrade backup ${path} cannot be read: ${(error as Error).message}`);
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

async function scanAll(client: DynamoDBClient, tableName: string): Promise<Item[]> {
  const items: Item[] = [];
  for await (const page of paginateScan({ client }, { TableName: tableName, ConsistentRead: true })) {
    items.push(...(page.Items ?? []));
  }
  return items;
}

async function putAll(client: DynamoDBClient, tableName: string, items: readonly Item[]): Promise<void> {
  for (let i = 0; i < items.length; i += BATCH) {
    let requests = items.slice(i, i + BATCH).map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt === 10)
        throw new Error(`The local table ${tableName} kept refusing writes during its upgrade`);
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
      requests = (out.UnprocessedItems?.[tableName] ?? []).flatMap((r) =>
        r.PutRequest?.Item === undefined ? [] : [{ PutRequest: { Item: r.PutRequest.Item } }],
      );
    }
  }
}
