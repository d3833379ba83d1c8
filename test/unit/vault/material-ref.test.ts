import { describe, expect, it } from "vitest";
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
    ["", "empty"],
    ["../etc/passwd", "segment"],
    ["a/../../b", "segment"],
    ["..", "segment"],
    [".", "segment"],
    ["/etc/passwd", "empty segment"],
    ["a//b", "empty segment"],
    ["a/", "empty segment"],
    [".hidden", "segment"],
    ["a\\b", "segment"],
    ["a b", "segment"],
    ["a\u0000b", "segment"],
    ["ключ", "segment"],
    ["x".repeat(MAX_MATERIAL_REF_LENGTH + 1), "longer than"],
  ])("refuses %j", (ref, reason) => {
    expect(() => parseMaterialRef(ref)).toThrow(InvalidMaterialRefError);
    expect(() => parseMaterialRef(ref)).toThrow(reason);
  });

  it("refuses a non-string", () => {
    expect(() => parseMaterialRef(42)).toThrow(InvalidMaterialRefError);
  });
});
