import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import type { AuditEventView, KeyDetailResponse, KeyView } from "../../../lib/api/schemas.js";
import { buildReport, type KeyEvidence, policyText } from "../../../lib/cli/report/build.js";
import { renderReport, timelineSvg } from "../../../lib/cli/report/render.js";
import { InventoryReport, reportSchemaJson } from "../../../lib/cli/report/schema.js";

const NOW = new Date("2026-03-01T00:00:00Z");
const ADMIN = "arn:aws:sts::111122223333:assumed-role/TetherOps/alice";
const days = (n: number) => new Date(NOW.getTime() + n * 86_400_000).toISOString();

function key(id: string, regions: KeyView["regions"], extra: Partial<KeyView> = {}): KeyView {
  return {
    id,
    kmsKeyId: `mrk-${id}`,
    keyArn: regions[0]?.keyArn ?? "",
    account: "111122223333",
    primaryRegion: regions[0]?.region ?? "eu-west-1",
    keySpec: "SYMMETRIC_DEFAULT",
    multiRegion: regions.length > 1,
    vault: "file",
    materialRef: `refs/${id}`,
    checkValue: `kcv-aes:${id}`,
    policy: { validityPeriod: "P30D", renewBefore: "P7D" },
    status: { state: "active" },
    version: 1,
    createdAt: days(-60),
    updatedAt: days(-1),
    regions,
    ...extra,
  };
}

function region(name: string, id: string, extra: Partial<KeyView["regions"][number]> = {}) {
  return {
    region: name,
    keyArn: `arn:aws:kms:${name}:111122223333:key/mrk-${id}`,
    materialExpected: true,
    lastImportedAt: days(-20),
    importedValidTo: days(10),
    nextCheckAt: days(1),
    consecutiveFailures: 0,
    ...extra,
  };
}

function detail(k: KeyView, renewAt: string): KeyDetailResponse {
  return {
    key: k,
    regions: k.regions.map((r) => ({
      region: r.region,
      observed: { found: true, keyState: "Enabled", keyUsage: "ENCRYPT_DECRYPT", validTo: r.importedValidTo },
      nextAction: { kind: "none", summary: "fine", at: days(1), due: false, renewAt },
      warmParameters: true,
    })),
    warmParameters: { warm: k.regions.length, regions: k.regions.length },
  };
}

function event(detailType: string, time: string, extra: Partial<AuditEventView> = {}): AuditEventView {
  return {
    id: `${detailType}-${time}`,
    detailType,
    time,
    keyId: "tk_a",
    actor: ADMIN,
    correlationId: "c",
    schemaVersion: 1,
    ...extra,
  };
}

function fleet(): KeyEvidence[] {
  const a = key(
    "tk_a",
    [region("eu-west-1", "a"), region("eu-central-1", "a", { importedValidTo: days(40) })],
    {
      alias: "alias/payments",
    },
  );
  const b = key("tk_b", [
    region("eu-west-1", "b", {
      consecutiveFailures: 3,
      lastFailure: "KmsThrottledError",
      importedValidTo: days(60),
    }),
  ]);
  const c = key(
    "tk_c",
    [
      region("eu-west-1", "c", {
        lossCause: "local-loss",
        lossDetectedAt: days(-2),
        importedValidTo: days(80),
      }),
    ],
    { status: { state: "revoked", reason: "incident 7", actor: ADMIN, at: days(-3) } },
  );
  return [
    {
      key: a,
      detail: detail(a, days(3)),
      history: [
        event("Key Material Rotated", days(-5), { region: "eu-west-1", reason: "yearly" }),
        event("Key Material Renewed", days(-20), { region: "eu-central-1", actor: "tether:sweep" }),
        event("Key Material Imported", days(-21), { region: "eu-west-1" }),
        event("Key Material Revoked", days(-90), { region: "eu-west-1", reason: "long ago" }),
      ],
    },
    { key: b, detail: detail(b, days(53)), history: [] },
    {
      key: c,
      detail: undefined,
      history: [event("Key Material Revoked", days(-3), { keyId: "tk_c", reason: "incident 7" })],
    },
  ];
}

const report = () =>
  buildReport({
    generatedAt: NOW,
    since: new Date(days(-30)),
    warningWindow: "P14D",
    warningWindowMs: 14 * 86_400_000,
    api: "https://api.example",
    keys: fleet(),
  });

