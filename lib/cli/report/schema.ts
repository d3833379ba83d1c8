/**
 * The inventory report's JSON format (`tether report --format json`), as a zod schema: the builder's types
 * come from it, and docs/report.schema.json (JSON Schema 2020-12, for auditors' tools) is generated from it
 * by scripts/report-schema.ts; a test checks the two agree and validates real output with ajv.
 * The report names material by reference and check value only, never the material.
 */
import * as z from "zod";

export const REPORT_SCHEMA_VERSION = 1;

const iso = () => z.iso.datetime({ offset: true });

export const ReportEventKind = ["rotation", "key-swap", "revoke", "restore"] as const;
export const FindingKind = ["failing", "expiring", "unattributed-loss"] as const;

/** One key in one Region: the inventory line. */
export const ReportRow = z.strictObject({
  keyId: z.string().describe("Tether's id (tk_…)"),
  keyArn: z.string().describe("The key's ARN in this Region"),
  region: z.string(),
  primary: z.boolean().describe("The primary Region (a replica otherwise)"),
  alias: z.string().optional(),
  keySpec: z.string(),
  keyUsage: z.string().optional().describe("From KMS (DescribeKey); absent when KMS could not be asked"),
  vault: z.string().optional().describe("The kind of vault holding the material"),
  materialRef: z.string().describe("Where the vault keeps the material (never the material)"),
  checkValue: z.string().describe("The material's check value: a fingerprint, not the material"),
  policy: z.string().describe("The import policy, in words"),
  status: z.string().describe("active, paused or revoked"),
  keyState: z.string().optional().describe("KMS's KeyState, as read when the report was made"),
  validTo: iso().optional().describe("When the material expires (KMS's, else the one Tether imported)"),
  lastImportedAt: iso().optional(),
  lastImportedBy: z.string().optional().describe("Who made the last import (from the audit history)"),
  nextAction: z.string().optional().describe("What Tether plans here next (renew, restore, none, ...)"),
  nextActionAt: iso().optional(),
  plannedRenewalAt: iso().optional().describe("When the next renewal is planned"),
  consecutiveFailures: z.number().int().min(0),
  lastFailure: z.string().optional(),
  lossCause: z.string().optional(),
  supersededBy: z.string().optional().describe("The key that replaced this one in a key swap"),
  supersedes: z.string().optional(),
  rotations: z.number().int().min(0).describe("In-key rotations in the period"),
  keySwaps: z.number().int().min(0).describe("Key swaps in the period"),
  revokes: z.number().int().min(0).describe("Revokes in the period"),
  restores: z.number().int().min(0).describe("Restores in the period"),
});

/** A rotation, key swap, revoke or restore in the period. */
export const ReportEvent = z.strictObject({
  time: iso(),
  kind: z.enum(ReportEventKind),
  keyId: z.string(),
  region: z.string().optional(),
  actor: z.string(),
  reason: z.string().optional(),
  relatedKeyId: z.string().optional().describe("A key swap's other key"),
});

/** Something an auditor or operator should look at. */
export const Finding = z.strictObject({
  kind: z.enum(FindingKind),
  keyId: z.string(),
  keyArn: z.string(),
  region: z.string(),
  detail: z.string(),
  since: iso().optional().describe("failing: the last failure; expiring: ValidTo; loss: when seen"),
});

export const InventoryReport = z.strictObject({
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  generatedAt: iso(),
  since: iso().describe("Start of the period events are reported for"),
  warningWindow: z.string().describe("ISO 8601 duration: material expiring within it is a finding"),
  api: z.string().optional().describe("The API the report was read from"),
  summary: z.strictObject({
    keys: z.number().int().min(0),
    keyRegions: z.number().int().min(0),
    failing: z.number().int().min(0),
    expiring: z.number().int().min(0),
    unattributedLosses: z.number().int().min(0),
    events: z.number().int().min(0),
  }),
  rows: z.array(ReportRow).describe("One per key and Region"),
  events: z.array(ReportEvent).describe("Oldest first"),
  findings: z.array(Finding),
});

export type ReportRow = z.infer<typeof ReportRow>;
export type ReportEvent = z.infer<typeof ReportEvent>;
export type Finding = z.infer<typeof Finding>;
export type InventoryReport = z.infer<typeof InventoryReport>;

/** docs/report.schema.json exactly as committed: two-space indented, with a final newline. */
export function reportSchemaJson(): string {
  const schema = {
    title: "Tether inventory report (tether report --format json)",
    ...z.toJSONSchema(InventoryReport, { target: "draft-2020-12" }),
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}
