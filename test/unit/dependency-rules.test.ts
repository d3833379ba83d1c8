import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const fixture = fileURLToPath(new URL("../fixtures/depcruise/", import.meta.url));

/** Runs dependency-cruiser with the project's rules (.dependency-cruiser.cjs) on a directory. */
function cruise(cwd: string, paths: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        `${root}node_modules/dependency-cruiser/bin/dependency-cruise.mjs`,
        ...paths,
        "--config",
        `${root}.dependency-cruiser.cjs`,
        "--output-type",
        "err",
      ],
      { cwd },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), output: `${stdout}${stderr}` });
      },
    );
  });
}

describe("the import-direction rules (npm run lint)", () => {
  it("fail a fixture holding one deliberate violation per rule, naming each rule and only the violations", async () => {
    const { code, output } = await cruise(fixture, ["lib", "infra"]);
    expect(code).not.toBe(0);
    const reported = [...output.matchAll(/error ([a-z-]+): (\S+) → (\S+)/g)].map((m) =>
      m
        .slice(1)
        .join(" ")
        .replace(/\S*node_modules\/(@aws-sdk\/[^/]+)\S*/, "$1"),
    );
    expect(reported.sort()).toEqual(
      [
        "domain-is-pure lib/domain/rule.ts lib/store/repository.ts",
        "domain-is-pure lib/domain/io.ts fs",
        "domain-is-pure lib/domain/io.ts @aws-sdk/client-kms",
        "lifecycle-imports-no-adapter lib/lifecycle/use-case.ts lib/kms/adapter.ts",
        "adapters-import-ports-and-domain-only lib/store/repository.ts lib/lifecycle/use-case.ts",
        "only-local-wiring-imports-infra-local lib/api/route.ts infra/local/emulator.ts",
      ].sort(),
    );
  });
});
