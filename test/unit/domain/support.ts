import {
  type ImportPolicy,
  type KeyFound,
  KeySpec,
  type ManagedKey,
  newManagedKey,
  type ObservedKeyState,
  parseCheckValue,
  parseImportPolicy,
  parseMaterialRef,
  parseTetherKeyId,
  type RegionRecord,
} from "../../../lib/domain/index.js";

/** The fixed clock of every domain test. */
export const NOW = new Date("2025-06-01T00:00:00.000Z");
export const HOUR = 60 * 60 * 1000;
export const DAY = 24 * HOUR;

export const at = (offsetMs: number): Date => new Date(NOW.getTime() + offsetMs);

export const KEY_ID = parseTetherKeyId("tk_01JX0000000000000000000000");
export const PRIMARY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef";
export const REPLICA_ARN = "arn:aws:kms:us-east-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef";

/** A registered Multi-Region key (never imported) with the given policy input. */
export function makeKey(policyInput: unknown = {}, overrides: Partial<ManagedKey> = {}): ManagedKey {
  const key = newManagedKey(
    {
      id: KEY_ID,
      keyArn: PRIMARY_ARN,
      keySpec: KeySpec.SYMMETRIC_DEFAULT,
      replicaArns: [REPLICA_ARN],
      materialRef: parseMaterialRef("customers/acme/payments"),
      checkValue: parseCheckValue("kcv-aes:1A2B3C"),
      policy: parseImportPolicy(policyInput),
    },
    at(-30 * DAY),
  );
  return { ...key, ...overrides };
}

export function primaryOf(key: ManagedKey): RegionRecord {
  return key.regions[0] as RegionRecord;
}

/** A region record Tether imported into at `importedAt` with `validTo`. */
export function importedRegion(key: ManagedKey, importedAt: Date, validTo: Date | undefined): RegionRecord {
  return {
    ...primaryOf(key),
    materialExpected: true,
    lastImportedAt: importedAt,
    importedValidTo: validTo,
  };
}

export function policyOf(input: unknown): ImportPolicy {
  return parseImportPolicy(input);
}

/** DescribeKey of an EXTERNAL SYMMETRIC_DEFAULT key. */
export function found(overrides: Partial<KeyFound> = {}): KeyFound {
  return {
    found: true,
    keyState: "Enabled",
    origin: "EXTERNAL",
    enabled: true,
    expirationModel: "KEY_MATERIAL_EXPIRES",
    keySpec: "SYMMETRIC_DEFAULT",
    ...overrides,
  };
}

export function pendingImport(): KeyFound {
  return found({ keyState: "PendingImport", enabled: false, expirationModel: undefined, validTo: undefined });
}

export const NOT_FOUND: ObservedKeyState = { found: false };
