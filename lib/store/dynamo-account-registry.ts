import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { StateConflictError } from "../domain/errors.js";
import type { AccountCheck, MemberAccount } from "../domain/member-account.js";
import type { AccountRegistry } from "../lifecycle/ports.js";
import { isConditionFailed } from "./dynamo-helpers.js";
import { type DynamoStoreOptions, type ResolvedStoreOptions, resolveStoreOptions } from "./store-options.js";

/**
 * Member accounts (README, "Member accounts"), one item each in one partition, so listing them is one Query:
 *   ACCOUNTS     ACCOUNT#<account id>     role ARN, external id, name, who added it and when, the check on add
 * A registration is a conditional put (two racing adds of one account: one wins, the other is a 409).
 */
export const ACCOUNTS_PK = "ACCOUNTS";
const ACCOUNT_PREFIX = "ACCOUNT#";

type Item = Record<string, unknown>;

export class DynamoAccountRegistry implements AccountRegistry {
  readonly #o: ResolvedStoreOptions;

  constructor(options: DynamoStoreOptions) {
    this.#o = resolveStoreOptions(options);
  }

  async add(account: MemberAccount): Promise<void> {
    try {
      await this.#o.doc.send(
        new PutCommand({
          TableName: this.#o.tableName,
          Item: {
            pk: ACCOUNTS_PK,
            sk: `${ACCOUNT_PREFIX}${account.accountId}`,
            accountId: account.accountId,
            roleArn: account.roleArn,
            externalId: account.externalId,
            ...(account.name === undefined ? {} : { name: account.name }),
            addedAt: account.addedAt,
            addedBy: account.addedBy,
            check: account.check,
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      throw new StateConflictError(
        `Account ${account.accountId} is registered already; remove it first.`,
        { keyId: account.accountId, state: "registered", field: "roleArn" },
        { cause: error },
      );
    }
  }

  async get(accountId: string): Promise<MemberAccount | undefined> {
    const out = await this.#o.doc.send(
      new GetCommand({
        TableName: this.#o.tableName,
        Key: { pk: ACCOUNTS_PK, sk: `${ACCOUNT_PREFIX}${accountId}` },
        ConsistentRead: true,
      }),
    );
    return out.Item === undefined ? undefined : toAccount(out.Item);
  }

  async list(): Promise<MemberAccount[]> {
    const accounts: MemberAccount[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.#o.doc.send(
        new QueryCommand({
          TableName: this.#o.tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": ACCOUNTS_PK, ":prefix": ACCOUNT_PREFIX },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      accounts.push(...(out.Items ?? []).map(toAccount));
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return accounts;
  }

  /**
   * One conditional write: the account's item takes the failure's time and code unless another caller
   * alerted within `quietMs` (or the account is not registered), so one member's outage is one alert.
   */
  async noteAccessFailure(accountId: string, code: string, at: Date, quietMs: number): Promise<boolean> {
    try {
      await this.#o.doc.send(
        new UpdateCommand({
          TableName: this.#o.tableName,
          Key: { pk: ACCOUNTS_PK, sk: `${ACCOUNT_PREFIX}${accountId}` },
          UpdateExpression: "SET accessAlertedAt = :at, accessFailure = :code",
          ConditionExpression:
            "attribute_exists(pk) AND (attribute_not_exists(accessAlertedAt) OR accessAlertedAt < :quietSince)",
          ExpressionAttributeValues: {
            ":at": at.toISOString(),
            ":code": code,
            ":quietSince": new Date(at.getTime() - quietMs).toISOString(),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async remove(accountId: string): Promise<boolean> {
    const out = await this.#o.doc.send(
      new DeleteCommand({
        TableName: this.#o.tableName,
        Key: { pk: ACCOUNTS_PK, sk: `${ACCOUNT_PREFIX}${accountId}` },
        ReturnValues: "ALL_OLD",
      }),
    );
    return out.Attributes !== undefined;
  }
}

function toAccount(item: Item): MemberAccount {
  return {
    accountId: String(item.accountId),
    roleArn: String(item.roleArn),
    externalId: String(item.externalId),
    ...(typeof item.name === "string" ? { name: item.name } : {}),
    addedAt: String(item.addedAt),
    addedBy: String(item.addedBy),
    check: item.check as AccountCheck,
  };
}
