import { describe, expect, it } from "vitest";
import { HOUR_MS, MINUTE_MS } from "../../../lib/domain/duration.js";
import {
  PARAMETERS_USE_MARGIN_MS,
  parametersNeedRenewal,
  parametersUsable,
  type StoredParametersInfo,
  warmSharePercent,
} from "../../../lib/domain/warm-parameters.js";
import type { WrappingChoice } from "../../../lib/domain/wrapping.js";

const NOW = new Date("2026-12-01T12:00:00Z");
const OAEP_4096: WrappingChoice = { wrappingAlgorithm: "RSAES_OAEP_SHA_256", wrappingKeySpec: "RSA_4096" };
const AES_4096: WrappingChoice = {
  wrappingAlgorithm: "RSA_AES_KEY_WRAP_SHA_256",
  wrappingKeySpec: "RSA_4096",
};
const at = (ms: number) => new Date(NOW.getTime() + ms);
const info = (validInMs: number, wrapping = OAEP_4096): StoredParametersInfo => ({
  validTo: at(validInMs),
  wrapping,
});

describe("parametersUsable", () => {
  it.each([
    ["none stored", undefined, OAEP_4096, false],
    ["valid for hours, same wrapping", info(10 * HOUR_MS), OAEP_4096, true],
    ["valid for hours, another wrapping", info(10 * HOUR_MS, AES_4096), OAEP_4096, false],
    ["valid for hours, any wrapping (not known)", info(10 * HOUR_MS, AES_4096), undefined, true],
    ["valid just past the margin", info(PARAMETERS_USE_MARGIN_MS + 1), OAEP_4096, true],
    ["valid exactly the margin", info(PARAMETERS_USE_MARGIN_MS), OAEP_4096, false],
    ["expired", info(-MINUTE_MS), OAEP_4096, false],
  ] as const)("%s: %s", (_name, stored, wrapping, usable) => {
    expect(parametersUsable(stored, wrapping, NOW)).toBe(usable);
  });
});

describe("parametersNeedRenewal", () => {
  it("renews a set that would not serve an import at the Region's next check, or of another wrapping", () => {
    expect(parametersNeedRenewal(info(20 * HOUR_MS), OAEP_4096, at(6 * HOUR_MS))).toBe(false);
    expect(parametersNeedRenewal(info(6 * HOUR_MS), OAEP_4096, at(6 * HOUR_MS))).toBe(true);
    expect(parametersNeedRenewal(info(20 * HOUR_MS, AES_4096), OAEP_4096, at(6 * HOUR_MS))).toBe(true);
    expect(parametersNeedRenewal(undefined, OAEP_4096, at(6 * HOUR_MS))).toBe(true);
  });
});

describe("warmSharePercent", () => {
  it("is a percentage to one decimal, undefined when nothing was counted", () => {
    expect(warmSharePercent(2, 3)).toBe(66.7);
    expect(warmSharePercent(3, 3)).toBe(100);
    expect(warmSharePercent(0, 5)).toBe(0);
    expect(warmSharePercent(0, 0)).toBeUndefined();
  });
});
