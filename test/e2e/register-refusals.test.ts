import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../infra/local/runner/index.js";
import { ExitCode } from "../../lib/cli/exit-codes.js";
import { emptyWorkingDirectory, runCli } from "../integration/cli/run-cli.js";
import { ADMIN, E2E_STACK_START_MS, startE2eStack } from "../support/e2e-stack.js";
import { signedFetch } from "./support.js";

/**
 * Registrations the running stack must refuse with a 4xx naming the field (never a 5xx), over HTTP and
 * through the CLI's exit codes.
 */
let stack: LocalStack;
let cwd: { path: string; remove(): Promise<void> };
const run = Date.now().toString(36);

const post = (body: unknown) =>
  signedFetch(stack.apiUrl, { method: "POST", path: "/keys", credentials: ADMIN, body });
const cli = (argv: string[]) =>
  runCli([...argv, "--api-url", stack.apiUrl, "--json"], {
    cwd: cwd.path,
    credentials: ADMIN,
    env: { AWS_REGION: stack.region },
  });

function expectRefusal(answer: { status: number; body: unknown }, status: number, field: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body).toMatchObject({
    error: { field, message: expect.any(String), requestId: expect.any(String) },
  });
}

beforeAll(async () => {
  stack = await startE2eStack();
  cwd = await emptyWorkingDirectory();
}, E2E_STACK_START_MS);

afterAll(async () => {
  await stack?.close();
  await cwd?.remove();
});

describe("vault errors are 4xx naming the field", () => {
  it("the README's quick-start register run twice: 201, then 409 on materialRef (CLI exit 5)", async () => {
    const quickStart = [
      "keys",
      "register",
      "--region",
      stack.region,
      "--key-spec",
      "SYMMETRIC_DEFAULT",
      "--material-ref",
      `quick/${run}`,
      "--generate",
      "--validity",
      "P30D",
    ];
    const first = await cli(quickStart);
    expect(first.code, first.stderr).toBe(ExitCode.Ok);

    const second = await cli(quickStart);
    expect(second.code, second.stderr).toBe(ExitCode.Conflict);
    expect(second.stderr).toMatch(/409/);

    const overHttp = await post({
      mode: "create",
      region: stack.region,
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: `quick/${run}`,
      generateMaterial: true,
    });
    expectRefusal(overHttp, 409, "materialRef");
  });

  it("a reference with a `.material.json` segment: 400 on materialRef through generate and through has (CLI exit 6)", async () => {
    const ref = `bad/${run}.material.json/k`;
    const generated = await post({
      mode: "create",
      region: stack.region,
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: ref,
      generateMaterial: true,
    });
    expectRefusal(generated, 400, "materialRef");

    const existing = await post({
      mode: "create",
      region: stack.region,
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: ref,
      checkValue: "kcv:000000",
    });
    expectRefusal(existing, 400, "materialRef");

    const viaCli = await cli([
      "keys",
      "register",
      "--region",
      stack.region,
      "--key-spec",
      "SYMMETRIC_DEFAULT",
      "--material-ref",
      ref,
      "--generate",
    ]);
    expect(viaCli.code, viaCli.stderr).toBe(ExitCode.InvalidInput);
  });
});

describe("register refuses material it cannot use, before anything is created", () => {
  it("a second key on a claimed reference is a 409 naming materialRef; a missing check value or a spec the material cannot serve is a 400 (CLI exit 6)", async () => {
    const ref = `claimed/${run}`;
    const first = await post({
      mode: "create",
      region: stack.region,
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: ref,
      generateMaterial: true,
    });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const checkValue = (first.body as { key: { checkValue: string } }).key.checkValue;

    expectRefusal(
      await post({
        mode: "create",
        region: stack.region,
        keySpec: "SYMMETRIC_DEFAULT",
        materialRef: ref,
        checkValue,
      }),
      409,
      "materialRef",
    );
    expectRefusal(
      await post({ mode: "create", region: stack.region, keySpec: "SYMMETRIC_DEFAULT", materialRef: ref }),
      400,
      "checkValue",
    );
    expectRefusal(
      await post({ mode: "create", region: stack.region, keySpec: "RSA_2048", materialRef: ref, checkValue }),
      400,
      "keySpec",
    );
    expectRefusal(
      await post({ mode: "create", region: stack.region, keySpec: "HMAC_256", materialRef: ref, checkValue }),
      400,
      "keySpec",
    );
    const viaCli = await cli([
      "keys",
      "register",
      "--region",
      stack.region,
      "--key-spec",
      "SYMMETRIC_DEFAULT",
      "--material-ref",
      ref,
    ]);
    expect(viaCli.code, viaCli.stderr).toBe(ExitCode.InvalidInput);
    expect(viaCli.stderr).toMatch(/checkValue|--check-value/);
  });
});
