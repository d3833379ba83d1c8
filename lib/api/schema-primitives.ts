/**
 * Building blocks shared by the request and response schemas, each built once on first use (one instance,
 * as before the schemas were split). Not part of the wire contract's exports.
 */
import * as z from "zod";

/** Builds on the first call and returns that same value ever after. */
export function once<T>(build: () => T): () => T {
  let built: { readonly value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}

export const values = <T extends Record<string, string>>(o: T) =>
  Object.values(o) as [T[keyof T], ...T[keyof T][]];

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
export const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f]*$/;

export const isoTimestamp = once(() => z.iso.datetime({ offset: true }));
export const isoDuration = once(() =>
  z.string().min(2).max(64).describe("ISO 8601 duration, e.g. P30D, PT1H"),
);
