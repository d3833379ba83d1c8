import { describe, expect, it } from "vitest";
import { duplicateMemberName } from "../../../lib/api/duplicate-keys.js";

describe("duplicateMemberName", () => {
  it.each([
    ['{"reason":"","reason":"drill"}', "reason"],
    ['{"a":{"b":1,"b":2}}', "b"],
    ['[{"x":1},{"y":2,"y":3}]', "y"],
    ['{"a\\"b":1,"a\\"b":2}', 'a"b'],
    ['{"\\u0061":1,"a":2}', "a"],
  ])("finds the duplicate in %s", (text, name) => {
    expect(duplicateMemberName(text)).toBe(name);
  });

  it.each([
    '{"a":1,"b":{"a":2}}',
    '[{"a":1},{"a":2}]',
    '{"a":"a","b":["a","a"]}',
    '{"a":"x\\\\","b":"\\"a\\":1"}',
    '"just a string"',
    "{}",
  ])("finds none in %s", (text) => {
    expect(duplicateMemberName(text)).toBeUndefined();
  });
});
