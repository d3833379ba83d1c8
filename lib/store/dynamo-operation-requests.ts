import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import {
  type Approval,
  OPERATION_KINDS,
  type OperationKind,
  type OperationRequest,
  OperationState,
} from "../domain/approvals.js";
import { StateConflictError, VersionConflictError } from "../domain/errors.js";
import type { OperationRequestRepository, Page } from "../lifecycle/ports.js";
import { checkLimit, isConditionFailed } from "./dynamo-helpers.js";
import { CorruptRecordError } from "./errors.js";
import { decodePageToken, encodePageToken } from "./page-token.js";
import { type DynamoStoreOptions, type ResolvedStoreOptions, resolveStoreOptions } from "./store-options.js";
import { StoreAttribute, StoreIndex } from "./table-definition.js";

/**
 * Dual control's operation requests, one partition (they are few: a handful a day at most):
 *   OPERATIONS    OP#<id>    one request; ids start with their creation time, so the sort key orders by age
 * Every change is a Put conditional on the version read (`version = :read`), so of two writers racing on
 * one request exactly one wins and the other re-reads: an approval that reaches the quorum and the run that
 * follows are each decided once.
 *
 * An open request (pending, approved, unconfirmed, or with a decision whose audit event may not be recorded
 * yet) carries `openPk`, so it is in the sparse `openOperations` index; every Put writes the whole item, so
 * the attribute goes with the write that closes the request, and the sweep's {@link open} reads only what is
 * open, never the closed past.
 */
export const OPERATIONS_PK = "OPERATIONS";
/**
 * A closed request (executed, failed, denied, expired, confirmed) is kept this long after it closed, then
 * DynamoDB's TTL (`expiration`, infra/table.yml) removes it: its facts stay in the key's audit history.
 */
export const CLOSED_RETENTION_MS = 90 * 24 * 3_600_000;
/** The `openPk` value of an open request: the one partition of the `openOperations` index. */
const OPEN_PK = "OPERATIONS#OPEN";
/**
 * Written once every request stored before the `openOperations` index existed is in it (see
 * {@link DynamoOperationRequests.open}); its own partition, so listings of OPERATIONS never see it.
 */
const OPEN_INDEX_MARK = { pk: "OPERATIONS#INDEXED", sk: "MARK" } as const;
const OPEN_STATES: readonly string[] = [
  OperationState.Pending,
  OperationState.Approved,
  OperationState.Unconfirmed,
];
const CLOSED = new Set<string>([
  OperationState.Executed,
  OperationState.Failed,
  OperationState.Denied,
  OperationState.Expired,
  OperationState.Confirmed,
]);
const OP_PREFIX = "OP#";

type Item = Record<string, unknown>;

export class DynamoOperationRequests implements OperationRequestRepository {
  readonly #o: ResolvedStoreOptions;
  /** Requests from before the `openOperations` index are known to be in it (#indexExisting). */
  #indexed = false;

  constructor(options: DynamoStoreOptions) {
    this.#o = resolveStoreOptions(options);
  }

