import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { AwsRegion, TetherKeyId } from "../domain/ids.js";
import { WrappingAlgorithm, WrappingKeySpec } from "../domain/kms-constants.js";
import type { ImportParametersStore, StoredImportParameters } from "../lifecycle/ports.js";
import { isConditionFailed } from "./dynamo-helpers.js";
import { CorruptRecordError } from "./errors.js";
import { keyPk, regionSk } from "./item-keys.js";
import { ParametersAttribute as A } from "./key-items.js";
import { type DynamoStoreOptions, type ResolvedStoreOptions, resolveStoreOptions } from "./store-options.js";

/**
 * Warm import parameters on their Region item: the public key and token in `importParameters` (binary, about
 * 1.6 KB with an RSA_4096 public key against DynamoDB's 400 KB item limit), their validity and wrapping in
 * top-level attributes the Region record reads. Writes of their own, each a conditional UpdateItem naming
 * only these attributes: a set is never written by saveRegion (which names none of them, so it neither
 * rewrites the blob nor drops it), never creates a Region (attribute_exists), and never replaces a later
 * set of the same wrapping with an earlier one.
 */
export class DynamoImportParametersStore implements ImportParametersStore {
  readonly #o: ResolvedStoreOptions;

  constructor(options: DynamoStoreOptions) {
    this.#o = resolveStoreOptions(options);
  }

  async get(keyId: TetherKeyId, region: AwsRegion): Promise<StoredImportParameters | undefined> {
    const key = { pk: keyPk(keyId), sk: regionSk(region) };
    const output = await this.#o.doc.send(
      new GetCommand({
        TableName: this.#o.tableName,
        Key: key,
        ConsistentRead: true,
        ProjectionExpression: "#blob, #validTo, #algorithm, #spec",
        ExpressionAttributeNames: {
          "#blob": A.Blob,
          "#validTo": A.ValidTo,
          "#algorithm": A.WrappingAlgorithm,
          "#spec": A.WrappingKeySpec,
        },
      }),
    );
    const item = output.Item;
    if (item === undefined || item[A.Blob] === undefined) return undefined;
    const blob = item[A.Blob] as Record<string, unknown>;
    const validTo = item[A.ValidTo];
    const algorithm = item[A.WrappingAlgorithm];
    const spec = item[A.WrappingKeySpec];
    if (
      typeof blob !== "object" ||
      !(blob.publicKey instanceof Uint8Array) ||
      !(blob.importToken instanceof Uint8Array) ||
      typeof validTo !== "number" ||
      typeof algorithm !== "string" ||
      !Object.hasOwn(WrappingAlgorithm, algorithm) ||
      typeof spec !== "string" ||
      !Object.hasOwn(WrappingKeySpec, spec)
    ) {
      // Named by attribute only: the values are never put in an error.
      throw new CorruptRecordError(key, `${A.Blob}: not a stored set of import parameters`);
    }
    return {
      publicKey: blob.publicKey,
      importToken: blob.importToken,
      validTo: new Date(validTo),
      wrapping: {
        wrappingAlgorithm: algorithm as WrappingAlgorithm,
        wrappingKeySpec: spec as WrappingKeySpec,
      },
    };
  }

  async put(keyId: TetherKeyId, region: AwsRegion, parameters: StoredImportParameters): Promise<void> {
    try {
      await this.#o.doc.send(
        new UpdateCommand({
          TableName: this.#o.tableName,
          Key: { pk: keyPk(keyId), sk: regionSk(region) },
          UpdateExpression: "SET #blob = :blob, #validTo = :validTo, #algorithm = :algorithm, #spec = :spec",
          // A later set of the same wrapping stays; a set of another wrapping is replaced (the policy or the
          // vault changed, and only the current wrapping's set is of use).
          ConditionExpression:
            "attribute_exists(pk) AND (attribute_not_exists(#validTo) OR #validTo < :validTo OR #algorithm <> :algorithm OR #spec <> :spec)",
          ExpressionAttributeNames: {
            "#blob": A.Blob,
            "#validTo": A.ValidTo,
            "#algorithm": A.WrappingAlgorithm,
            "#spec": A.WrappingKeySpec,
          },
          ExpressionAttributeValues: {
            ":blob": { publicKey: parameters.publicKey, importToken: parameters.importToken },
            ":validTo": parameters.validTo.getTime(),
            ":algorithm": parameters.wrapping.wrappingAlgorithm,
            ":spec": parameters.wrapping.wrappingKeySpec,
          },
        }),
      );
    } catch (error) {
      // A later set is stored already, or the Region is gone: nothing to keep.
      if (!isConditionFailed(error)) throw error;
    }
  }

  async drop(keyId: TetherKeyId, region: AwsRegion, validTo: Date): Promise<void> {
    try {
      await this.#o.doc.send(
        new UpdateCommand({
          TableName: this.#o.tableName,
          Key: { pk: keyPk(keyId), sk: regionSk(region) },
          UpdateExpression: "REMOVE #blob, #validTo, #algorithm, #spec",
          ConditionExpression: "#validTo = :validTo",
          ExpressionAttributeNames: {
            "#blob": A.Blob,
            "#validTo": A.ValidTo,
            "#algorithm": A.WrappingAlgorithm,
            "#spec": A.WrappingKeySpec,
          },
          ExpressionAttributeValues: { ":validTo": validTo.getTime() },
        }),
      );
    } catch (error) {
      // Another set replaced it meanwhile (or the Region is gone): that one is not known to be refused.
      if (!isConditionFailed(error)) throw error;
    }
  }
}
