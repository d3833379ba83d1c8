/**
 * Test helpers around the local KMS emulator: an emulator per test file, SDK clients per Region, a one-call
 * import of material through the real import protocol, the error of a rejected call, and a fake event bus
 * that records what the emulator POSTs.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import {
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  type ImportKeyMaterialCommandInput,
  type ImportKeyMaterialCommandOutput,
  KMSClient,
} from "@aws-sdk/client-kms";
import { afterAll, beforeAll } from "vitest";
import { type KmsEmulator, type KmsEmulatorOptions, startKmsEmulator } from "../../infra/local/kms/index.js";
import { type KmsWrappingAlgorithm, wrapKeyMaterial } from "./kms-wrap.js";

/** A KMS client for the emulator at `url`, signing for `region` (the emulator's Region comes from it). */
export function localKmsClient(
  url: string,
  region: string,
  options: { maxAttempts?: number } = {},
): KMSClient {
  return new KMSClient({
    endpoint: url,
    region,
    credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local-secret" },
    maxAttempts: options.maxAttempts ?? 3,
  });
}

/** The emulator and client of {@link useKmsEmulator}; read them inside hooks and tests, once started. */
export interface KmsTestbed {
  readonly emulator: KmsEmulator;
  readonly kms: KMSClient;
}

/**
 * Starts an emulator on an ephemeral port and a client for `region` in beforeAll, and destroys the client
 * and closes the emulator in afterAll. Call it at the top of a file or a describe block.
 */
export function useKmsEmulator(
  region: string,
  options: { emulator?: KmsEmulatorOptions; maxAttempts?: number } = {},
): KmsTestbed {
  let emulator: KmsEmulator | undefined;
  let kms: KMSClient | undefined;
  beforeAll(async () => {
    emulator = await startKmsEmulator({ ...options.emulator, port: 0 });
    kms = localKmsClient(emulator.url, region, { maxAttempts: options.maxAttempts });
  });
  afterAll(async () => {
    kms?.destroy();
    await emulator?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the KMS emulator is used before its beforeAll started it");
    return value;
  };
  return {
    get emulator() {
      return started(emulator);
    },
    get kms() {
      return started(kms);
    },
  };
}

/** What an SDK call rejected with: the error's name, message and (for service errors) HTTP status. */
export interface Rejection {
  name: string;
  message: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Awaits a call that must fail.
 * @returns the error it rejected with
 * @throws Error when the call succeeds
 */
export async function rejection(promise: Promise<unknown>): Promise<Rejection> {
  try {
    await promise;
  } catch (err) {
    return err as Rejection;
  }
  throw new Error("expected the call to be rejected");
}

export interface ImportOptions {
  algorithm?: KmsWrappingAlgorithm;
  wrappingKeySpec?: "RSA_2048" | "RSA_3072" | "RSA_4096";
  validTo?: Date;
  expirationModel?: "KEY_MATERIAL_EXPIRES" | "KEY_MATERIAL_DOES_NOT_EXPIRE";
  extra?: Partial<ImportKeyMaterialCommandInput>;
}

/** GetParametersForImport, wrap, ImportKeyMaterial. Default: OAEP SHA-256, RSA_2048, does not expire. */
export async function importKeyMaterial(
  kms: KMSClient,
  keyId: string,
  material: Buffer,
  options: ImportOptions = {},
): Promise<ImportKeyMaterialCommandOutput> {
  const algorithm = options.algorithm ?? "RSAES_OAEP_SHA_256";
  const params = await kms.send(
    new GetParametersForImportCommand({
      KeyId: keyId,
      WrappingAlgorithm: algorithm,
      WrappingKeySpec: options.wrappingKeySpec ?? "RSA_2048",
    }),
  );
  const expirationModel =
    options.expirationModel ?? (options.validTo ? "KEY_MATERIAL_EXPIRES" : "KEY_MATERIAL_DOES_NOT_EXPIRE");
  return kms.send(
    new ImportKeyMaterialCommand({
      KeyId: keyId,
      ImportToken: params.ImportToken,
      EncryptedKeyMaterial: wrapKeyMaterial(material, params.PublicKey ?? new Uint8Array(), algorithm),
      ExpirationModel: expirationModel,
      ValidTo: options.validTo,
      ...options.extra,
    }),
  );
}

export interface RecordedPost {
  path: string;
  body: unknown;
}

export interface FakeEventBus {
  url: string;
  posts: RecordedPost[];
  /** Resolves once at least `n` POSTs arrived. */
  waitForPosts(n: number): Promise<RecordedPost[]>;
  close(): Promise<void>;
}

/** A tiny HTTP server that records every POST (answers 200 `{}`). */
export async function startFakeEventBus(): Promise<FakeEventBus> {
  const posts: RecordedPost[] = [];
  const waiters: { n: number; resolve: (p: RecordedPost[]) => void }[] = [];
  const readJson = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  };
  const server = createServer((req, res) => {
    readJson(req)
      .then((body) => {
        posts.push({ path: req.url ?? "", body });
        for (const w of waiters.filter((w) => posts.length >= w.n)) w.resolve(posts);
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      })
      .catch(() => res.writeHead(400).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    posts,
    waitForPosts(n) {
      if (posts.length >= n) return Promise.resolve(posts);
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
