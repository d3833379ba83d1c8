/**
 * Seeds managed keys straight into Tether's table with BatchWriteItem, items built by the store's own
 * mappers (key-items.ts), for keys that must exist in the table but never in KMS: the keys a sweep must NOT
 * touch. Each key gets what a registration writes: its key record, its Region item, its key-ARN claim.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { type DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { newTetherKeyId, parseCheckValue, parseMaterialRef } from "../../lib/domain/ids.js";
import { parseImportPolicy } from "../../lib/domain/import-policy.js";
import { newManagedKey } from "../../lib/domain/managed-key.js";
import { arnClaimPk, CLAIM_SK, keyPk, regionSk } from "../../lib/store/item-keys.js";
import { keyRecordItem, regionItem } from "../../lib/store/key-items.js";

const ACCOUNT = "111122223333";
const BATCH = 25;

/**
 * Writes `count` keys whose next check is `nextCheckAt` (far ahead: never due in the benchmark). Their ARNs
 * name keys the emulator does not have, so only a sweep that looks at every key calls KMS about them.
 */
export async function seedIdleKeys(
  client: DynamoDBClient,
  tableName: string,
  region: string,
  count: number,
  nextCheckAt: Date,
  concurrency = 8,
): Promise<void> {
  const doc = DynamoDBDocumentClient.from(client);
  const policy = parseImportPolicy({ validityPeriod: "P30D", renewBefore: "P7D" });
  const checkValue = parseCheckValue(`kcv1:${"0".repeat(64)}`);
  const now = new Date();
  const items = function* () {
    for (let i = 0; i < count; i++) {
      const id = newTetherKeyId(now, randomBytes(10));
      const keyArn = `arn:aws:kms:${region}:${ACCOUNT}:key/${randomUUID()}`;
      const key = newManagedKey(
        {
          id,
          keyArn,
          keySpec: "SYMMETRIC_DEFAULT",
          materialRef: parseMaterialRef(`idle/${i}`),
          checkValue,
          policy,
        },
        now,
      );
      const record = {
        ...(key.regions[0] as (typeof key.regions)[number]),
        nextCheckAt,
        materialExpected: true,
      };
      yield keyRecordItem(key);
      yield regionItem(id, record, 0);
      yield {
        pk: arnClaimPk(keyArn),
        sk: CLAIM_SK,
        tetherId: id,
        claimedAt: now.toISOString(),
        kind: "key ARN",
      };
    }
  };
  const source = items();
  const worker = async () => {
    for (;;) {
      const batch: Record<string, unknown>[] = [];
      for (let next = source.next(); !next.done; next = source.next()) {
        batch.push(next.value);
        if (batch.length === BATCH) break;
      }
      if (batch.length === 0) return;
      let pending: { PutRequest: { Item: Record<string, unknown> } }[] = batch.map((Item) => ({
        PutRequest: { Item },
      }));
      while (pending.length > 0) {
        const out = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
        pending = (out.UnprocessedItems?.[tableName] ?? []) as typeof pending;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Makes one Region of a key due at `at` (its place in the due-work index and its nextCheckAt). */
export async function makeDue(
  client: DynamoDBClient,
  tableName: string,
  keyId: string,
  region: string,
  at: Date,
) {
  await client.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { pk: { S: keyPk(keyId as never) }, sk: { S: regionSk(region) } },
      UpdateExpression: "SET dueAt = :at, nextCheckAt = :iso",
      ExpressionAttributeValues: { ":at": { N: String(at.getTime()) }, ":iso": { S: at.toISOString() } },
      ConditionExpression: "attribute_exists(pk)",
    }),
  );
}

/** Runs `work` over `items`, `concurrency` at a time. */
export async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) await work(items[i] as T);
    }),
  );
}
