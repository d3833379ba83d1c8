/**
 * Local DynamoDB: dynalite in process, in memory or persisted on disk.
 * dynalite has no TransactWriteItems and no UpdateTimeToLive, and ignores
 * ReturnValuesOnConditionCheckFailure (see shared/TOOLCHAIN.md); single-item conditional writes work.
 */
import { mkdir } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import dynalite from "dynalite";

export interface LocalDynamoOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /** LevelDB directory, created if missing; omitted = in memory. */
  dataDir?: string;
}

export interface LocalDynamo {
  /** The DynamoDB endpoint for the SDK, e.g. http://127.0.0.1:4598. */
  readonly url: string;
  readonly port: number;
  /** Stops the server and closes the database (flushing it to disk when persisted). */
  close(): Promise<void>;
}

/**
 * Starts dynalite with tables that become ACTIVE at once.
 *
 * @throws Error when the port cannot be bound or the data directory cannot be created or opened
 */
export async function startDynamo(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const host = options.host ?? "127.0.0.1";
  if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true });
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dataDir === undefined ? {} : { path: options.dataDir }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive sockets of SDK clients would otherwise hold the server open.
        server.closeAllConnections();
      }),
  };
}
