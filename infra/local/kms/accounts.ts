/**
 * The emulator's accounts: one KmsStore per AWS account, the account taken from the caller's credentials
 * (CallerIdentities: a registered IAM user or assumed-role session names its account in its ARN, and
 * sessions the local STS issues are registered as the member role's). The default account (111122223333
 * unless set) is what every unregistered access key calls as, so a single-account caller sees what it saw
 * before there were several. Import tokens are sealed with one secret for all accounts; a token names the
 * account it was issued in, so another account's token is refused as another key's.
 */
import type { StateSnapshot } from "./store.js";
import { KmsStore } from "./store.js";

/** What is persisted for an account other than the default one. */
export interface AccountSnapshot {
  keys: StateSnapshot["keys"];
  aliases: StateSnapshot["aliases"];
  tokenGenerations?: Record<string, number>;
}

const ACCOUNT_ID = /^\d{12}$/;

export class AccountStores {
  readonly defaultStore: KmsStore;
  private readonly others = new Map<string, KmsStore>();

  constructor(
    readonly defaultAccountId: string,
    snapshot?: StateSnapshot,
  ) {
    this.defaultStore = new KmsStore(defaultAccountId, snapshot);
    for (const [accountId, account] of Object.entries(snapshot?.accounts ?? {})) {
      this.others.set(accountId, this.newStore(accountId, account));
    }
  }

  private newStore(accountId: string, account?: AccountSnapshot): KmsStore {
    const store = new KmsStore(accountId, {
      version: 1,
      tokenSecret: this.defaultStore.tokenSecret.toString("base64"),
      clockOffsetMs: 0,
      keys: account?.keys ?? [],
      aliases: account?.aliases ?? [],
      ...(account?.tokenGenerations ? { tokenGenerations: account.tokenGenerations } : {}),
    });
    store.tokenSecret = this.defaultStore.tokenSecret;
    return store;
  }

  /** The store of `accountId`, created empty on first use (an account has no keys until it makes some). */
  forAccount(accountId: string): KmsStore {
    if (accountId === this.defaultAccountId) return this.defaultStore;
    if (!ACCOUNT_ID.test(accountId)) throw new Error(`not an AWS account id: ${accountId}`);
    let store = this.others.get(accountId);
    if (!store) {
      store = this.newStore(accountId);
      this.others.set(accountId, store);
    }
    return store;
  }

  /** Every account's store, the default one first. */
  all(): KmsStore[] {
    return [this.defaultStore, ...this.others.values()];
  }

  snapshot(clockOffsetMs: number): StateSnapshot {
    const base = this.defaultStore.snapshot(clockOffsetMs);
    const accounts: Record<string, AccountSnapshot> = {};
    for (const [accountId, store] of this.others) {
      const { keys, aliases, tokenGenerations } = store.snapshot(clockOffsetMs);
      if (keys.length === 0 && aliases.length === 0 && tokenGenerations === undefined) continue;
      accounts[accountId] = { keys, aliases, ...(tokenGenerations ? { tokenGenerations } : {}) };
    }
    return Object.keys(accounts).length === 0 ? base : { ...base, accounts };
  }

  clear(): void {
    this.defaultStore.clear();
    this.others.clear();
  }
}
