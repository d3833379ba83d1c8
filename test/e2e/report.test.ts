/**
 * `tether report` against the running local stack: keys registered and acted on through the CLI, then the
 * report in each format. The CSV is read back with csv-parse (a row per key and Region), the JSON validated
 * against docs/report.schema.json with ajv, and every format searched for the canary's needles: the known
 * material in every encoding a leak could take (test/support/canary.ts), and each import token and
 * wrapped material Tether sent to KMS, read off its ImportKeyMaterial requests as they leave the process.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { ClientRequest } from "node:http";
import { join } from "node:path";
import { CreateKeyCommand } from "@aws-sdk/client-kms";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../infra/local/runner/index.js";
import { KeyActionResponse, KeyListResponse } from "../../lib/api/schemas.js";
import { ExitCode } from "../../lib/cli/exit-codes.js";
import { fileVaultFromEnv } from "../../lib/vault/file/file-vault.js";
import { type CliRun, emptyWorkingDirectory, runCli } from "../integration/cli/run-cli.js";
import { materialNeedles } from "../support/canary.js";
import { ADMIN, E2E_STACK_START_MS, stackKmsClient, startE2eStack } from "../support/e2e-stack.js";

const REPLICA = "eu-central-1";

describe("tether report against the local stack", () => {
  let stack: LocalStack;
  let cwd: { path: string; remove(): Promise<void> };
  const materials: Buffer[] = [];
  const tokens: Buffer[] = [];
  const wrapped: Buffer[] = [];
  const keyIds: string[] = [];

  const cli = (argv: string[]): Promise<CliRun> =>
    runCli([...argv, "--api-url", stack.apiUrl], { cwd: cwd.path, credentials: ADMIN });
  const ok = async (argv: string[]): Promise<string> => {
    const result = await cli(argv);
    expect(result.code, result.stderr).toBe(ExitCode.Ok);
    return result.stdout;
  };

  /**
   * ImportKeyMaterial bodies as Tether's functions (in this process) send them to the emulator: the body
   * is read where every request of this process writes it, ClientRequest's write and end.
   */
  const { write, end } = ClientRequest.prototype;
  const chunks = new WeakMap<ClientRequest, Buffer[]>();
  function keep(request: ClientRequest, chunk: unknown): void {
    if (request.getHeader("x-amz-target") !== "TrentService.ImportKeyMaterial") return;
    const list = chunks.get(request) ?? [];
    if (typeof chunk === "string" || chunk instanceof Uint8Array) list.push(Buffer.from(chunk));
    chunks.set(request, list);
  }
  function recordRequests(): void {
    ClientRequest.prototype.write = function (this: ClientRequest, chunk: unknown, ...rest: unknown[]) {
      keep(this, chunk);
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof write;
    ClientRequest.prototype.end = function (this: ClientRequest, chunk?: unknown, ...rest: unknown[]) {
      if (typeof chunk !== "function") keep(this, chunk);
      const list = chunks.get(this);
      if (list !== undefined) {
        const body = JSON.parse(Buffer.concat(list).toString("utf8")) as Record<string, string>;
        tokens.push(Buffer.from(body.ImportToken ?? "", "base64"));
        wrapped.push(Buffer.from(body.EncryptedKeyMaterial ?? "", "base64"));
        chunks.delete(this);
      }
      return (end as (...args: unknown[]) => ClientRequest).call(this, chunk, ...rest);
    } as typeof end;
  }

  beforeAll(async () => {
    cwd = await emptyWorkingDirectory();
    recordRequests();
    stack = await startE2eStack();
    const kms = stackKmsClient(stack);
    const vault = fileVaultFromEnv(process.env);
    // Two adopted keys with material the test knows, one created with generated material and a replica.
    for (const name of ["a", "b"]) {
      const material = randomBytes(32);
      materials.push(material);
      const { checkValue } = await vault.put(`report/${name}`, material, "SYMMETRIC_DEFAULT");
      const created = await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
      const out = await ok([
        "keys",
        "register",
        "--adopt",
        created.KeyMetadata?.Arn as string,
        "--material-ref",
        `report/${name}`,
        "--check-value",
        checkValue,
        "--validity",
        "P30D",
        "--renew-before",
        "P7D",
        "--json",
      ]);
      keyIds.push(KeyActionResponse.parse(JSON.parse(out)).key.id);
    }
    const created = await ok([
      "keys",
      "register",
      "--key-spec",
      "SYMMETRIC_DEFAULT",
      "--region",
      stack.region,
      "--material-ref",
      "report/c",
      "--generate",
      "--replica-region",
      REPLICA,
      "--alias",
      "alias/report-c",
      "--json",
    ]);
    keyIds.push(KeyActionResponse.parse(JSON.parse(created)).key.id);
    await ok(["keys", "revoke", keyIds[1] as string, "--reason", "audit drill"]);
    await ok(["keys", "restore", keyIds[1] as string, "--reason", "audit drill over"]);
  }, E2E_STACK_START_MS + 120_000);
  afterAll(async () => {
    ClientRequest.prototype.write = write;
    ClientRequest.prototype.end = end;
    await stack?.close();
    await cwd?.remove();
  });

  it("writes CSV with one row per managed key and Region", async () => {
    const listed = KeyListResponse.parse(JSON.parse(await ok(["keys", "list", "--all", "--json"])));
    const expected = listed.items.flatMap((k) => k.regions.map((r) => `${k.id} ${r.region}`)).sort();
    expect(expected).toHaveLength(4);

    const stderr = (await cli(["report", "--format", "csv", "-o", "inventory.csv"])).stderr;
    expect(stderr).toMatch(/^wrote .*inventory\.csv: 4 key-Regions of 3 keys/);
    const records = parse(await readFile(join(cwd.path, "inventory.csv"), "utf8"), {
      columns: true,
    }) as Record<string, string>[];
    expect(records.map((r) => `${r.keyId} ${r.region}`).sort()).toEqual(expected);
    const b = records.find((r) => r.keyId === keyIds[1]);
    expect(b).toMatchObject({
      materialRef: "report/b",
      keySpec: "SYMMETRIC_DEFAULT",
      keyUsage: "ENCRYPT_DECRYPT",
      vault: "file",
      revokes: "1",
      restores: "1",
      lastImportedBy: expect.stringContaining("arn:aws:"),
    });
    expect(records.filter((r) => r.keyId === keyIds[2]).map((r) => r.alias)).toEqual([
      "alias/report-c",
      "alias/report-c",
    ]);
  }, 60_000);

  it("writes JSON that matches docs/report.schema.json, with the period's revoke and restore", async () => {
    const json = JSON.parse(await ok(["report", "--format", "json", "--since", "PT1H"]));
    const schema = JSON.parse(
      await readFile(new URL("../../docs/report.schema.json", import.meta.url), "utf8"),
    );
    const ajv = new Ajv2020({
      allErrors: true,
      formats: { "date-time": (s: string) => !Number.isNaN(Date.parse(s)) },
    });
    const validate = ajv.compile(schema);
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
    expect(json.rows).toHaveLength(4);
    expect(
      json.events.map((e: { kind: string; keyId: string; reason?: string }) => [e.kind, e.keyId, e.reason]),
    ).toEqual([
      ["revoke", keyIds[1], "audit drill"],
      ["restore", keyIds[1], expect.any(String)],
    ]);
  }, 60_000);

  it("writes one self-contained HTML file with the timeline", async () => {
    await ok(["report", "--format", "html", "-o", "inventory.html"]);
    const html = await readFile(join(cwd.path, "inventory.html"), "utf8");
    expect(html).toContain("<svg");
    expect(html.match(/<g data-key=/g)).toHaveLength(4);
    expect(html).not.toMatch(/<script|<link|<img|\ssrc=|\shref=|url\(/i);
  }, 60_000);

  it("the canary finds no material, wrapped material or import token in any format", async () => {
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    expect(wrapped.length).toBeGreaterThanOrEqual(5);
    const needles = [
      ...materials.flatMap((m) => materialNeedles(m)),
      ...[...tokens, ...wrapped]
        .flatMap((blob) => [
          blob.toString("base64").replace(/=+$/, ""),
          blob.toString("base64url"),
          blob.toString("hex"),
        ])
        .map((text) => ({ label: "import token or wrapped material", text })),
    ].filter((needle) => needle.text.length >= 16);
    const reports: string[] = [];
    for (const format of ["csv", "json", "html"]) {
      reports.push(await ok(["report", "--format", format, "--since", "P1D"]));
    }
    // The search can fail: the material's hex planted in a copy of a report is found.
    const planted = `${reports[0]}${materials[0]?.toString("hex")}`;
    expect(needles.some((n) => planted.includes(n.text))).toBe(true);
    const hits = reports.flatMap((text, i) =>
      needles.filter((n) => text.includes(n.text)).map((n) => `${["csv", "json", "html"][i]}: ${n.label}`),
    );
    expect(hits).toEqual([]);
  }, 60_000);
});
