import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import {
  AuditDetailType,
  type AuditEvent,
  buildFactEvent,
  type ManagedKey,
  ValidationError,
} from "../../../lib/domain/index.js";
import { unpublishedEventItem } from "../../../lib/store/event-items.js";
import { DynamoAuditLog, DynamoKeyRepository } from "../../../lib/store/index.js";
import { MINUTE, makeKey, T0, useStore } from "./support.js";

const store = useStore();

async function newLog() {
  const tableName = await store.table();
  return {
    log: new DynamoAuditLog({ client: store.client, tableName }),
    repository: new DynamoKeyRepository({ client: store.client, tableName }),
  };
}

let sequence = 0;
/** A Key Material Renewed event for `keyId`, `minutes` after T0. */
function event(keyId: string, minutes: number): AuditEvent {
  return buildFactEvent(
    AuditDetailType.KeyMaterialRenewed,
    {
      id: `evt-${++sequence}`,
      time: new Date(T0.getTime() + minutes * MINUTE),
      actor: "tether:sweep",
      correlationId: "run-1",
    },
    { keyId, region: "eu-west-1", checkValue: "kcv-aes:1A2B3C", validTo: new Date("2026-04-01T00:00:00Z") },
  );
}

async function wholeHistory(log: DynamoAuditLog, keyId: string): Promise<AuditEvent[]> {
  return [...(await log.history(keyId, { limit: 1000 })).items];
}

describe("DynamoAuditLog.append", () => {
  it("is idempotent per event: the same event twice is one history item and one outbox entry", async () => {
    const { log } = await newLog();
    const key = makeKey();
    const e = event(key.id, 1);

    await log.append([e]);
    await log.append([e, e]);

    expect(await wholeHistory(log, key.id)).toEqual([e]);
    expect(await log.unpublished(10)).toEqual([e]);
  });

  it("refuses an event whose time would not sort, before writing any", async () => {
    const { log } = await newLog();
    const key = makeKey();
    const good = event(key.id, 1);
    const bad = { ...event(key.id, 2), time: "2026-03-01 12:00" };
    await expect(log.append([good, bad])).rejects.toBeInstanceOf(ValidationError);
    expect(await wholeHistory(log, key.id)).toEqual([]);
  });

  it("keeps events about something that is not a Tether key under their own subject", async () => {
    const { log } = await newLog();
    const e = event("mrk-0123456789abcdef0123456789abcdef", 1);
    await log.append([e]);
    expect(await wholeHistory(log, "mrk-0123456789abcdef0123456789abcdef")).toEqual([e]);
  });
});

describe("DynamoAuditLog outbox", () => {
  it("hands out unpublished events oldest first; once published they leave the outbox, not the history", async () => {
    const { log } = await newLog();
    const a = makeKey();
    const b = makeKey();
    const events = [event(a.id, 3), event(b.id, 1), event(a.id, 2), event(b.id, 4)];
    await log.append(events);

    const waiting = await log.unpublished(10);
    expect(waiting.map((e) => e.time)).toEqual(
      [1, 2, 3, 4].map((m) => new Date(T0.getTime() + m * MINUTE).toISOString()),
    );
    expect(await log.unpublished(2)).toEqual(waiting.slice(0, 2));

    await log.markPublished([waiting[0] as AuditEvent, waiting[2] as AuditEvent]);
    expect(await log.unpublished(10)).toEqual([waiting[1], waiting[3]]);
    expect(await wholeHistory(log, a.id)).toHaveLength(2);
    expect(await wholeHistory(log, b.id)).toHaveLength(2);

    // Appending a published event again does not put it back in the outbox.
    await log.append([waiting[0] as AuditEvent]);
    expect(await log.unpublished(10)).toEqual([waiting[1], waiting[3]]);

    // Marking an event that was never appended creates nothing.
    const stray = event(a.id, 9);
    await log.markPublished([stray]);
    expect(await wholeHistory(log, a.id)).toHaveLength(2);
  });
});

