import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type BandMark, quietCutoff, SPARSE_BANDS } from "../domain/due-bands.js";
import type { Priority } from "../domain/import-policy.js";
import { isConditionFailed } from "./dynamo-helpers.js";
import type { ResolvedStoreOptions } from "./store-options.js";

/**
 * The marks of the due-work index's sparse bands (lib/domain/due-bands.ts), one item for all of them:
 *   DUEBANDS   MARK   <priority>TouchedAt, <priority>QuietUntil   (epoch ms, per sparse band)
 * Not in any index (it has no dueShard). Writers touch a band before they file or move a Region in it; the
 * sweep reads the item once per run and marks a band quiet only on condition that its last touch is
 * older than QUIET_MARGIN_MS.
 */
export const DUE_BANDS_PK = "DUEBANDS";
export const DUE_BANDS_SK = "MARK";

const touchedAt = (priority: Priority): string => `${priority}TouchedAt`;
const quietUntil = (priority: Priority): string => `${priority}QuietUntil`;

/** Every sparse band's mark, read consistently (absent item: no marks yet, every band is read). */
export async function readBandMarks(o: ResolvedStoreOptions): Promise<Map<Priority, BandMark>> {
  const out = await o.doc.send(
    new GetCommand({
      TableName: o.tableName,
      Key: { pk: DUE_BANDS_PK, sk: DUE_BANDS_SK },
      ConsistentRead: true,
    }),
  );
  const item = out.Item ?? {};
  const num = (value: unknown) => (typeof value === "number" && Number.isFinite(value) ? value : undefined);
  return new Map(
    SPARSE_BANDS.map((p) => [
      p,
      { touchedAt: num(item[touchedAt(p)]), quietUntil: num(item[quietUntil(p)]) },
    ]),
  );
}

/**
 * Records that Regions are being filed in, or moved within, these bands (the normal band and repeats are
 * dropped; nothing is written when no sparse band is left): their quiet marks go. One UpdateItem.
 */
export async function touchBands(
  o: ResolvedStoreOptions,
  priorities: readonly (Priority | undefined)[],
): Promise<void> {
  const bands = SPARSE_BANDS.filter((p) => priorities.includes(p));
  if (bands.length === 0) return;
  const names: Record<string, string> = {};
  bands.forEach((p, i) => {
    names[`#t${i}`] = touchedAt(p);
    names[`#q${i}`] = quietUntil(p);
  });
  await o.doc.send(
    new UpdateCommand({
      TableName: o.tableName,
      Key: { pk: DUE_BANDS_PK, sk: DUE_BANDS_SK },
      UpdateExpression: `SET ${bands.map((_, i) => `#t${i} = :now`).join(", ")} REMOVE ${bands
        .map((_, i) => `#q${i}`)
        .join(", ")}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ":now": o.clock().getTime() },
    }),
  );
}

/** Every sparse band touched at once: for a write that moves a Region's due time without knowing its band. */
export const touchAllBands = (o: ResolvedStoreOptions): Promise<void> => touchBands(o, SPARSE_BANDS);

/**
 * Marks a band quiet until `until`, on condition that nothing touched it since `now - QUIET_MARGIN_MS`;
 * returns whether the mark was set (false: a recent touch refused it, which is no error).
 */
export async function markBandQuiet(
  o: ResolvedStoreOptions,
  priority: Priority,
  until: number,
  now: number,
): Promise<boolean> {
  try {
    await o.doc.send(
      new UpdateCommand({
        TableName: o.tableName,
        Key: { pk: DUE_BANDS_PK, sk: DUE_BANDS_SK },
        UpdateExpression: "SET #q = :until",
        ConditionExpression: "attribute_not_exists(#t) OR #t <= :cutoff",
        ExpressionAttributeNames: { "#q": quietUntil(priority), "#t": touchedAt(priority) },
        ExpressionAttributeValues: { ":until": until, ":cutoff": quietCutoff(now) },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}
