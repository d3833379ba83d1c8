/**
 * The local AWS: the event bus, DynamoDB (dynalite) and the KMS emulator, started together and wired so that
 * the emulator's own events (key material expiry) reach the `default` bus. Used by integration tests and by
 * `npm start`; nothing in lib/ or functions/ imports it — they reach these services over HTTP only.
 */
import { join } from "node:path";
import { type LocalDynamo, startDynamo } from "./dynamodb.js";
import { type EventBus, startEventBus } from "./events/index.js";
import { type CallerIdentity, type KmsEmulator, startKmsEmulator } from "./kms/index.js";

export interface LocalAwsOptions {
  /** Interface every service listens on; default 127.0.0.1. */
  host?: string;
  /** Ports; each defaults to 0 (a free port). */
  ports?: { kms?: number; dynamodb?: number; events?: number };
  /** Persist under this directory (`kms/`, `dynamodb/`); omitted = everything in memory. */
  dataDir?: string;
  /** Account of KMS ARNs and events; default 111122223333. */
  accountId?: string;
  /** Callers the KMS emulator's CloudTrail records know by access key (others: an IAM user named after the key). */
  identities?: readonly CallerIdentity[];
  logger?: (line: string) => void;
}

export interface LocalAws {
  readonly kms: KmsEmulator;
  readonly dynamodb: LocalDynamo;
  readonly events: EventBus;
  readonly endpoints: { readonly kms: string; readonly dynamodb: string; readonly events: string };
  /** Closes every service, in the reverse order of starting. */
  close(): Promise<void>;
}

/**
 * Starts the event bus, then DynamoDB, then the KMS emulator pointed at the bus.
 * If a service fails to start, those already started are closed and the error is rethrown.
 *
 * @throws Error from the service that failed to start (a port in use, an unreadable data directory, ...)
 */
export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const host = options.host ?? "127.0.0.1";
  const accountId = options.accountId ?? "111122223333";
  const logger = options.logger ?? (() => {});
  const started: Array<{ name: string; close: () => Promise<void> }> = [];

  const closeAll = async (): Promise<void> => {
    const failures: unknown[] = [];
    for (const service of started.reverse()) {
      try {
        await service.close();
      } catch (error) {
        failures.push(error);
        logger(
          `local-aws: closing ${service.name} failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    started.length = 0;
    if (failures.length > 0) throw new AggregateError(failures, "Some local AWS services failed to close");
  };

  try {
    const events = await startEventBus({
      host,
      ...(options.ports?.events === undefined ? {} : { port: options.ports.events }),
      accountId,
      logger,
    });
    started.push({ name: "events", close: () => events.close() });

    const dynamodb = await startDynamo({
      host,
      ...(options.ports?.dynamodb === undefined ? {} : { port: options.ports.dynamodb }),
      ...(options.dataDir === undefined ? {} : { dataDir: join(options.dataDir, "dynamodb") }),
    });
    started.push({ name: "dynamodb", close: () => dynamodb.close() });

    const kms = await startKmsEmulator({
      host,
      ...(options.ports?.kms === undefined ? {} : { port: options.ports.kms }),
      ...(options.dataDir === undefined ? {} : { dataDir: join(options.dataDir, "kms") }),
      accountId,
      ...(options.identities === undefined ? {} : { identities: options.identities }),
      eventBusUrl: events.url,
      logger,
    });
    started.push({ name: "kms", close: () => kms.close() });

    return {
      kms,
      dynamodb,
      events,
      endpoints: { kms: kms.url, dynamodb: dynamodb.url, events: events.url },
      close: closeAll,
    };
  } catch (error) {
    await closeAll().catch(() => {
      // The start failure is the error worth reporting; close failures were logged above.
    });
    throw error;
  }
}
