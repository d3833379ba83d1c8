/**
 * Faults Tether's own ports can show, for the reliability tests: a port that throws once at a chosen call
 * (a crash at that step of the import protocol), an audit bus that refuses everything, and a KMS port that
 * counts the imports that really happened, per Region and key. Built over real adapters against the local
 * AWS; the proxies only add the fault, they never answer in place of the adapter.
 */

import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { AuditTrail } from "../../lib/audit/audit-trail.js";
import type { AuditEvent } from "../../lib/domain/audit-types.js";
import type { EventPublisher, KmsPort, LifecycleDeps } from "../../lib/lifecycle/ports.js";
import { DynamoAuditLog } from "../../lib/store/dynamo-audit-log.js";

/** The error a simulated crash throws: not a TetherError, like a process dying or a socket reset. */
export class SimulatedCrashError extends Error {
  constructor(where: string, options?: ErrorOptions) {
    super(`simulated crash ${where}`, options);
    this.name = "SimulatedCrashError";
  }
}

/** Which port, which method, which call (1-based), and whether the call happens before the crash. */
export interface CrashPlan {
  readonly port: "keys" | "kms" | "audit" | "vault";
  readonly method: string;
  readonly nth: number;
  /** "before": the call never reaches the adapter. "after": it does, and its answer is lost. */
  readonly when: "before" | "after";
}

export interface Crashing<T> {
  readonly target: T;
  /** Whether the crash happened. */
  fired(): boolean;
}

/** Wraps `target` so that the `nth` call of `method` crashes (once); every other call passes through. */
export function crashOnce<T extends object>(target: T, plan: Omit<CrashPlan, "port">): Crashing<T> {
  let calls = 0;
  let fired = false;
  const proxy = new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (property !== plan.method) return value.bind(object);
      return async (...args: unknown[]) => {
        calls++;
        const now = calls === plan.nth && !fired;
        if (now && plan.when === "before") {
          fired = true;
          throw new SimulatedCrashError(`before ${plan.method} #${plan.nth}`);
        }
        const result = (await (value as (...a: unknown[]) => Promise<unknown>).apply(
          object,
          args,
        )) as unknown;
        if (now) {
          fired = true;
          throw new SimulatedCrashError(`after ${plan.method} #${plan.nth}`);
        }
        return result;
      };
    },
  });
  return { target: proxy, fired: () => fired };
}

/** Deps whose `plan.port` crashes once as planned. */
export function depsCrashing(deps: LifecycleDeps, plan: CrashPlan): Crashing<LifecycleDeps> {
  const port = deps[plan.port] as object;
  const crashing = crashOnce(port, plan);
  return { target: { ...deps, [plan.port]: crashing.target }, fired: crashing.fired };
}

/** A bus that refuses every event, as PutEvents does when EventBridge is unreachable. */
export class RefusingPublisher implements EventPublisher {
  attempts = 0;
  async publish(
    events: readonly AuditEvent[],
  ): Promise<{ failed: Array<{ id: string; errorCode: string }> }> {
    this.attempts += events.length;
    // Half the time a per-entry failure (PutEvents answered), half the time a thrown error (it did not).
    if (this.attempts % 2 === 0)
      return { failed: events.map((e) => ({ id: e.id, errorCode: "InternalFailure" })) };
    throw new SimulatedCrashError("in PutEvents");
  }
}

/** Deps whose audit trail writes the history (the outbox) but whose bus refuses everything. */
export function depsWithRefusingBus(
  deps: LifecycleDeps,
  store: { client: DynamoDBClient; tableName: string },
): LifecycleDeps {
  const log = new DynamoAuditLog({ client: store.client, tableName: store.tableName, clock: deps.clock });
  return { ...deps, audit: new AuditTrail({ log, publisher: new RefusingPublisher() }) };
}

/** Imports KMS accepted through this port, per `${region}|${keyArn}`. */
export interface ImportCounter {
  readonly counts: Map<string, number>;
  total(): number;
}

/**
 * Counts every importMaterial that returned (KMS took the material), and those whose answer a later
 * crash proxy lost too, since the count sits under any crash proxy built over the returned port.
 */
export function countingKms(kms: KmsPort): { kms: KmsPort; counter: ImportCounter } {
  const counts = new Map<string, number>();
  const counted = new Proxy(kms, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (property !== "importMaterial") return value.bind(object);
      return async (request: Parameters<KmsPort["importMaterial"]>[0]) => {
        const result = await object.importMaterial(request);
        const key = `${request.region}|${request.keyId}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        return result;
      };
    },
  });
  return {
    kms: counted,
    counter: { counts, total: () => [...counts.values()].reduce((a, b) => a + b, 0) },
  };
}