  async create(request: OperationRequest): Promise<void> {
    try {
      await this.#o.doc.send(
        new PutCommand({
          TableName: this.#o.tableName,
          Item: toItem({ ...request, version: 0 }),
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      throw new StateConflictError(`Operation request ${request.id} exists.`, {
        keyId: request.keyId,
        state: request.state,
        field: "id",
      });
    }
  }

  async get(id: string): Promise<OperationRequest | undefined> {
    const out = await this.#o.doc.send(
      new GetCommand({
        TableName: this.#o.tableName,
        Key: { pk: OPERATIONS_PK, sk: `${OP_PREFIX}${id}` },
        ConsistentRead: true,
      }),
    );
    return out.Item === undefined ? undefined : fromItem(out.Item);
  }

  async save(next: OperationRequest): Promise<OperationRequest> {
    const saved = { ...next, version: next.version + 1 };
    try {
      await this.#o.doc.send(
        new PutCommand({
          TableName: this.#o.tableName,
          Item: toItem(saved),
          ConditionExpression: "attribute_exists(pk) AND #version = :read",
          ExpressionAttributeNames: { "#version": "version" },
          ExpressionAttributeValues: { ":read": next.version },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      throw new VersionConflictError({ keyId: next.keyId, expectedVersion: next.version }, { cause: error });
    }
    return saved;
  }

  /**
   * Open requests (pending, approved, unconfirmed, or `auditPending` in any state), newest first: a Query of
   * the sparse `openOperations` index (KEYS_ONLY), then each request read consistently — an index is only
   * eventually consistent, and the sweep acts on what it reads. A closed request is never read. A request
   * opened a moment ago may not be in the index yet: the next sweep sees it (none is due that soon: a
   * request waits at least PT5M, a run's claim lasts 15 minutes).
   */
  async open(options: { limit: number; nextToken?: string | undefined }): Promise<Page<OperationRequest>> {
    const limit = checkLimit(options.limit);
    const start = decodePageToken(
      options.nextToken,
      [StoreAttribute.OpenPk, "pk", "sk"],
      (key) => key[StoreAttribute.OpenPk] === OPEN_PK && key.pk === OPERATIONS_PK,
    );
    await this.#indexExisting();
    const out = await this.#o.doc.send(
      new QueryCommand({
        TableName: this.#o.tableName,
        IndexName: StoreIndex.OpenOperations,
        KeyConditionExpression: "#openPk = :open",
        ExpressionAttributeNames: { "#openPk": StoreAttribute.OpenPk },
        ExpressionAttributeValues: { ":open": OPEN_PK },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: start,
      }),
    );
    const read = await Promise.all(
      (out.Items ?? []).map((key) => this.get(String(key.sk).slice(OP_PREFIX.length))),
    );
    const nextToken = encodePageToken(out.LastEvaluatedKey);
    return {
      items: read.filter((request) => request !== undefined && isOpen(request)) as OperationRequest[],
      ...(nextToken === undefined ? {} : { nextToken }),
    };
  }

  /**
   * Requests stored before the `openOperations` index existed lack `openPk`: the first {@link open} of a
   * deployment (no mark yet) reads the partition once, adds `openPk` to each open request lacking it (a
   * conditional update on its version, which a request changed since already has), then writes the mark.
   * No migration step: a crash before the mark only makes the next sweep do it again. Once per process.
   */
  async #indexExisting(): Promise<void> {
    if (this.#indexed) return;
    const mark = await this.#o.doc.send(
      new GetCommand({ TableName: this.#o.tableName, Key: OPEN_INDEX_MARK, ConsistentRead: true }),
    );
    if (mark.Item === undefined) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.#o.doc.send(
          new QueryCommand({
            TableName: this.#o.tableName,
            KeyConditionExpression: "pk = :pk",
            FilterExpression: "attribute_not_exists(#openPk)",
            ExpressionAttributeNames: { "#openPk": StoreAttribute.OpenPk },
            ExpressionAttributeValues: { ":pk": OPERATIONS_PK },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) if (isOpenItem(item)) await this.#addToIndex(item);
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
      await this.#o.doc.send(new PutCommand({ TableName: this.#o.tableName, Item: { ...OPEN_INDEX_MARK } }));
    }
    this.#indexed = true;
  }

  async #addToIndex(item: Item): Promise<void> {
    try {
      await this.#o.doc.send(
        new UpdateCommand({
          TableName: this.#o.tableName,
          Key: { pk: item.pk, sk: item.sk },
          UpdateExpression: "SET #openPk = :open",
          ConditionExpression: "#version = :read",
          ExpressionAttributeNames: { "#openPk": StoreAttribute.OpenPk, "#version": "version" },
          ExpressionAttributeValues: { ":open": OPEN_PK, ":read": item.version },
        }),
      );
    } catch (error) {
      // Rewritten since it was read: that write put it in the index, if it is still open.
      if (!isConditionFailed(error)) throw error;
    }
  }

  async list(options: {
    limit: number;
    nextToken?: string | undefined;
    states?: readonly string[] | undefined;
  }): Promise<Page<OperationRequest>> {
    const limit = checkLimit(options.limit);
    const start = decodePageToken(
      options.nextToken,
      ["pk", "sk"],
      (key) => key.pk === OPERATIONS_PK && (key.sk ?? "").startsWith(OP_PREFIX),
    );
    const states = options.states ?? [];
    const filter =
      states.length === 0
        ? {}
        : {
            FilterExpression: `#state IN (${states.map((_, n) => `:s${n}`).join(", ")})`,
            ExpressionAttributeNames: { "#state": "state" },
          };
    const out = await this.#o.doc.send(
      new QueryCommand({
        TableName: this.#o.tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: {
          ":pk": OPERATIONS_PK,
          ...Object.fromEntries(states.map((s, n) => [`:s${n}`, s])),
        },
        ...filter,
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    const nextToken = encodePageToken(out.LastEvaluatedKey);
    return {
      items: (out.Items ?? []).map(fromItem),
      ...(nextToken === undefined ? {} : { nextToken }),
    };
  }
}

function toItem(request: OperationRequest): Item {
  const iso = (d: Date | undefined) => d?.toISOString();
  const approval = (a: Approval) => ({
    by: a.by,
    person: a.person,
    at: a.at.toISOString(),
    reason: a.reason,
  });
  return dropUndefined({
    pk: OPERATIONS_PK,
    sk: `${OP_PREFIX}${request.id}`,
    id: request.id,
    operation: request.operation,
    keyId: request.keyId,
    keyArn: request.keyArn,
    input: request.input,
    weakenings: request.weakenings === undefined ? undefined : [...request.weakenings],
    requestedBy: request.requestedBy,
    requesterPerson: request.requesterPerson,
    reason: request.reason,
    createdAt: iso(request.createdAt),
    expiresAt: iso(request.expiresAt),
    quorum: request.quorum,
    emergency: request.emergency,
    state: request.state,
    approvals: request.approvals.map(approval),
    denial: request.denial === undefined ? undefined : approval(request.denial),
    executionStartedAt: iso(request.executionStartedAt),
    claimedUntil: iso(request.claimedUntil),
    finishedAt: iso(request.finishedAt),
    errorName: request.errorName,
    auditPending: request.auditPending === true ? true : undefined,
    version: request.version,
    expiration: expirationOf(request),
    [StoreAttribute.OpenPk]: isOpen(request) ? OPEN_PK : undefined,
  });
}

/** In the `openOperations` index: what the sweep must look at. */
function isOpen(request: Pick<OperationRequest, "state" | "auditPending">): boolean {
  return OPEN_STATES.includes(request.state) || request.auditPending === true;
}

function isOpenItem(item: Item): boolean {
  return OPEN_STATES.includes(String(item.state)) || item.auditPending === true;
}

/** The TTL of a closed request (epoch seconds); none while it is open. */
function expirationOf(request: OperationRequest): number | undefined {
  if (!CLOSED.has(request.state)) return undefined;
  const closedAt =
    request.state === OperationState.Expired
      ? request.expiresAt
      : (request.finishedAt ?? request.denial?.at ?? request.approvals.at(-1)?.at ?? request.expiresAt);
  return Math.floor((closedAt.getTime() + CLOSED_RETENTION_MS) / 1000);
}

function dropUndefined(item: Item): Item {
  return Object.fromEntries(Object.entries(item).filter(([, v]) => v !== undefined));
}

const STATES = new Set<string>(Object.values(OperationState));

function fromItem(item: Item): OperationRequest {
  const where = { pk: String(item.pk), sk: String(item.sk) };
  const bad = (field: string) => new CorruptRecordError(where, `${field}: not valid`);
  const str = (name: string): string => {
    const value = item[name];
    if (typeof value !== "string") throw bad(name);
    return value;
  };
  const date = (value: unknown, name: string): Date => {
    const d = new Date(String(value));
    if (typeof value !== "string" || Number.isNaN(d.getTime())) throw bad(name);
    return d;
  };
  const optionalDate = (name: string) => (item[name] === undefined ? undefined : date(item[name], name));
  const approval = (value: unknown, name: string): Approval => {
    const a = value as Item;
    if (typeof a !== "object" || a === null) throw bad(name);
    return { by: String(a.by), person: String(a.person), at: date(a.at, name), reason: String(a.reason) };
  };
  const operation = str("operation");
  if (!OPERATION_KINDS.includes(operation as OperationKind)) throw bad("operation");
  const state = str("state");
  if (!STATES.has(state)) throw bad("state");
  if (!Array.isArray(item.approvals)) throw bad("approvals");
  return {
    id: str("id"),
    operation: operation as OperationKind,
    keyId: str("keyId"),
    keyArn: typeof item.keyArn === "string" ? item.keyArn : undefined,
    input: (item.input ?? {}) as Record<string, unknown>,
    weakenings: Array.isArray(item.weakenings) ? item.weakenings.map(String) : undefined,
    requestedBy: str("requestedBy"),
    requesterPerson: str("requesterPerson"),
    reason: str("reason"),
    createdAt: date(item.createdAt, "createdAt"),
    expiresAt: date(item.expiresAt, "expiresAt"),
    quorum: Number(item.quorum),
    emergency: item.emergency === true,
    state: state as OperationState,
    approvals: item.approvals.map((a) => approval(a, "approvals")),
    denial: item.denial === undefined ? undefined : approval(item.denial, "denial"),
    executionStartedAt: optionalDate("executionStartedAt"),
    claimedUntil: optionalDate("claimedUntil"),
    finishedAt: optionalDate("finishedAt"),
    errorName: typeof item.errorName === "string" ? item.errorName : undefined,
    auditPending: item.auditPending === true ? true : undefined,
    version: Number(item.version),
  };
}
