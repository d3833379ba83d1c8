/**
 * EventBridge event patterns: validation (as PutRule does it) and matching (as the bus does it). Pure, no I/O.
 *
 * Semantics follow the EventBridge user guide:
 * - https://docs.aws.amazon.com/eventbridge/latest/userguide/content-filtering-with-event-patterns.html
 *   (content filtering: prefix, suffix, anything-but, numeric, IP address, exists, equals-ignore-case,
 *   wildcard, `$or`)
 * - https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html (operator table)
 * - https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html (null and ""
 *   are distinct values)
 * - https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html (an array in the
 *   event matches when any of its elements matches)
 *
 * Validation messages use EventBridge's prefix "Event pattern is not valid. Reason: " followed by the reasons
 * EventBridge gives where they are known (as recorded against AWS in LocalStack's validated snapshot tests),
 * otherwise a plain description of what is wrong.
 */
import { BlockList, isIP } from "node:net";
import { InvalidEventPatternError } from "./errors.js";

const REASON_PREFIX = "Event pattern is not valid. Reason: ";

type Scalar = string | number | boolean | null;

type Condition =
  | { readonly type: "exact"; readonly value: Scalar }
  | { readonly type: "prefix"; readonly value: string; readonly ignoreCase: boolean }
  | { readonly type: "suffix"; readonly value: string; readonly ignoreCase: boolean }
  | { readonly type: "equals-ignore-case"; readonly value: string }
  | { readonly type: "wildcard"; readonly regex: RegExp }
  | { readonly type: "numeric"; readonly bounds: readonly NumericBound[] }
  | { readonly type: "exists"; readonly value: boolean }
  | { readonly type: "cidr"; readonly block: BlockList }
  | { readonly type: "anything-but"; readonly values: readonly (string | number)[] }
  | { readonly type: "anything-but-string"; readonly test: (value: string) => boolean };

interface NumericBound {
  readonly operator: NumericOperator;
  readonly value: number;
}

const NUMERIC_OPERATORS = ["=", "<", "<=", ">", ">="] as const;
type NumericOperator = (typeof NUMERIC_OPERATORS)[number];
const ANYTHING_BUT_OPERATORS: readonly string[] = ["prefix", "suffix", "equals-ignore-case", "wildcard"];

interface ObjectNode {
  readonly leaves: ReadonlyArray<{ readonly key: string; readonly conditions: readonly Condition[] }>;
  readonly children: ReadonlyArray<{ readonly key: string; readonly node: ObjectNode }>;
  readonly alternatives: ReadonlyArray<readonly ObjectNode[]>;
}

/** A validated event pattern, ready to test events against. */
export interface CompiledEventPattern {
  /** The pattern as given (parsed when it was a JSON string). */
  readonly pattern: Readonly<Record<string, unknown>>;
  /** Whether `event` (an EventBridge envelope, or any JSON object) matches. */
  matches(event: unknown): boolean;
}

/**
 * Validates an event pattern the way PutRule does and compiles it for matching.
 *
 * @param pattern the pattern as an object or as a JSON string
 * @throws InvalidEventPatternError when EventBridge would refuse the pattern
 */
export function compileEventPattern(pattern: unknown): CompiledEventPattern {
  let parsed = pattern;
  if (typeof pattern === "string") {
    try {
      parsed = JSON.parse(pattern);
    } catch (error) {
      throw invalid("Filter is not valid JSON", error);
    }
  }
  if (!isPlainObject(parsed)) throw invalid("Filter is not an object");
  // A rule with an empty pattern would match every event on the bus; EventBridge requires a pattern that
  // says something, and an empty one is almost always a mistake in the caller.
  if (Object.keys(parsed).length === 0)
    throw invalid("Filter is empty: an event pattern needs at least one field");
  const root = compileObject(parsed, "");
  return {
    pattern: parsed,
    matches: (event: unknown) => matchObject(root, isPlainObject(event) ? event : undefined),
  };
}

/**
 * Compiles `pattern` and tests `event` against it.
 *
 * @throws InvalidEventPatternError when the pattern is invalid
 */
export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  return compileEventPattern(pattern).matches(event);
}

// ---------------------------------------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------------------------------------

