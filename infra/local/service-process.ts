/**
 * One service of the local AWS (dynalite or the KMS emulator) in a process of its own, started by
 * `startServiceProcess` (infra/local/child-service.ts) with its options as JSON in argv[2]. It tells its
 * parent its URL over IPC once it listens, answers `memory` requests with its own memory (after a full GC
 * when run with --expose-gc), forwards its log lines, and closes on `close` or when the parent goes away.
 */
import { startDynamo } from "./dynamodb.js";
import { type CallerIdentity, startKmsEmulator } from "./kms/index.js";

export interface ServiceProcessOptions {
  readonly service: "dynamodb" | "kms";
  readonly host: string;
  readonly port?: number;
  readonly dataDir?: string;
  readonly accountId?: string;
  readonly eventBusUrl?: string;
  /** Callers the KMS emulator's CloudTrail records know by access key (JSON over argv, like the rest). */
  readonly identities?: readonly CallerIdentity[];
}

export type ParentMessage = { type: "memory"; id: number } | { type: "close" };
export type ChildMessage =
  | { type: "ready"; url: string; port: number }
  | { type: "failed"; message: string }
  | { type: "log"; line: string }
  | { type: "memory"; id: number; rss: number; heapUsed: number; external: number }
  | { type: "closed" };

const send = (message: ChildMessage) => process.send?.(message);

async function run(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? "{}") as ServiceProcessOptions;
  const logger = (line: string) => send({ type: "log", line });
  const service =
    options.service === "dynamodb"
      ? await startDynamo({
          host: options.host,
          ...(options.port === undefined ? {} : { port: options.port }),
          ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
        })
      : await startKmsEmulator({
          host: options.host,
          ...(options.port === undefined ? {} : { port: options.port }),
          ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
          ...(options.accountId === undefined ? {} : { accountId: options.accountId }),
          ...(options.eventBusUrl === undefined ? {} : { eventBusUrl: options.eventBusUrl }),
          ...(options.identities === undefined ? {} : { identities: options.identities }),
          logger,
        });
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await service.close().catch((error: unknown) => logger(`close failed: ${String(error)}`));
    send({ type: "closed" });
    process.disconnect?.();
    process.exit(0);
  };
  process.on("message", (message: ParentMessage) => {
    if (message.type === "close") void close();
    else if (message.type === "memory") {
      (globalThis as { gc?: () => void }).gc?.();
      const usage = process.memoryUsage();
      send({
        type: "memory",
        id: message.id,
        rss: usage.rss,
        heapUsed: usage.heapUsed,
        external: usage.external,
      });
    }
  });
  // The parent died or closed the channel without asking: do not linger as an orphan holding a port.
  process.on("disconnect", () => void close());
  send({ type: "ready", url: service.url, port: service.port });
}

run().catch((error: unknown) => {
  send({ type: "failed", message: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
  process.disconnect?.();
});
