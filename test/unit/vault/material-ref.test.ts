import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../lib/domain/errors.js";
import { parseMaterialRef as parseDomainMaterialRef } from "../../../lib/domain/ids.js";
import { InvalidMaterialRefError } from "../../../lib/vault/errors.js";
import { MAX_MATERIAL_REF_LENGTH, parseMaterialRef } from "../../../lib/vault/material-ref.js";

describe("parseMaterialRef", () => {
  it.each([
    ["payments", ["payments"]],
    ["prod/payments/key-1", ["prod", "payments", "key-1"]],
    ["a.b_c-9", ["a.b_c-9"]],
  ])("accepts %s", (ref, segments) => {
    expect(parseMaterialRef(ref)).toEqual(segments);
  });

  it.each([
    ["", "non-empty"],
    ["../etc/passwd", "must not contain '..'"],
    ["a/../../b", "must not contain '..'"],
    ["..", "must not contain '..'"],
    ["a..b", "must not contain '..'"],
    [".", "start with a letter or digit"],
    ["/etc/passwd", "'/'-separated segments"],
    ["a//b", "'/'-separated segments"],
    ["a/", "'/'-separated segments"],
    [".hidden", "start with a letter or digit"],
    ["a\\b", "only letters, digits"],
    ["a b", "only letters, digits"],
    ["a\u0000b", "only letters, digits"],
    ["ключ", "only letters, digits"],
    ["x".repeat(MAX_MATERIAL_REF_LENGTH + 1), `at most ${MAX_MATERIAL_REF_LENGTH} characters`],
  ])("refuses %j", (ref, reason) => {
    expect(() => parseMaterialRef(ref)).toThrow(InvalidMaterialRefError);
    expect(() => parseMaterialRef(ref)).toThrow(reason);
  });

  it("refuses a non-string", () => {
    expect(() => parseMaterialRef(42)).toThrow(InvalidMaterialRefError);
  });

  it("gives the domain's ValidationError as the cause and repeats at most 64 characters of the reference", () => {
    const long = `${"y".repeat(100)}/${"x".repeat(MAX_MATERIAL_REF_LENGTH)}`;
    let thrown: unknown;
    try {
      parseMaterialRef(long);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidMaterialRefError);
    expect((thrown as InvalidMaterialRefError).cause).toBeInstanceOf(ValidationError);
    expect((thrown as InvalidMaterialRefError).materialRef).toBe("y".repeat(64));
  });

  it("has the domain's length limit", () => {
    const longest = "x".repeat(MAX_MATERIAL_REF_LENGTH);
    expect(parseDomainMaterialRef(longest)).toBe(longest);
    expect(parseMaterialRef(longest)).toEqual([longest]);
    expect(() => parseDomainMaterialRef(`${longest}x`)).toThrow(ValidationError);
  });
});
