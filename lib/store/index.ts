export { DynamoAuditLog } from "./dynamo-audit-log.js";
export { DynamoKeyRepository } from "./dynamo-key-repository.js";
export { ensureTable } from "./ensure-table.js";
export { CorruptRecordError } from "./errors.js";
export { dueShard, outboxShard, shardOf } from "./item-keys.js";
export type { DynamoStoreOptions } from "./store-options.js";
export {
  DUE_SHARDS,
  OUTBOX_SHARDS,
  StoreAttribute,
  StoreIndex,
  TABLE_DEFINITION,
  tableDefinition,
} from "./table-definition.js";
