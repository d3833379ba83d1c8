import { parseDuration } from "../domain/duration.js";
import { ValidationError } from "../domain/errors.js";
import type { FlagValues } from "./command.js";
import { UsageError } from "./errors.js";

/**
 * Typed reads of parseArgs values and checks of their form, each throwing UsageError naming the flag, so
 * a bad command line exits 2 before anything is sent. The API still validates everything; these only catch
 * what is certainly wrong locally.
 */

export function stringFlag(flags: FlagValues, name: string): string | undefined {
  const value = flags[name];
  return typeof value === "string" ? value : undefined;
}

export function booleanFlag(flags: FlagValues, name: string): boolean {
  return flags[name] === true;
}

export function listFlag(flags: FlagValues, name: string): string[] {
  const value = flags[name];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return typeof value === "string" ? [value] : [];
}

/** A whole number in [min, max]. */
export function integerFlag(
  flags: FlagValues,
  name: string,
  command: string,
  range: { min: number; max: number },
): number | undefined {
  const raw = stringFlag(flags, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw new UsageError(`--${name} must be a whole number from ${range.min} to ${range.max}`, command);
  }
  return value;
}

/** One of the given words. */
export function choiceFlag<T extends string>(
  flags: FlagValues,
  name: string,
  command: string,
  choices: readonly T[],
): T | undefined {
  const raw = stringFlag(flags, name);
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")} (got "${raw}")`, command);
  }
  return raw as T;
}

/** `true` or `false`, spelled out. */
export function trueFalseFlag(flags: FlagValues, name: string, command: string): boolean | undefined {
  const raw = choiceFlag(flags, name, command, ["true", "false"] as const);
  return raw === undefined ? undefined : raw === "true";
}

/** An ISO 8601 timestamp with a zone (Z or ±hh:mm), as the API requires, e.g. 2025-07-01T00:00:00Z. */
export function timestampFlag(flags: FlagValues, name: string, command: string): string | undefined {
  const raw = stringFlag(flags, name);
  if (raw === undefined) return undefined;
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;
  if (!iso.test(raw) || Number.isNaN(Date.parse(raw))) {
    throw new UsageError(
      `--${name} must be an ISO 8601 time with a zone, e.g. 2025-07-01T00:00:00Z (got "${raw}")`,
      command,
    );
  }
  return raw;
}

/** An ISO 8601 duration such as P30D, P7D, PT1H (checked with the domain's own parser). */
export function durationFlag(flags: FlagValues, name: string, command: string): string | undefined {
  const raw = stringFlag(flags, name);
  if (raw === undefined) return undefined;
  try {
    parseDuration(raw, name);
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new UsageError(
        `--${name} must be an ISO 8601 duration such as P30D or PT1H (got "${raw}")`,
        command,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  return raw;
}

/** A non-empty, single-line text (a reason for the audit trail). */
export function textFlag(flags: FlagValues, name: string, command: string): string | undefined {
  const raw = stringFlag(flags, name);
  if (raw === undefined) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a reason is one line of text.
  if (raw.trim().length === 0 || /[\u0000-\u001f\u007f]/.test(raw)) {
    throw new UsageError(`--${name} must be non-empty text on one line`, command);
  }
  return raw;
}

/** Flags that must not be given together. */
export function exclusive(flags: FlagValues, names: readonly string[], command: string): void {
  const given = names.filter((name) => flags[name] !== undefined && flags[name] !== false);
  if (given.length > 1) {
    throw new UsageError(`${given.map((n) => `--${n}`).join(" and ")} cannot be used together`, command);
  }
}

export function required(value: string | undefined, name: string, command: string): string {
  if (value === undefined) throw new UsageError(`--${name} is required`, command);
  return value;
}
