import { describe, expect, it } from "vitest";
import {
  isSparseBand,
  mustReadBand,
  QUIET_FOR_GOOD,
  QUIET_MARGIN_MS,
  quietCutoff,
  quietUntil,
  SPARSE_BANDS,
  shouldLookAhead,
} from "../../../lib/domain/due-bands.js";

const NOW = 1_800_000_000_000;

describe("due-work index bands: when a sweep may skip one", () => {
  it("marks every band but normal (the one most Regions are in)", () => {
    expect(SPARSE_BANDS).toEqual(["critical", "high", "low"]);
    expect(isSparseBand("normal")).toBe(false);
  });

  it("always reads the normal band, whatever a mark says", () => {
    expect(mustReadBand("normal", { quietUntil: NOW + 1 }, NOW)).toBe(true);
  });

  it("reads a sparse band without a quiet mark, or once its quiet time has come", () => {
    expect(mustReadBand("critical", undefined, NOW)).toBe(true);
    expect(mustReadBand("critical", { touchedAt: NOW - 1 }, NOW)).toBe(true);
    expect(mustReadBand("critical", { quietUntil: NOW }, NOW)).toBe(true);
    expect(mustReadBand("critical", { quietUntil: NOW + 1 }, NOW)).toBe(false);
  });

  it("looks ahead in a sparse band to be read only when its last touch is older than the margin", () => {
    expect(shouldLookAhead("high", undefined, NOW)).toBe(true);
    expect(shouldLookAhead("high", { touchedAt: NOW - QUIET_MARGIN_MS }, NOW)).toBe(true);
    expect(shouldLookAhead("high", { touchedAt: NOW - QUIET_MARGIN_MS + 1 }, NOW)).toBe(false);
    // Not in a band that is quiet already, nor in the normal band.
    expect(shouldLookAhead("high", { quietUntil: NOW + 1 }, NOW)).toBe(false);
    expect(shouldLookAhead("normal", undefined, NOW)).toBe(false);
  });

  it("keeps the margin at least as long as a Lambda function may run (900 s)", () => {
    expect(QUIET_MARGIN_MS).toBeGreaterThanOrEqual(900_000);
    expect(quietCutoff(NOW)).toBe(NOW - QUIET_MARGIN_MS);
  });

  it("marks a band quiet until its earliest due time, for good when empty, not at all when work is due", () => {
    expect(quietUntil(NOW + 60_000, NOW)).toBe(NOW + 60_000);
    expect(quietUntil(undefined, NOW)).toBe(QUIET_FOR_GOOD);
    expect(quietUntil(NOW, NOW)).toBeUndefined();
    expect(quietUntil(NOW - 1, NOW)).toBeUndefined();
  });
});
