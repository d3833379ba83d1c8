import type { WrappingChoice } from "../domain/wrapping.js";

/**
 * A public key and the import token that belongs to it, from one GetParametersForImport answer. They are
 * used together or not at all (never a token with another call's public key). Held in this process's memory
 * (the cache below) and, for a managed key-Region, stored with its Region record (ImportParametersStore).
 */
export interface ImportParameters {
  readonly publicKey: Uint8Array;
  readonly importToken: Uint8Array;
  readonly validTo: Date;
}

/**
 * Reuses a key's import parameters while they stay valid: GetParametersForImport allows 1 request per
 * second per account and Region, so fetching a pair per import would make it the bound of a mass renewal.
 * A pair is dropped `safetyMarginMs` before its ParametersValidTo, and at once when KMS refuses it.
 *
 * The first of two tiers: the KMS adapter asks this process's memory first (no table read for the next
 * import of the same key-Region, as in a mass renewal), then the set stored with the Region record — the
 * tier that survives a cold start, is shared by every function, and is what keeps a key-Region warm for a
 * restore after a regional loss. Kept, not replaced, because a Lambda reused across invocations saves a
 * consistent read per import with it, and sentinels (which have no Region record) use it alone.
 */
export class ImportParametersCache {
  readonly #entries = new Map<string, ImportParameters>();
  readonly #safetyMarginMs: number;
  readonly #maxEntries: number;

  constructor(options: { safetyMarginMs?: number; maxEntries?: number } = {}) {
    this.#safetyMarginMs = options.safetyMarginMs ?? 60 * 60 * 1000;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  get(region: string, keyId: string, wrapping: WrappingChoice, now: Date): ImportParameters | undefined {
    const id = cacheId(region, keyId, wrapping);
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.validTo.getTime() - this.#safetyMarginMs <= now.getTime()) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry;
  }

  set(region: string, keyId: string, wrapping: WrappingChoice, parameters: ImportParameters): void {
    if (this.#entries.size >= this.#maxEntries) {
      // Oldest insertion first: Map keeps insertion order.
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(cacheId(region, keyId, wrapping), parameters);
  }

  drop(region: string, keyId: string, wrapping: WrappingChoice): void {
    this.#entries.delete(cacheId(region, keyId, wrapping));
  }

  get size(): number {
    return this.#entries.size;
  }
}

function cacheId(region: string, keyId: string, wrapping: WrappingChoice): string {
  return `${region}\u0000${keyId}\u0000${wrapping.wrappingAlgorithm}\u0000${wrapping.wrappingKeySpec}`;
}
