import { randomBytes } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll } from "vitest";
import { type LocalDynamo, startDynamo } from "../../../infra/local/dynamodb.js";
import {
  KeySpec,
  type ManagedKey,
  newManagedKey,
  newTetherKeyId,
  parseCheckValue,
  parseImportPolicy,
  parseMaterialRef,
} from "../../../lib/domain/index.js";
import { ensureTable } from "../../../lib/store/index.js";

export const T0 = new Date("2026-03-01T12:00:00.000Z");
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

const credentials = { accessKeyId: "local", secretAccessKey: "local" };

/** A client of the local DynamoDB, as a Lambda would build one (maxAttempts 1: failures show at once). */
export function clientFor(dynamo: LocalDynamo): DynamoDBClient {
  return new DynamoDBClient({ endpoint: dynamo.url, region: "eu-west-1", credentials, maxAttempts: 1 });
}

/** dynalite, one client of it, and a fresh table per call of `table()`. */
export interface LocalStore {
  dynamo: LocalDynamo;
  client: DynamoDBClient;
  table: () => Promise<string>;
  close: () => Promise<void>;
}

/** dynalite on an ephemeral port, one client, and a fresh table per call of `table()`. */
export async function startStore(): Promise<LocalStore> {
  const dynamo = await startDynamo({ port: 0 });
  const client = clientFor(dynamo);
  let n = 0;
  return {
    dynamo,
    client,
    table: async () => {
      const name = `tether-${++n}`;
      await ensureTable(client, name);
      return name;
    },
    close: async () => {
      client.destroy();
      await dynamo.close();
    },
  };
}

/**
 * Starts a store (see {@link startStore}) in beforeAll and closes it in afterAll. The result forwards to
 * the started store, so read its fields inside hooks and tests.
 */
export function useStore(): LocalStore {
  let store: LocalStore | undefined;
  beforeAll(async () => {
    store = await startStore();
  });
  afterAll(async () => {
    await store?.close();
  });
  const started = (): LocalStore => {
    if (store === undefined) throw new Error("the local store is used before its beforeAll started it");
    return store;
  };
  return {
    get dynamo() {
      return started().dynamo;
    },
    get client() {
      return started().client;
    },
    table: () => started().table(),
    close: () => started().close(),
  };
}

/** A clock tests move by hand. */
export function manualClock(start: Date = T0): { now: () => Date; advance: (ms: number) => void } {
  let current = start.getTime();
  return {
    now: () => new Date(current),
    advance: (ms) => {
      current += ms;
    },
  };
}

const REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-2"] as const;

/** A Multi-Region key with `regions` Regions (primary eu-west-1), built by the domain's own constructor. */
export function makeKey(
  options: {
    regions?: number;
    alias?: string;
    now?: Date;
    mrk?: string;
    policy?: unknown;
    materialRef?: string;
  } = {},
): ManagedKey {
  const now = options.now ?? T0;
  const mrk = options.mrk ?? `mrk-${randomBytes(16).toString("hex")}`;
  const arns = REGIONS.slice(0, options.regions ?? 3).map(
    (region) => `arn:aws:kms:${region}:111122223333:key/${mrk}`,
  );
  return newManagedKey(
    {
      id: newTetherKeyId(now, randomBytes(10)),
      keyArn: arns[0] as string,
      replicaArns: arns.slice(1),
      keySpec: KeySpec.SYMMETRIC_DEFAULT,
      // Each key its own reference: a reference is claimed by one managed key.
      materialRef: parseMaterialRef(
        options.materialRef ?? `customers/acme/payments-${randomBytes(4).toString("hex")}`,
      ),
      checkValue: parseCheckValue("kcv-aes:1A2B3C"),
      policy: parseImportPolicy(options.policy ?? { validityPeriod: "P30D", renewBefore: "P7D" }),
      alias: options.alias,
      description: "payments key",
    },
    now,
  );
}

export function arnOf(key: ManagedKey, index = 0): string {
  const record = key.regions[index];
  if (record === undefined) throw new Error(`key has no region #${index}`);
  return record.keyArn;
}
