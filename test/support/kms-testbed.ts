/**
 * Test helpers around the local KMS emulator: SDK clients per Region, a one-call import of material
 * through the real import protocol, and a fake event bus that records what the emulator POSTs.
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
