/**
 * Reads a KMS JSON request body the way AWS's service front end does: wrong JSON types are a
 * SerializationException at once; constraint violations are collected and answered together as one
 * ValidationException ("2 validation errors detected: ...; ..."), with members named in camelCase.
 */
import { KmsErrorType, kmsError } from "./errors.js";

interface Common {
  required?: boolean;
}

function memberName(field: string): string {
  return field.charAt(0).toLowerCase() + field.slice(1);
}

/** Collects AWS-style validation errors for one request. */
export class RequestReader {
  private readonly errors: string[] = [];

  constructor(private readonly body: Record<string, unknown>) {}

  private raw(field: string, opts: Common): unknown {
    const value = this.body[field];
    if (value === undefined || value === null) {
      if (opts.required) {
        this.errors.push(
          `Value null at '${memberName(field)}' failed to satisfy constraint: Member must not be null`,
        );
      }
      return undefined;
    }
    return value;
  }

  private typeError(field: string, expected: string): never {
    throw kmsError(KmsErrorType.SerializationException, `Expected ${expected} for member '${field}'`);
  }

  string(
    field: string,
    opts: Common & { min?: number; max?: number; pattern?: RegExp; sensitive?: boolean } = {},
  ): string | undefined {
    const value = this.raw(field, opts);
    if (value === undefined) return undefined;
    if (typeof value !== "string") this.typeError(field, "a string");
    const shown = opts.sensitive ? "Value" : `Value '${value}'`;
    const at = `at '${memberName(field)}' failed to satisfy constraint:`;
    if (opts.min !== undefined && value.length < opts.min) {
      this.errors.push(`${shown} ${at} Member must have length greater than or equal to ${opts.min}`);
    }
    if (opts.max !== undefined && value.length > opts.max) {
      this.errors.push(`${shown} ${at} Member must have length less than or equal to ${opts.max}`);
    }
    if (opts.pattern && !opts.pattern.test(value)) {
      this.errors.push(
        `${shown} ${at} Member must satisfy regular expression pattern: ${opts.pattern.source}`,
      );
    }
    return value;
  }

  enumOf<T extends string>(field: string, values: readonly T[], opts: Common = {}): T | undefined {
    const value = this.raw(field, opts);
    if (value === undefined) return undefined;
    if (typeof value !== "string") this.typeError(field, "a string");
    if (!values.includes(value as T)) {
      this.errors.push(
        `Value '${value}' at '${memberName(field)}' failed to satisfy constraint: Member must satisfy enum value set: [${values.join(", ")}]`,
      );
      return undefined;
    }
    return value as T;
  }

  int(field: string, opts: Common & { min?: number; max?: number } = {}): number | undefined {
    const value = this.raw(field, opts);
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value)) this.typeError(field, "an integer");
    const at = `Value '${value}' at '${memberName(field)}' failed to satisfy constraint:`;
    if (opts.min !== undefined && value < opts.min) {
      this.errors.push(`${at} Member must have value greater than or equal to ${opts.min}`);
    }
    if (opts.max !== undefined && value > opts.max) {
      this.errors.push(`${at} Member must have value less than or equal to ${opts.max}`);
    }
    return value;
  }

  bool(field: string): boolean | undefined {
    const value = this.raw(field, {});
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") this.typeError(field, "a boolean");
    return value;
  }

  /** A base64 blob. Its value is never echoed in messages (it may be key material or a token). */
  blob(field: string, opts: Common & { min?: number; max?: number } = {}): Buffer | undefined {
    const value = this.raw(field, opts);
    if (value === undefined) return undefined;
    if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) this.typeError(field, "base64");
    const bytes = Buffer.from(value, "base64");
    const at = `Value at '${memberName(field)}' failed to satisfy constraint:`;
    if (opts.min !== undefined && bytes.length < opts.min) {
      this.errors.push(`${at} Member must have length greater than or equal to ${opts.min}`);
    }
    if (opts.max !== undefined && bytes.length > opts.max) {
      this.errors.push(`${at} Member must have length less than or equal to ${opts.max}`);
    }
    return bytes;
  }

  /** An epoch-seconds timestamp (the awsJson1_1 encoding), returned as epoch milliseconds. */
  timestamp(field: string, opts: Common = {}): number | undefined {
    const value = this.raw(field, opts);
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isFinite(value)) this.typeError(field, "a timestamp");
    return Math.round(value * 1000);
  }

  stringMap(field: string): Record<string, string> | undefined {
    const value = this.raw(field, {});
    if (value === undefined) return undefined;
    if (typeof value !== "object" || Array.isArray(value)) this.typeError(field, "a map");
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v !== "string") this.typeError(field, "a map of strings");
      out[k] = v;
    }
    return out;
  }

  list(field: string, opts: Common = {}): unknown[] | undefined {
    const value = this.raw(field, opts);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) this.typeError(field, "a list");
    return value;
  }

  /** Adds a validation error of the caller's own (cross-field rules). */
  fail(message: string): void {
    this.errors.push(message);
  }

  /** @throws KmsApiError ValidationException when any constraint failed. */
  done(): void {
    if (this.errors.length === 0) return;
    const n = this.errors.length;
    throw kmsError(
      KmsErrorType.Validation,
      `${n} validation error${n === 1 ? "" : "s"} detected: ${this.errors.join("; ")}`,
    );
  }
}
