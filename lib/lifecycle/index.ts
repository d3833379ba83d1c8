/**
 * Tether's use cases, over the ports of ports.ts (and account-ports.ts). The folders read as a table of
 * contents:
 *   use-cases/  what an operator or an API call asks: register, re-import/revoke/restore (operator-actions),
 *               rotate and key swap, policy and unmanage (key-admin), queries, dual control's operation
 *               requests (approvals), member accounts, the vault agent's side
 *   region/     the region engine: one run per key-Region (reconcile-region) and what it reads and writes
 *               (import, events, outcome), loss evidence, KMS signals (events) turned into runs
 *   scheduled/  what the schedules run: the sweep (its due work drained per account-Region partition,
 *               partitions.ts, or fanned out to one sweep-partition run each), the incident drain, sentinels, warm import parameters, the expiry metric,
 *               the sweep's extras (dual control's part, the vault agents' health)
 *   helpers/    one lease helper, one import step, one audit context, saving a key under contention
 */
export type * from "./ports.js";
export * from "./region/kms-signal.js";
export * from "./region/reconcile-region.js";
export * from "./scheduled/sweep.js";
export * from "./scheduled/sweep-partition.js";
export * from "./use-cases/operator-actions.js";
export * from "./use-cases/register.js";
export * from "./use-cases/rotate.js";
export * from "./use-cases/swap.js";