describe("DynamoAuditLog.history", () => {
  it("pages newest first with an opaque token", async () => {
    const { log } = await newLog();
    const key = makeKey();
    const events = Array.from({ length: 7 }, (_, i) => event(key.id, i));
    await log.append(events);
    await log.append([event(makeKey().id, 100)]);

    const pages: AuditEvent[][] = [];
    let nextToken: string | undefined;
    do {
      const page = await log.history(key.id, { limit: 3, nextToken });
      pages.push([...page.items]);
      nextToken = page.nextToken;
    } while (nextToken !== undefined && pages.length < 10);

    expect(pages.slice(0, 3).map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual([...events].reverse());
  });

  it("answers a forged or foreign token with a ValidationError", async () => {
    const { log } = await newLog();
    const key = makeKey();
    const other = makeKey();
    await log.append(Array.from({ length: 3 }, (_, i) => event(key.id, i)));
    await log.append(Array.from({ length: 3 }, (_, i) => event(other.id, i)));
    const foreign = (await log.history(other.id, { limit: 1 })).nextToken;
    expect(foreign).toBeDefined();

    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    for (const token of [
      foreign,
      "not a token!",
      b64("just a string"),
      b64({ pk: `KEY#${key.id}`, sk: "KEY" }),
      b64({ pk: `KEY#${key.id}`, sk: "EVENT#x", extra: "1" }),
      b64({ pk: `KEY#${key.id}`, sk: { S: "EVENT#x" } }),
      Buffer.from("{not json").toString("base64url"),
    ]) {
      await expect(log.history(key.id, { limit: 1, nextToken: token })).rejects.toBeInstanceOf(
        ValidationError,
      );
    }
  });

  it("outlives the key: remove() leaves the history", async () => {
    const { log, repository } = await newLog();
    const key: ManagedKey = makeKey();
    await repository.create(key);
    const events = [event(key.id, 1), event(key.id, 2)];
    await log.append(events);

    await repository.remove(key.id);

    expect(await repository.get(key.id)).toBeUndefined();
    expect(await wholeHistory(log, key.id)).toEqual([...events].reverse());
  });
});

describe("DynamoAuditLog, history recorded before history had partitions of its own", () => {
  /** Writes events as the store did before: in the key's record partition, `KEY#<id>`, waiting in the outbox. */
  async function appendLegacy(tableName: string, events: readonly AuditEvent[]): Promise<void> {
    const doc = DynamoDBDocumentClient.from(store.client);
    for (const e of events) {
      const item = unpublishedEventItem(e);
      await doc.send(new PutCommand({ TableName: tableName, Item: { ...item, pk: `KEY#${e.keyId}` } }));
    }
  }

  it("pages on from the new partition into the old one, newest first, at every page size", async () => {
    const tableName = await store.table();
    const log = new DynamoAuditLog({ client: store.client, tableName });
    const key = makeKey();
    const old = Array.from({ length: 4 }, (_, i) => event(key.id, i));
    const recent = Array.from({ length: 3 }, (_, i) => event(key.id, 10 + i));
    await appendLegacy(tableName, old);
    await log.append(recent);
    const expected = [...old, ...recent].reverse();

    for (const limit of [1, 2, 3, 4, 7, 50]) {
      const seen: AuditEvent[] = [];
      let nextToken: string | undefined;
      let pages = 0;
      do {
        const page = await log.history(key.id, { limit, nextToken });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items);
        nextToken = page.nextToken;
      } while (nextToken !== undefined && ++pages < 20);
      expect(seen, `limit ${limit}`).toEqual(expected);
    }
  });

  it("reads a key with only old history, and drops its events from the outbox once published", async () => {
    const tableName = await store.table();
    const log = new DynamoAuditLog({ client: store.client, tableName });
    const key = makeKey();
    const old = [event(key.id, 1), event(key.id, 2)];
    await appendLegacy(tableName, old);
    expect(await wholeHistory(log, key.id)).toEqual([...old].reverse());

    const waiting = await log.unpublished(10);
    expect(waiting).toEqual(old);
    await log.markPublished(waiting);
    // Before, markPublished looked only in the new partition: these stayed in the outbox, sent again for ever.
    expect(await log.unpublished(10)).toEqual([]);
    expect(await wholeHistory(log, key.id)).toEqual([...old].reverse());
  });
});