function compileObject(pattern: Record<string, unknown>, path: string): ObjectNode {
  const leaves: Array<{ key: string; conditions: Condition[] }> = [];
  const children: Array<{ key: string; node: ObjectNode }> = [];
  const alternatives: ObjectNode[][] = [];

  for (const [key, value] of Object.entries(pattern)) {
    const fieldPath = path ? `${path}.${key}` : key;
    if (key === "$or") {
      alternatives.push(compileOr(value, path));
    } else if (Array.isArray(value)) {
      if (value.length === 0) throw invalid("Empty arrays are not allowed");
      leaves.push({ key, conditions: value.map((rule) => compileCondition(rule, fieldPath)) });
    } else if (isPlainObject(value)) {
      children.push({ key, node: compileObject(value, fieldPath) });
    } else {
      throw invalid(`"${key}" must be an object or an array`);
    }
  }
  return { leaves, children, alternatives };
}

function compileOr(value: unknown, path: string): ObjectNode[] {
  if (!Array.isArray(value) || value.length < 2) {
    throw invalid(`"$or" must be an array of at least two pattern objects${path ? ` (at ${path})` : ""}`);
  }
  return value.map((member) => {
    if (!isPlainObject(member) || Object.keys(member).length === 0) {
      throw invalid(`each "$or" member must be a non-empty pattern object${path ? ` (at ${path})` : ""}`);
    }
    return compileObject(member, path);
  });
}

function compileCondition(rule: unknown, path: string): Condition {
  if (rule === null || typeof rule === "string" || typeof rule === "boolean")
    return { type: "exact", value: rule };
  if (typeof rule === "number") return { type: "exact", value: rule };
  if (!isPlainObject(rule)) throw invalid("Match value must be String, number, true, false, or null");

  const keys = Object.keys(rule);
  if (keys.length !== 1) throw invalid("Only one key allowed in match expression");
  const operator = keys[0] as string;
  const operand = rule[operator];

  switch (operator) {
    case "prefix":
    case "suffix":
      return compilePrefixSuffix(operator, operand);
    case "equals-ignore-case":
      if (typeof operand !== "string") throw invalid("equals-ignore-case match pattern must be a string");
      return { type: "equals-ignore-case", value: operand };
    case "wildcard":
      return { type: "wildcard", regex: compileWildcard(operand) };
    case "anything-but":
      return compileAnythingBut(operand);
    case "numeric":
      return { type: "numeric", bounds: compileNumeric(operand) };
    case "exists":
      if (typeof operand !== "boolean") throw invalid("exists match pattern must be either true or false.");
      return { type: "exists", value: operand };
    case "cidr":
      return { type: "cidr", block: compileCidr(operand) };
    default:
      throw invalid(`Unrecognized match type ${operator}${path ? ` (at ${path})` : ""}`);
  }
}

function compilePrefixSuffix(operator: "prefix" | "suffix", operand: unknown): Condition {
  if (typeof operand === "string") return { type: operator, value: operand, ignoreCase: false };
  if (isPlainObject(operand)) {
    const keys = Object.keys(operand);
    const inner = operand["equals-ignore-case"];
    if (keys.length === 1 && typeof inner === "string")
      return { type: operator, value: inner, ignoreCase: true };
    throw invalid(`${operator} match pattern must be a string or {"equals-ignore-case": string}`);
  }
  throw invalid(`${operator} match pattern must be a string`);
}

