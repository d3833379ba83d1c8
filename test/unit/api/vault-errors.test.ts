import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { errorResult } from "../../../lib/api/error-boundary.js";
import { DOCUMENTED_VAULT_ERRORS, type VaultErrorClass } from "../../../lib/vault/port.js";

const silent = { info: () => undefined, error: () => undefined };

/** Every documented class, once, with the methods that document it. */
function documented(): Map<VaultErrorClass, string[]> {
  const classes = new Map<VaultErrorClass, string[]>();
  for (const [method, errors] of Object.entries(DOCUMENTED_VAULT_ERRORS)) {
    for (const cls of errors as readonly VaultErrorClass[]) {
      classes.set(cls, [...(classes.get(cls) ?? []), method]);
    }
  }
  return classes;
}

/**
 * An instance of any vault error class: each takes the reference or message first and an optional
 * reason or context second, so one argument list builds them all.
 */
function instance(cls: VaultErrorClass): Error {
  const ctor = cls as unknown as new (first: string, second: string) => Error;
  return new ctor("demo/ref", "a reason");
}

describe("the Vault port's documented errors", () => {
  it("are the classes the port's @throws name, method by method", () => {
    // The port is declared with the others in lib/lifecycle/ports.ts; its errors are listed in lib/vault/port.ts.
    const source = readFileSync(new URL("../../../lib/lifecycle/ports.ts", import.meta.url), "utf8");
    const start = source.indexOf("export interface Vault {");
    const block = source.slice(start, source.indexOf("\n}\n", start));
    // Each method's TSDoc ends with its @throws lines, then the signature `name(`.
    const methods = [...block.matchAll(/@throws ([^@]*?)\*\/\s*(\w+)\(/g)].map((m) => ({
      method: m[2] as string,
      names: (m[1] as string)
        .replace(/\*/g, "")
        .split(/[\s,]+/)
        .filter((n) => /Error$/.test(n))
        .sort(),
    }));
    expect(methods.map((m) => m.method).sort()).toEqual(Object.keys(DOCUMENTED_VAULT_ERRORS).sort());
    for (const { method, names } of methods) {
      const listed = (
        DOCUMENTED_VAULT_ERRORS[method as keyof typeof DOCUMENTED_VAULT_ERRORS] as readonly VaultErrorClass[]
      )
        .map((cls) => cls.name)
        .sort();
      expect(listed, method).toEqual(names);
    }
  });

  it.each([...documented()].map(([cls, methods]) => [cls.name, cls, methods] as const))(
    "%s becomes a 4xx naming the field, never a 5xx",
    (_name, cls, methods) => {
      const error = instance(cls);
      expect(error.name, `${cls.name} sets its name`).toBe(cls.name);
      const answer = errorResult(error, "req-1", silent);
      expect(answer.status, `thrown by ${methods.join(", ")}`).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      const body = answer.body as { error: { field?: string; message: string } };
      expect(body.error.field).toBe("materialRef");
      expect(body.error.message).not.toMatch(/Internal error/);
    },
  );

  it("maps already-exists to 409 and a refused reference to 400", () => {
    const [exists, invalidRef] = ["MaterialAlreadyExistsError", "InvalidMaterialRefError"].map((name) =>
      [...documented().keys()].find((cls) => cls.name === name),
    );
    expect(exists && errorResult(instance(exists), "r", silent).status).toBe(409);
    expect(invalidRef && errorResult(instance(invalidRef), "r", silent).status).toBe(400);
  });
});
