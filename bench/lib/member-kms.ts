/**
 * Several accounts' keys in one Tether table for the sweep's partition tests (partitioned-sweep,
 * sweep-fanout): a KmsPort that hands each call to the port of the account the call's key ARN names (each
 * port an adapter whose client signs as that account, the emulator taking the account from the credentials:
 * infra/local/kms/accounts.ts), the hub's otherwise. Those tests wrap each account's port to watch its calls;
 * the benchmark and the member tests use the composition's own routing through member roles instead
 * (bench/lib/deps.ts `memberAccounts`). Registers each account's caller with the emulator.
 */

import type { KmsAdmin } from "../../infra/local/kms/admin-client.js";
import { accountOfKeyId } from "../../lib/domain/key-arn.js";
import type { ImportParametersCache } from "../../lib/kms/import-parameters.js";
import type { AccountRegistry } from "../../lib/lifecycle/account-ports.js";
import type { KmsPort } from "../../lib/lifecycle/ports.js";
import type { Bed } from "./bed.js";

/** A member account the emulator knows: its id and the credentials that call as it. */
export interface BenchAccount {
  readonly accountId: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** `count` member accounts (2000000000NN), each registered with the emulator as an IAM user of its own. */
export async function registerAccounts(admin: KmsAdmin, count: number): Promise<BenchAccount[]> {
  const accounts: BenchAccount[] = [];
  for (let i = 1; i <= count; i++) {
    const accountId = `2000000000${String(i).padStart(2, "0")}`;
    const accessKeyId = `AKIDBENCHMEMBER${String(i).padStart(5, "0")}`;
    await admin.registerIdentity({ accessKeyId, arn: `arn:aws:iam::${accountId}:user/tether-bench` });
    accounts.push({ accountId, credentials: { accessKeyId, secretAccessKey: "bench-member-secret" } });
  }
  return accounts;
}

/**
 * Registers `counts[i]` keys in `accounts[i]` (made with that account's credentials, quotas off), one at a
 * time, in the order given: the first account's keys are due first in the due-work index.
 */
export async function registerKeysPerAccount(
  bed: Bed,
  accounts: readonly BenchAccount[],
  counts: readonly number[],
  policy: Parameters<Bed["registerMany"]>[1],
  parametersCache: ImportParametersCache,
): Promise<void> {
  for (const [i, count] of counts.entries()) {
    const setup = bed.deps({ unlimited: true, parametersCache, kmsCredentials: accounts[i]?.credentials });
    try {
      await bed.registerMany(count, policy, setup, 1);
    } finally {
      setup.close();
    }
  }
}

/** The key ARN a KmsPort call names: a `keyId` argument, or a request's `keyId`. */
function keyArnOf(args: readonly unknown[]): string | undefined {
  for (const arg of args) {
    if (typeof arg === "string" && accountOfKeyId(arg) !== undefined) return arg;
    if (typeof arg === "object" && arg !== null && "keyId" in arg) {
      const keyId = (arg as { keyId?: unknown }).keyId;
      if (typeof keyId === "string" && accountOfKeyId(keyId) !== undefined) return keyId;
    }
  }
  return undefined;
}

/** A KmsPort that sends each call to the port of its key's account (`fallback`: a key of no listed account). */
export function accountRoutedKms(ports: ReadonlyMap<string, KmsPort>, fallback: KmsPort): KmsPort {
  const pick = (args: readonly unknown[]): KmsPort =>
    ports.get(accountOfKeyId(keyArnOf(args)) ?? "") ?? fallback;
  return new Proxy(fallback, {
    get(target, name) {
      const own = Reflect.get(target, name) as unknown;
      if (typeof own !== "function") return own;
      return (...args: unknown[]) => {
        const port = pick(args) as unknown as Record<PropertyKey, (...a: unknown[]) => unknown>;
        return port[name]?.(...args);
      };
    },
  });
}

/**
 * A registry that lists `members` (the only call the sweep makes of it: it partitions due work by account only
 * when members are registered). Registration itself (POST /accounts, its check) is not what these measure.
 */
export function listedMembers(members: readonly BenchAccount[]): AccountRegistry {
  const refuse = async (): Promise<never> => {
    throw new Error("the benchmark's member list is read-only");
  };
  return {
    list: async () =>
      members.map((m) => ({ accountId: m.accountId })) as unknown as Awaited<
        ReturnType<AccountRegistry["list"]>
      >,
    get: refuse,
    add: refuse,
    remove: refuse,
  } as unknown as AccountRegistry;
}