function compileAnythingBut(operand: unknown): Condition {
  if (typeof operand === "string" || typeof operand === "number")
    return { type: "anything-but", values: [operand] };
  if (Array.isArray(operand)) {
    if (operand.length === 0) throw invalid("Empty arrays are not allowed");
    const allStrings = operand.every((v) => typeof v === "string");
    const allNumbers = operand.every((v) => typeof v === "number");
    // The guide: anything-but takes "lists that contain only strings, or only numbers".
    if (!allStrings && !allNumbers) {
      throw invalid("Inside anything but list, start|null|boolean is not supported.");
    }
    return { type: "anything-but", values: operand as (string | number)[] };
  }
  if (isPlainObject(operand)) {
    const keys = Object.keys(operand);
    if (keys.length !== 1) throw invalid("Only one key allowed in match expression");
    const inner = keys[0] as string;
    if (!ANYTHING_BUT_OPERATORS.includes(inner)) throw invalid(`Unsupported anything-but pattern: ${inner}`);
    const values = operand[inner];
    const list = typeof values === "string" ? [values] : values;
    if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === "string")) {
      throw invalid(`Value of anything-but/${inner} must be a string or a non-empty array of strings`);
    }
    const strings = list as string[];
    switch (inner) {
      case "prefix":
      case "suffix": {
        if (strings.some((s) => s.length === 0)) throw invalid("Null prefix/suffix not allowed");
        const test =
          inner === "prefix"
            ? (value: string) => strings.some((s) => value.startsWith(s))
            : (value: string) => strings.some((s) => value.endsWith(s));
        return { type: "anything-but-string", test: (value) => !test(value) };
      }
      case "equals-ignore-case": {
        const lowered = strings.map((s) => s.toLowerCase());
        return { type: "anything-but-string", test: (value) => !lowered.includes(value.toLowerCase()) };
      }
      case "wildcard": {
        const regexes = strings.map((s) => compileWildcard(s));
        return { type: "anything-but-string", test: (value) => !regexes.some((r) => r.test(value)) };
      }
      default:
        throw invalid(`Unsupported anything-but pattern: ${inner}`);
    }
  }
  throw invalid("Value of anything-but must be an array or single string/number value.");
}

function compileWildcard(operand: unknown): RegExp {
  if (typeof operand !== "string") throw invalid("wildcard match pattern must be a string");
  const consecutive = operand.indexOf("**");
  if (consecutive >= 0) throw invalid(`Consecutive wildcard characters at pos ${consecutive + 1}`);
  // `*` matches any run of characters (including none); `\*` is a literal asterisk and `\\` a backslash.
  let source = "";
  for (let i = 0; i < operand.length; i++) {
    const char = operand[i] as string;
    if (char === "\\") {
      const next = operand[i + 1];
      if (next !== "*" && next !== "\\") throw invalid(`Invalid escape character at pos ${i + 1}`);
      source += escapeRegExp(next);
      i++;
    } else if (char === "*") {
      source += "[\\s\\S]*";
    } else {
      source += escapeRegExp(char);
    }
  }
  return new RegExp(`^${source}$`, "u");
}

function compileNumeric(operand: unknown): NumericBound[] {
  if (!Array.isArray(operand)) throw invalid("Value of numeric must be an array.");
  if (operand.length === 0) throw invalid("Invalid member in numeric match: ]");
  const [firstOperator, firstValue, secondOperator, secondValue, ...rest] = operand as unknown[];

  const first = numericBound(firstOperator, firstValue, operand.length >= 2);
  if (operand.length === 2) return [first];

  // Only a lower bound may be followed by an upper bound: [">", 0, "<=", 5].
  if (first.operator !== ">" && first.operator !== ">=") {
    throw invalid("Too many elements in numeric expression");
  }
  if (typeof secondOperator !== "string")
    throw invalid(`Bad value in numeric range: ${String(secondOperator)}`);
  if (secondOperator !== "<" && secondOperator !== "<=") {
    throw invalid(`Bad numeric range operator: ${secondOperator}`);
  }
  const second = numericBound(secondOperator, secondValue, operand.length >= 4);
  if (second.value <= first.value) throw invalid("Bottom must be less than top");
  if (rest.length > 0) throw invalid("Too many terms in numeric range expression");
  return [first, second];
}

function numericBound(operator: unknown, value: unknown, hasValue: boolean): NumericBound {
  if (typeof operator !== "string") throw invalid(`Invalid member in numeric match: ${String(operator)}`);
  if (!(NUMERIC_OPERATORS as readonly string[]).includes(operator)) {
    throw invalid(`Unrecognized numeric range operator: ${operator}`);
  }
  if (!hasValue || typeof value !== "number" || !Number.isFinite(value)) {
    throw invalid(`Value of ${operator === "=" ? "equals" : operator} must be numeric`);
  }
  return { operator: operator as NumericOperator, value };
}

function compileCidr(operand: unknown): BlockList {
  if (typeof operand !== "string") throw invalid("cidr match pattern must be a string");
  const parts = operand.split("/");
  if (parts.length !== 2) throw invalid("Malformed CIDR, one '/' required");
  const [address, maskText] = parts as [string, string];
  if (!/^\d+$/.test(maskText)) throw invalid("Malformed CIDR, mask bits must be an integer");
  const family = isIP(address);
  const mask = Number(maskText);
  if (family === 0 || mask > (family === 4 ? 32 : 128)) throw invalid(`Nonstandard IP address: ${address}`);
  const block = new BlockList();
  block.addSubnet(address, mask, family === 4 ? "ipv4" : "ipv6");
  return block;
}

