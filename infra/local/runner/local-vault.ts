/**
 * The local stack's file vault: under `<dataDir>/vault`, unlocked with a passphrase generated on first start
 * and kept in `<dataDir>/vault.passphrase` (0600, never printed), or in a temporary directory with a
 * throwaway passphrase when the stack runs in memory. Seeded with demo material the first time.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileVault, type ScryptParams } from "../../../lib/vault/file/file-vault.js";

/** Material references the local vault holds from the start, for `tether keys register`. */
export const DEMO_MATERIAL_REFS = ["demo/payments", "demo/orders"] as const;

/** scrypt's floor for a throwaway in-memory vault: it protects nothing that outlives the process. */
const FAST_SCRYPT: ScryptParams = { N: 2 ** 14, r: 8, p: 1 };

export interface LocalVault {
  readonly directory: string;
  readonly passphrase: string;
  readonly vault: FileVault;
  /** Removes a temporary vault; keeps a persisted one. */
  dispose(): Promise<void>;
}

/**
 * Opens (or creates) the local vault and seeds the demo material it lacks.
 * @throws VaultError when an existing vault does not open with the kept passphrase
 */
export async function openLocalVault(dataDir: string | undefined): Promise<LocalVault> {
  let directory: string;
  let passphrase: string;
  let temporary: string | undefined;
  if (dataDir === undefined) {
    temporary = await mkdtemp(join(tmpdir(), "tether-local-vault-"));
    directory = join(temporary, "vault");
    passphrase = randomBytes(32).toString("base64url");
  } else {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    directory = join(dataDir, "vault");
    passphrase = await keptPassphrase(join(dataDir, "vault.passphrase"));
  }
  const vault = new FileVault({
    directory,
    passphrase,
    ...(temporary === undefined ? {} : { scrypt: FAST_SCRYPT }),
  });
  try {
    await vault.unlock();
    for (const ref of DEMO_MATERIAL_REFS) {
      if (!(await vault.has(ref))) await vault.generate(ref, "SYMMETRIC_DEFAULT");
    }
  } catch (error) {
    if (temporary !== undefined) await rm(temporary, { recursive: true, force: true });
    throw error;
  }
  return {
    directory,
    passphrase,
    vault,
    dispose: async () => {
      if (temporary !== undefined) await rm(temporary, { recursive: true, force: true });
    },
  };
}

/** Reads the passphrase file, creating it (exclusively, 0600) with a random passphrase on first use. */
async function keptPassphrase(file: string): Promise<string> {
  try {
    const handle = await open(file, "wx", 0o600);
    const passphrase = randomBytes(32).toString("base64url");
    try {
      await handle.writeFile(`${passphrase}\n`, "utf8");
    } finally {
      await handle.close();
    }
    return passphrase;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return (await readFile(file, "utf8")).trim();
}

/** The local vault's own route (`npm start` only, never deployed): new material under a new reference. */
export const LOCAL_VAULT_ROUTE = { method: "POST", path: "/_local/vault/material", auth: "aws_iam" } as const;

/**
 * `POST /_local/vault/material {materialRef, keySpec?}` (SigV4 as a local admin): generates material under a
 * reference the vault does not hold yet and answers its check value, never the material — what a customer
 * does with their own vault before adopting a key with that reference and check value (`npm run demo`'s
 * member keys). 400 for a bad body, 403 for a non-admin, 409 for a reference the vault holds already.
 */
export function localVaultMaterial(
  vault: Pick<FileVault, "has" | "generate">,
  adminPrincipals: readonly string[],
): (event: { body?: string; requestContext: unknown }) => Promise<unknown> {
  const answer = (statusCode: number, body: unknown) => ({
    statusCode,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return async (event) => {
    const caller = (event.requestContext as { authorizer?: { iam?: { userArn?: string } } }).authorizer?.iam
      ?.userArn;
    if (caller === undefined || !adminPrincipals.includes(caller)) {
      return answer(403, { error: { code: "Forbidden", message: "local admins only" } });
    }
    let input: { materialRef?: unknown; keySpec?: unknown };
    try {
      input = JSON.parse(event.body ?? "{}") as typeof input;
    } catch {
      return answer(400, { error: { code: "ValidationError", message: "the body is not JSON" } });
    }
    const { materialRef, keySpec = "SYMMETRIC_DEFAULT" } = input;
    if (typeof materialRef !== "string" || materialRef.length === 0) {
      return answer(400, { error: { code: "ValidationError", field: "materialRef", message: "required" } });
    }
    if (keySpec !== "SYMMETRIC_DEFAULT") {
      return answer(400, {
        error: { code: "ValidationError", field: "keySpec", message: "only SYMMETRIC_DEFAULT locally" },
      });
    }
    if (await vault.has(materialRef)) {
      return answer(409, {
        error: { code: "Conflict", field: "materialRef", message: "the vault holds material there already" },
      });
    }
    const { checkValue } = await vault.generate(materialRef, "SYMMETRIC_DEFAULT");
    return answer(201, { materialRef, checkValue });
  };
}
