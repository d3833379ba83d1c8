import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { localVaultMaterial } from "../../../infra/local/runner/local-vault.js";
import { FileVault } from "../../../lib/vault/file/file-vault.js";

/** `POST /_local/vault/material` (npm start only): new material's check value for a local admin, never the material. */
const ADMIN = "arn:aws:iam::111122223333:user/tether-local-admin";
let dir: string;
let vault: FileVault;
let route: ReturnType<typeof localVaultMaterial>;
const call = async (caller: string, body: unknown) =>
  (await route({
    body: typeof body === "string" ? body : JSON.stringify(body),
    requestContext: { authorizer: { iam: { userArn: caller } } },
  })) as { statusCode: number; body: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tether-vault-route-"));
  vault = new FileVault({
    directory: dir,
    passphrase: "test-passphrase",
    scrypt: { N: 2 ** 14, r: 8, p: 1 },
  });
  await vault.unlock();
  route = localVaultMaterial(vault, [ADMIN]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it("generates material under a new reference and answers only its check value", async () => {
  const answer = await call(ADMIN, { materialRef: "members/a" });
  expect(answer.statusCode).toBe(201);
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(["checkValue", "materialRef"]);
  expect(body.checkValue).toBe(await vault.checkValue("members/a"));
});

it("refuses a taken reference, a bad body and anyone but a local admin", async () => {
  expect((await call(ADMIN, { materialRef: "members/a" })).statusCode).toBe(409);
  expect((await call(ADMIN, {})).statusCode).toBe(400);
  expect((await call(ADMIN, "{not json")).statusCode).toBe(400);
  expect((await call(ADMIN, { materialRef: "members/b", keySpec: "RSA_2048" })).statusCode).toBe(400);
  const reader = "arn:aws:iam::111122223333:user/tether-local-reader";
  expect((await call(reader, { materialRef: "members/c" })).statusCode).toBe(403);
  expect(await vault.has("members/c")).toBe(false);
});