// ---------------------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------------------

function matchObject(node: ObjectNode, value: Record<string, unknown> | undefined): boolean {
  for (const { key, conditions } of node.leaves) {
    const leaves = leafValues(value, key);
    if (!conditions.some((condition) => matchCondition(condition, leaves))) return false;
  }
  for (const { key, node: child } of node.children) {
    const candidates = objectValues(value, key);
    // With no object to descend into, the nested pattern can still match through `exists: false`.
    const matched =
      candidates.length === 0
        ? matchObject(child, undefined)
        : candidates.some((candidate) => matchObject(child, candidate));
    if (!matched) return false;
  }
  for (const alternatives of node.alternatives) {
    if (!alternatives.some((alternative) => matchObject(alternative, value))) return false;
  }
  return true;
}

/** The scalar values at `key`: one for a scalar, every scalar element for an array, none for an object. */
function leafValues(value: Record<string, unknown> | undefined, key: string): Scalar[] {
  if (value === undefined || !Object.hasOwn(value, key)) return [];
  const out: Scalar[] = [];
  const collect = (item: unknown): void => {
    if (Array.isArray(item)) item.forEach(collect);
    else if (
      item === null ||
      typeof item === "string" ||
      typeof item === "number" ||
      typeof item === "boolean"
    ) {
      out.push(item);
    }
  };
  collect(value[key]);
  return out;
}

/** The objects at `key`: the object itself, or every object element of an array. */
function objectValues(value: Record<string, unknown> | undefined, key: string): Record<string, unknown>[] {
  if (value === undefined || !Object.hasOwn(value, key)) return [];
  const out: Record<string, unknown>[] = [];
  const collect = (item: unknown): void => {
    if (Array.isArray(item)) item.forEach(collect);
    else if (isPlainObject(item)) out.push(item);
  };
  collect(value[key]);
  return out;
}

function matchCondition(condition: Condition, leaves: readonly Scalar[]): boolean {
  // exists only looks at leaf nodes: an intermediate object (or an empty array) does not "exist" as a leaf.
  if (condition.type === "exists") return condition.value === leaves.length > 0;
  return leaves.some((leaf) => matchLeaf(condition, leaf));
}

function matchLeaf(condition: Exclude<Condition, { type: "exists" }>, leaf: Scalar): boolean {
  switch (condition.type) {
    case "exact":
      return leaf === condition.value;
    case "anything-but":
      return !condition.values.includes(leaf as string | number);
    case "numeric":
      return typeof leaf === "number" && condition.bounds.every((bound) => compareNumber(leaf, bound));
    case "cidr":
      return typeof leaf === "string" && matchCidr(condition.block, leaf);
    default:
      break;
  }
  if (typeof leaf !== "string") return false;
  switch (condition.type) {
    case "prefix":
      return condition.ignoreCase
        ? leaf.toLowerCase().startsWith(condition.value.toLowerCase())
        : leaf.startsWith(condition.value);
    case "suffix":
      return condition.ignoreCase
        ? leaf.toLowerCase().endsWith(condition.value.toLowerCase())
        : leaf.endsWith(condition.value);
    case "equals-ignore-case":
      return leaf.toLowerCase() === condition.value.toLowerCase();
    case "wildcard":
      return condition.regex.test(leaf);
    case "anything-but-string":
      return condition.test(leaf);
  }
}

function compareNumber(value: number, bound: NumericBound): boolean {
  switch (bound.operator) {
    case "=":
      return value === bound.value;
    case "<":
      return value < bound.value;
    case "<=":
      return value <= bound.value;
    case ">":
      return value > bound.value;
    case ">=":
      return value >= bound.value;
  }
}

function matchCidr(block: BlockList, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return block.check(address, family === 4 ? "ipv4" : "ipv6");
}

// ---------------------------------------------------------------------------------------------------------

function invalid(reason: string, cause?: unknown): InvalidEventPatternError {
  return new InvalidEventPatternError(
    `${REASON_PREFIX}${reason}`,
    cause === undefined ? undefined : { cause },
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
