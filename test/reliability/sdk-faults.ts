/**
 * Faults below Tether's ports, at the AWS SDK: crashes between the DynamoDB writes inside one store call
 * (the nth write of an action), and around single KMS requests inside one port call (e.g. after KMS
 * accepted an ImportKeyMaterial, before the adapter reads the answer or asks DescribeKey). Middleware on
 * the model's own SDK clients, at the initialize step (outside the SDK's retries): "before" means the
 * request never leaves, "after" means KMS or DynamoDB did the work and the answer is lost.
 * Also counts the imports KMS accepted from Tether, below any crash, so a lost answer is still counted.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { KMSClient } from "@aws-sdk/client-kms";
import { AuditTrail } from "../../lib/audit/audit-trail.js";
import { EventBridgePublisher } from "../../lib/audit/eventbridge-publisher.js";
import type { KmsClients } from "../../lib/kms/clients.js";
import type { LifecycleDeps } from "../../lib/lifecycle/ports.js";
import { DynamoAuditLog } from "../../lib/store/dynamo-audit-log.js";
import { DynamoKeyRepository } from "../../lib/store/dynamo-key-repository.js";
import { SimulatedCrashError } from "../support/fault-deps.js";
import { CREDENTIALS, type LifecycleTestbed } from "../support/lifecycle-testbed.js";

/** A crash at the SDK: the nth request of `method` (an operation name; "write": any DynamoDB write). */
export interface SdkCrashPlan {
  readonly port: "dynamodb" | "kms-sdk";
  readonly method: string;
  readonly nth: number;
  readonly when: "before" | "after";
}

export const DYNAMODB_WRITES = new Set([
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "TransactWriteItems",
  "BatchWriteItem",
]);

/** One armed plan at a time; disarmed, the middleware only passes calls through. */
export class SdkCrashSwitch {
  #plan: SdkCrashPlan | undefined;
  #calls = 0;
  #fired = false;

  arm(plan: SdkCrashPlan): void {
    this.#plan = plan;
    this.#calls = 0;
    this.#fired = false;
  }

  /** Disarms; returns whether the crash happened. */
  disarm(): boolean {
    this.#plan = undefined;
    return this.#fired;
  }

  async around<T>(
    port: SdkCrashPlan["port"],
    operation: string,
    call: () => Promise<T>,
    onAnswer?: () => void,
  ): Promise<T> {
    const plan = this.#plan;
    const matches =
      plan !== undefined &&
      !this.#fired &&
      plan.port === port &&
      (plan.method === operation || (plan.method === "write" && DYNAMODB_WRITES.has(operation)));
    const now = matches && ++this.#calls === plan.nth;
    if (now && plan.when === "before") {
      this.#fired = true;
      throw new SimulatedCrashError(`before ${port} ${operation} #${plan.nth}`);
    }
    const result = await call();
    onAnswer?.();
    if (now) {
      this.#fired = true;
      throw new SimulatedCrashError(`after ${port} ${operation} #${plan.nth}`);
    }
    return result;
  }
}

/** Imports KMS accepted from Tether, per `${region}|${keyArn}`. */
export interface ImportCounter {
  readonly counts: Map<string, number>;
}

const operationOf = (commandName: string | undefined) => (commandName ?? "").replace(/Command$/, "");

/**
 * Per-Region KMS clients as lib/kms/clients.ts builds them (maxAttempts 4, the endpoint, static
 * credentials), with the crash switch and the import counter as middleware.
 */
export function instrumentedKmsClients(
  endpoint: string,
  crash: SdkCrashSwitch,
  counter: ImportCounter,
): KmsClients & { destroy(): void } {
  const clients = new Map<string, KMSClient>();
  return {
    forRegion(region) {
      let client = clients.get(region);
      if (client === undefined) {
        client = new KMSClient({ credentials: CREDENTIALS, region, maxAttempts: 4, endpoint });
        client.middlewareStack.add(
          (next, context) => async (args) => {
            const operation = operationOf(context.commandName);
            const count = () => {
              if (operation !== "ImportKeyMaterial") return;
              const keyId = String((args.input as { KeyId?: string }).KeyId);
              const key = `${region}|${keyId}`;
              counter.counts.set(key, (counter.counts.get(key) ?? 0) + 1);
            };
            return crash.around("kms-sdk", operation, () => next(args), count);
          },
          { step: "initialize", name: "modelKmsFaults" },
        );
        clients.set(region, client);
      }
      return client;
    },
    destroy() {
      for (const client of clients.values()) client.destroy();
    },
  };
}

/**
 * The store and audit ports built as lib/composition-root.ts builds them, over a DynamoDB client whose writes go
 * through the crash switch; for the steps that crash between DynamoDB writes.
 */
export function dynamoCrashPorts(
  bed: LifecycleTestbed,
  crash: SdkCrashSwitch,
): { ports: Pick<LifecycleDeps, "keys" | "audit" | "history">; destroy(): void } {
  const dynamodb = new DynamoDBClient({
    endpoint: bed.aws.endpoints.dynamodb,
    region: bed.config.region,
    credentials: CREDENTIALS,
  });
  dynamodb.middlewareStack.add(
    (next, context) => async (args) =>
      crash.around("dynamodb", operationOf(context.commandName), () => next(args)),
    { step: "initialize", name: "modelDynamoFaults" },
  );
  const events = new EventBridgeClient({
    endpoint: bed.aws.endpoints.events,
    region: bed.config.region,
    credentials: CREDENTIALS,
  });
  const store = { client: dynamodb, tableName: bed.config.tableName, clock: bed.now };
  const log = new DynamoAuditLog(store);
  return {
    ports: {
      keys: new DynamoKeyRepository(store),
      audit: new AuditTrail({
        log,
        publisher: new EventBridgePublisher({ client: events, busName: bed.config.auditBusName }),
      }),
      history: log,
    },
    destroy() {
      dynamodb.destroy();
      events.destroy();
    },
  };
}
