import { describe, expect, it } from "vitest";
import {
  ManifestError,
  manifestFormat,
  parseManifest,
  rowIdempotencyKey,
} from "../../../lib/cli/adopt/manifest.js";
import { CsvSyntaxError, formatCsv, parseCsv } from "../../../lib/cli/csv.js";

const ARN = (n: number) => `arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-00000000000${n}`;

describe("the adoption manifest", () => {
  it("reads CSV: policy columns go under policy, replicas split on ;, empty cells are absent", () => {
    const rows = parseManifest(
      [
        "keyArn,materialRef,checkValue,replicaRegions,validityPeriod,restoreAfterLoss,policy.priority",
        `${ARN(1)},refs/1,kcv-aes:aa,eu-central-1;us-east-1,P90D,false,high`,
        `${ARN(2)},refs/2,kcv-aes:bb,,,,`,
      ].join("\r\n"),
      "csv",
    );
    expect(rows[0]).toMatchObject({
      row: 1,
      line: 2,
      body: {
        mode: "adopt",
        keyArn: ARN(1),
        materialRef: "refs/1",
        checkValue: "kcv-aes:aa",
        replicaRegions: ["eu-central-1", "us-east-1"],
        policy: { validityPeriod: "P90D", restoreAfterLoss: false, priority: "high" },
      },
    });
    expect(rows[1]?.body).toEqual({
      mode: "adopt",
      keyArn: ARN(2),
      materialRef: "refs/2",
      checkValue: "kcv-aes:bb",
    });
  });

  it("reads JSON, an array or {rows}", () => {
    const row = {
      keyArn: ARN(1),
      materialRef: "r",
      checkValue: "kcv-aes:aa",
      policy: { renewBefore: "P7D" },
    };
    expect(parseManifest(JSON.stringify([row]), "json")[0]?.body).toEqual({ mode: "adopt", ...row });
    expect(parseManifest(JSON.stringify({ rows: [row] }), "json")).toHaveLength(1);
  });

  it("names the bad field of each bad row and keeps the good ones", () => {
    const rows = parseManifest(
      [
        "keyArn,materialRef,checkValue,validityPeriod,restoreAfterLoss",
        `${ARN(1)},refs/1,,P90D,`, // no check value
        `${ARN(2)},refs/2,kcv-aes:bb,ninety days,`, // sent: the API parses durations (test/e2e/adopt.test.ts)
        `${ARN(3)},refs/3,kcv-aes:cc,,yes`,
        `${ARN(4)},refs/4,kcv-aes:dd,,`, // good
        `${ARN(4)},refs/5,kcv-aes:ee,,`, // repeats a key
        `${ARN(5)},refs/4,kcv-aes:ff,,`, // repeats a reference
        `${ARN(6)},refs/6`, // short
      ].join("\n"),
      "csv",
    );
    expect(rows.map((r) => r.error?.field ?? (r.error ? "(row)" : "ok"))).toEqual([
      "checkValue",
      "ok",
      "restoreAfterLoss",
      "ok",
      "keyArn",
      "materialRef",
      "(row)",
    ]);
    expect(rows[4]?.error?.message).toBe("repeats row 4");
  });

  it("refuses a manifest it cannot read as a whole, naming why", () => {
    expect(() => parseManifest("keyArn,materialRef,checkValue,colour\n", "csv")).toThrow(
      /unknown column "colour"/,
    );
    expect(() => parseManifest("keyArn,materialRef\n", "csv")).toThrow(ManifestError);
    expect(() => parseManifest("{", "json")).toThrow(/not JSON/);
    expect(() => parseManifest('"a,b\n', "csv")).toThrow(/not CSV: line 1/);
    expect(manifestFormat("m.txt", " [ ]")).toBe("json");
    expect(manifestFormat("m.csv", "[")).toBe("csv");
  });

  it("gives a row the same idempotency key whatever the field order, another for another row", () => {
    const a = rowIdempotencyKey({ mode: "adopt", keyArn: ARN(1), materialRef: "r", policy: { a: 1, b: 2 } });
    const b = rowIdempotencyKey({ policy: { b: 2, a: 1 }, materialRef: "r", keyArn: ARN(1), mode: "adopt" });
    expect(a).toBe(b);
    expect(a).toMatch(/^tether-adopt-[0-9a-f]{40}$/);
    expect(rowIdempotencyKey({ mode: "adopt", keyArn: ARN(2), materialRef: "r" })).not.toBe(a);
  });
});

describe("CSV", () => {
  it("round-trips quotes, commas and newlines", () => {
    const text = formatCsv(
      ["a", "b"],
      [
        ['x,"y"', "line\nbreak"],
        ["", "plain"],
      ],
    );
    expect(parseCsv(text).map((r) => r.fields)).toEqual([
      ["a", "b"],
      ['x,"y"', "line\nbreak"],
      ["", "plain"],
    ]);
  });

  it("refuses a stray quote, naming the line", () => {
    expect(() => parseCsv('a,b\nx"y,z\n')).toThrow(CsvSyntaxError);
    expect(() => parseCsv('a,b\nx"y,z\n')).toThrow(/line 2/);
  });
});