describe("the inventory report", () => {
  it("has a row per key and Region with who imported last and the period's events", () => {
    const built = report();
    expect(built.rows.map((r) => `${r.keyId} ${r.region}`)).toEqual([
      "tk_a eu-west-1",
      "tk_a eu-central-1",
      "tk_b eu-west-1",
      "tk_c eu-west-1",
    ]);
    const [aWest, aCentral] = built.rows;
    expect(aWest).toMatchObject({
      alias: "alias/payments",
      keyUsage: "ENCRYPT_DECRYPT",
      vault: "file",
      materialRef: "refs/tk_a",
      lastImportedBy: ADMIN,
      plannedRenewalAt: days(3),
      rotations: 1,
      revokes: 0, // the revoke 90 days ago is before the period
      policy: "valid P30D; renew P7D before",
    });
    expect(aCentral?.lastImportedBy).toBe("tether:sweep");
    expect(built.events.map((e) => [e.kind, e.keyId])).toEqual([
      ["rotation", "tk_a"],
      ["revoke", "tk_c"],
    ]);
    expect(built.summary).toMatchObject({ keys: 3, keyRegions: 4, events: 2 });
  });

  it("finds failing Regions, material expiring within the window and unattributed losses, not revoked keys' expiry", () => {
    const findings = report().findings.map((f) => [f.kind, f.keyId, f.region]);
    expect(findings).toEqual([
      ["expiring", "tk_a", "eu-west-1"],
      ["failing", "tk_b", "eu-west-1"],
      ["unattributed-loss", "tk_c", "eu-west-1"],
    ]);
    expect(report().summary).toMatchObject({ failing: 1, expiring: 1, unattributedLosses: 1 });
  });

  it("writes CSV a standard parser reads back, one record per key and Region", () => {
    const csv = renderReport(report(), "csv");
    const records = parse(csv, { columns: true }) as Record<string, string>[];
    expect(records).toHaveLength(4);
    expect(records[0]).toMatchObject({
      keyId: "tk_a",
      region: "eu-west-1",
      findings: "expiring",
      rotations: "1",
    });
    expect(records[2]).toMatchObject({
      keyId: "tk_b",
      findings: "failing",
      lastFailure: "KmsThrottledError",
    });
  });

  it("quotes CSV fields with commas, quotes and newlines", () => {
    const built = report();
    const tricky = {
      ...built,
      rows: [{ ...(built.rows[0] as (typeof built.rows)[number]), alias: 'alias/a,"b"\nc' }],
    };
    const records = parse(renderReport(tricky, "csv"), { columns: true }) as Record<string, string>[];
    expect(records[0]?.alias).toBe('alias/a,"b"\nc');
  });

  it("writes JSON that matches the published schema (docs/report.schema.json, generated from the zod schema)", () => {
    const published = readFileSync(new URL("../../../docs/report.schema.json", import.meta.url), "utf8");
    expect(published).toBe(reportSchemaJson());
    const ajv = new Ajv2020({
      allErrors: true,
      formats: { "date-time": (s: string) => !Number.isNaN(Date.parse(s)) },
    });
    const validate = ajv.compile(JSON.parse(published));
    const json = JSON.parse(renderReport(report(), "json"));
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
    expect(InventoryReport.parse(json)).toEqual(json);
    // and the schema can fail: a row without its key ARN is refused
    const broken = structuredClone(json);
    delete broken.rows[0].keyArn;
    expect(validate(broken)).toBe(false);
  });

  it("writes one self-contained HTML file: no external resource, text escaped, the timeline inline", () => {
    const built = report();
    const html = renderReport(
      {
        ...built,
        rows: built.rows.map((r, i) => (i === 0 ? { ...r, alias: "<script>alert(1)</script>" } : r)),
      },
      "html",
    );
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|\shref=|url\(|@import/i);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("<svg");
  });

  it("draws ValidTo and planned renewals within 90 days, failing and revoked Regions marked", () => {
    const svg = timelineSvg(report());
    expect(svg.match(/<g data-key/g)).toHaveLength(4);
    expect(svg).toContain('data-key="tk_b" data-region="eu-west-1" data-failing="true"');
    expect(svg).toContain('data-key="tk_c" data-region="eu-west-1" data-revoked="true"');
    expect(svg.match(/<title>ValidTo \d/g)).toHaveLength(4); // 10, 40, 60 and 80 days out
    expect(svg.match(/<title>renewal planned \d/g)).toHaveLength(3); // tk_c has no detail
  });

  it("puts the policy in words", () => {
    expect(policyText({ expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", restoreAfterLoss: false })).toBe(
      "does not expire; no automatic restore",
    );
  });
});
