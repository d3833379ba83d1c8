/**
 * No function in lib/ is longer than 80 lines (CONTRIBUTING.md, "Code"): a long function mixes steps that
 * read and test better apart. Every function, method, accessor, constructor and arrow function counts, from
 * its first line to its last (a nested function counts in its own right and inside its parent).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const MAX_LINES = 80;

/**
 * Functions allowed over the limit, as `"<path> <name>"` mapped to the reason. Empty: every function in lib/
 * keeps to the limit, and none may join this list without a reason a reviewer accepts.
 */
const NOT_YET_SPLIT: ReadonlyMap<string, string> = new Map<string, string>([]);
const root = fileURLToPath(new URL("../../", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

function nameOf(node: ts.Node, source: ts.SourceFile): string {
  const named = node as ts.Node & { name?: ts.Node };
  if (named.name !== undefined) return named.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return "constructor";
  const parent = node.parent;
  if (parent !== undefined && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent))) {
    return parent.name.getText(source);
  }
  return "(anonymous)";
}

/** `path:line name (n lines)` for every function in `text` longer than `max` lines. */
function longFunctions(path: string, text: string, max = MAX_LINES): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      const name = nameOf(node, source);
      if (lines > max && !NOT_YET_SPLIT.has(`${path} ${name}`))
        found.push(`${path}:${first + 1} ${name} (${lines} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("function length", () => {
  it("finds a function over the limit (the check can fail)", () => {
    const body = Array.from({ length: MAX_LINES }, (_, i) => `  const v${i} = ${i};`).join("\n");
    expect(longFunctions("x.ts", `function long() {\n${body}\n}\nconst short = () => 1;\n`)).toEqual([
      `x.ts:1 long (${MAX_LINES + 2} lines)`,
    ]);
  });

  it(`no function in lib/ is over ${MAX_LINES} lines`, () => {
    const found = sourceFiles(join(root, "lib")).flatMap((path) =>
      longFunctions(relative(root, path), readFileSync(path, "utf8")),
    );
    expect(found).toEqual([]);
  });
});
