/**
 * Where the emulator keeps its keys and aliases, per Region, and how KMS key identifiers
 * (key id, key ARN, alias name, alias ARN) resolve to keys.
 */
import { randomBytes } from "node:crypto";
import { type AliasRecord, aliasArn, type KeyRecord } from "./domain/model.js";
import { KmsErrorType, kmsError } from "./errors.js";

const KEY_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

/** The JSON document persisted in dataDir. */
export interface StateSnapshot {
  version: 1;
  /** Base64 secret that seals import tokens; kept so tokens survive a restart. */
  tokenSecret: string;
  clockOffsetMs: number;
  /**
   * Per Region, the generation of import tokens still honoured: a `lose-material` that invalidates tokens
   * moves it on, and a token sealed under an earlier generation is refused. Absent: every Region at 0.
   */
  tokenGenerations?: Record<string, number>;
  keys: KeyRecord[];
  aliases: AliasRecord[];
  /** Accounts other than the default one (AccountStores), each with its keys and aliases; absent: none. */
  accounts?: Record<
    string,
    { keys: KeyRecord[]; aliases: AliasRecord[]; tokenGenerations?: Record<string, number> }
  >;
}

export class KmsStore {
  private readonly keys = new Map<string, KeyRecord>();
  private readonly aliases = new Map<string, AliasRecord>();
  tokenSecret: Buffer;
  private readonly tokenGenerations = new Map<string, number>();

  constructor(
    readonly accountId: string,
    snapshot?: StateSnapshot,
  ) {
    this.tokenSecret = snapshot ? Buffer.from(snapshot.tokenSecret, "base64") : randomBytes(32);
    for (const [region, generation] of Object.entries(snapshot?.tokenGenerations ?? {})) {
      this.tokenGenerations.set(region, generation);
    }
    for (const key of snapshot?.keys ?? []) this.putKey(key);
    for (const alias of snapshot?.aliases ?? [])
      this.aliases.set(`${alias.region}/${alias.aliasName}`, alias);
  }

  snapshot(clockOffsetMs: number): StateSnapshot {
    return {
      version: 1,
      tokenSecret: this.tokenSecret.toString("base64"),
      clockOffsetMs,
      ...(this.tokenGenerations.size === 0
        ? {}
        : { tokenGenerations: Object.fromEntries(this.tokenGenerations) }),
      keys: [...this.keys.values()],
      aliases: [...this.aliases.values()],
    };
  }

  clear(): void {
    this.keys.clear();
    this.aliases.clear();
    this.tokenGenerations.clear();
  }

  /** The generation of import tokens a Region honours now (sealed into each token it issues). */
  tokenGeneration(region: string): number {
    return this.tokenGenerations.get(region) ?? 0;
  }

  /** Every import token issued in `region` so far stops working (InvalidImportTokenException). */
  invalidateImportTokens(region: string): void {
    this.tokenGenerations.set(region, this.tokenGeneration(region) + 1);
  }

  putKey(key: KeyRecord): void {
    this.keys.set(`${key.region}/${key.keyId}`, key);
  }

  deleteKey(key: KeyRecord): void {
    this.keys.delete(`${key.region}/${key.keyId}`);
    for (const [name, alias] of this.aliases) {
      if (alias.region === key.region && alias.targetKeyId === key.keyId) this.aliases.delete(name);
    }
  }

  findKey(region: string, keyId: string): KeyRecord | undefined {
    return this.keys.get(`${region}/${keyId}`);
  }

  allKeys(): KeyRecord[] {
    return [...this.keys.values()];
  }

  keysIn(region: string): KeyRecord[] {
    return this.allKeys()
      .filter((k) => k.region === region)
      .sort((a, b) => a.creationDate - b.creationDate || a.keyId.localeCompare(b.keyId));
  }

  /** The related multi-Region keys (same key id) in every Region, this one included. */
  related(key: KeyRecord): KeyRecord[] {
    if (!key.multiRegion) return [key];
    return this.allKeys().filter((k) => k.keyId === key.keyId);
  }

  primaryOf(key: KeyRecord): KeyRecord | undefined {
    return this.related(key).find((k) => k.multiRegionKeyType === "PRIMARY");
  }

  findAlias(region: string, aliasName: string): AliasRecord | undefined {
    return this.aliases.get(`${region}/${aliasName}`);
  }

  putAlias(alias: AliasRecord): void {
    this.aliases.set(`${alias.region}/${alias.aliasName}`, alias);
  }

  deleteAlias(alias: AliasRecord): void {
    this.aliases.delete(`${alias.region}/${alias.aliasName}`);
  }

  aliasesIn(region: string): AliasRecord[] {
    return [...this.aliases.values()]
      .filter((a) => a.region === region)
      .sort((a, b) => a.aliasName.localeCompare(b.aliasName));
  }

  /**
   * Resolves a KeyId parameter. Aliases are accepted only where AWS accepts them (`allowAlias`).
   * @throws KmsApiError NotFoundException with AWS's messages for each way it can fail.
   */
  resolveKey(region: string, identifier: string, opts: { allowAlias: boolean }): KeyRecord {
    const arn = ARN.exec(identifier);
    let keyId = identifier;
    let aliasName: string | undefined;
    if (arn) {
      const [, arnRegion, account, kind, name] = arn;
      if (arnRegion !== region) throw kmsError(KmsErrorType.NotFound, `Invalid arn ${arnRegion}`);
      if (account !== this.accountId) {
        throw kmsError(KmsErrorType.NotFound, `Key '${identifier}' does not exist`);
      }
      if (kind === "alias") aliasName = `alias/${name}`;
      else keyId = name ?? "";
    } else if (identifier.startsWith("alias/")) {
      aliasName = identifier;
    }
    if (aliasName !== undefined) {
      if (!opts.allowAlias) throw kmsError(KmsErrorType.NotFound, `Invalid keyId '${identifier}'`);
      const alias = this.findAlias(region, aliasName);
      if (!alias) {
        throw kmsError(
          KmsErrorType.NotFound,
          `Alias ${aliasArn(region, this.accountId, aliasName)} is not found.`,
        );
      }
      keyId = alias.targetKeyId;
    } else if (!KEY_ID.test(keyId)) {
      throw kmsError(KmsErrorType.NotFound, `Invalid keyId '${identifier}'`);
    }
    const key = this.findKey(region, keyId);
    if (!key) {
      throw kmsError(
        KmsErrorType.NotFound,
        `Key 'arn:aws:kms:${region}:${this.accountId}:key/${keyId}' does not exist`,
      );
    }
    return key;
  }
}
