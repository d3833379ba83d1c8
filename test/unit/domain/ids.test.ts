import { describe, expect, it } from "vitest";
import {
  formatDuration,
  isTetherKeyId,
  newTetherKeyId,
  parseAwsRegion,
  parseCheckValue,
  parseDuration,
  parseKmsKeyArn,
  parseMaterialRef,
  parseTetherKeyId,
  ValidationError,
} from "../../../lib/domain/index.js";
import { KEY_ID, NOW } from "./support.js";

describe("Tether key ids", () => {
  it("makes a ULID-shaped id from the time and the given randomness", () => {
    const id = newTetherKeyId(new Date(0), new Uint8Array(10));
    expect(id).toBe("tk_00000000000000000000000000");
    expect(newTetherKeyId(new Date(1), new Uint8Array(10).fill(255))).toBe("tk_0000000001ZZZZZZZZZZZZZZZZ");
    expect(isTetherKeyId(newTetherKeyId(NOW, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])))).toBe(true);
  });

  it("sorts later ids after earlier ones", () => {
    const random = new Uint8Array(10).fill(7);
    const earlier = newTetherKeyId(NOW, random);
    const later = newTetherKeyId(new Date(NOW.getTime() + 1), new Uint8Array(10));
    expect(earlier < later).toBe(true);
  });

  it("refuses too little randomness and impossible times", () => {
    expect(() => newTetherKeyId(NOW, new Uint8Array(9))).toThrow(/randomBytes/);
    expect(() => newTetherKeyId(new Date(Number.NaN), new Uint8Array(10))).toThrow(/now/);
    expect(() => newTetherKeyId(new Date(-1), new Uint8Array(10))).toThrow(/now/);
  });

  it.each([
    "",
    "tk_",
    "tk_0000000000000000000000000",
    "tk_000000000000000000000000000",
    "TK_00000000000000000000000000",
    "tk_8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
    "tk_0000000000000000000000000I",
    "tk_0000000000000000000000000u",
  ])("refuses %j", (value) => {
    expect(() => parseTetherKeyId(value)).toThrow(ValidationError);
  });

  it("accepts a valid id", () => {
    expect(parseTetherKeyId(KEY_ID)).toBe(KEY_ID);
  });
});

describe("parseMaterialRef", () => {
  it.each(["acme", "acme/payments/2025.key", "a-b_c.d/e", "X".repeat(256)])("accepts %j", (value) => {
    expect(parseMaterialRef(value)).toBe(value);
  });
  it.each([
    "",
    "/etc/passwd",
    "../secret",
    "a/../b",
    "a/..",
    "a..b",
    "a//b",
    "a/",
    ".hidden",
    "a/.b",
    "a b",
    "a\\b",
    "a\u0000b",
    "X".repeat(257),
    42,
  ])("refuses %j", (value) => {
    expect(() => parseMaterialRef(value)).toThrow(ValidationError);
  });
});

describe("parseCheckValue", () => {
  it.each(["kcv-aes:1A2B3C", "hmac-sha256:00112233445566778899aabbccddeeff", "abc+/="])(
    "accepts %j",
    (value) => {
      expect(parseCheckValue(value)).toBe(value);
    },
  );
  it.each(["", ":abc", "a b", "a\nb", "x".repeat(257), null])("refuses %j", (value) => {
    expect(() => parseCheckValue(value)).toThrow(ValidationError);
  });
});

describe("parseAwsRegion and parseKmsKeyArn", () => {
  it.each(["eu-west-1", "us-gov-west-1", "cn-north-1", "us-isob-east-1", "ap-southeast-2"])(
    "region %s",
    (r) => {
      expect(parseAwsRegion(r)).toBe(r);
    },
  );
  it.each(["", "EU-WEST-1", "eu-west", "euwest1", "eu-west-1 "])("refuses region %j", (r) => {
    expect(() => parseAwsRegion(r)).toThrow(ValidationError);
  });

  it("parses single- and Multi-Region key ARNs in any partition", () => {
    expect(
      parseKmsKeyArn("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    ).toEqual({
      arn: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      partition: "aws",
      region: "eu-west-1",
      accountId: "111122223333",
      keyId: "1234abcd-12ab-34cd-56ef-1234567890ab",
      multiRegion: false,
    });
    expect(
      parseKmsKeyArn(
        "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef",
      ),
    ).toMatchObject({ partition: "aws-us-gov", region: "us-gov-west-1", multiRegion: true });
  });
  it.each([
    "arn:aws:kms:eu-west-1:111122223333:alias/payments",
    "arn:aws:s3:::bucket",
    "arn:aws:kms:eu-west-1:1111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:kms:eu-west-1:111122223333:key/mrk-xyz",
    "1234abcd-12ab-34cd-56ef-1234567890ab",
  ])("refuses %s", (arn) => {
    expect(() => parseKmsKeyArn(arn, "keyArn")).toThrow(/keyArn/);
  });
});

describe("durations", () => {
  it.each([
    ["PT1H", 3_600_000],
    ["PT15M", 900_000],
    ["P30D", 30 * 86_400_000],
    ["P1W", 7 * 86_400_000],
    ["P1DT12H", 36 * 3_600_000],
    ["PT90S", 90_000],
  ])("%s", (text, ms) => {
    expect(parseDuration(text, "d")).toBe(ms);
  });
  it.each(["", "P", "PT", "P1DT", "P1Y", "P1M", "1H", "PT1.5H", "-PT1H", "PT0S", "P999999999999999D"])(
    "refuses %j",
    (text) => {
      expect(() => parseDuration(text, "d")).toThrow(ValidationError);
    },
  );
  it("formats back to the shortest form", () => {
    for (const text of ["PT1H", "PT15M", "P30D", "P1DT12H", "PT1H30M5S", "P365D"]) {
      expect(formatDuration(parseDuration(text, "d"))).toBe(text);
    }
  });
});
