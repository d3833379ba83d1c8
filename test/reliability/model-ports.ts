/**
 * The ports the model runs Tether with, one set per testbed: the testbed's deps (lib/composition-root.ts's
 * createLifecycleDeps) with the KMS adapter rebuilt the same way over instrumented clients (sdk-faults.ts)
 * and a rate limiter on a warped clock, plus store ports over a crashing DynamoDB client for the steps
 * that crash between writes.
 *
 * The warped clock: the limiter queues, orders and spaces every call exactly as in Lambda, but a wait
 * moves this clock forward instead of sleeping. GetParametersForImport's quota (1 per second per Region,
 * 0.8 of it Tether's share) made every sequence sleep about two and a half seconds of real time.
 */
import { KmsAdapter } from "../../lib/kms/kms-adapter.js";
import { RateLimiter } from "../../lib/kms/rate-limiter.js";
import type { LifecycleDeps } from "../../lib/lifecycle/ports.js";
import type { LifecycleTestbed } from "../support/lifecycle-testbed.js";
import { PRIMARY, REPLICA } from "./regions.js";
import {
  dynamoCrashPorts,
  type ImportCounter,
  instrumentedKmsClients,
  SdkCrashSwitch,
} from "./sdk-faults.js";

/** Real time plus every wait the limiter asked for; never goes back. */
export class WarpedClock {
  #skippedMs = 0;
  /** Milliseconds the limiter would have slept. */
  get skippedMs(): number {
    return this.#skippedMs;
  }
  readonly now = (): number => Date.now() + this.#skippedMs;
  readonly sleep = async (ms: number): Promise<void> => {
    this.#skippedMs += Math.max(0, ms);
    // Still yields, so callers queued behind this one interleave as they would after a real wait.
    await new Promise<void>((resolve) => setImmediate(resolve));
  };
}

export interface ModelPorts {
  /** The testbed's deps with the instrumented KMS adapter. */
  readonly deps: LifecycleDeps;
  /** Store and audit ports whose DynamoDB writes go through `crash`. */
  readonly crashingStore: Pick<LifecycleDeps, "keys" | "audit" | "history">;
  readonly crash: SdkCrashSwitch;
  readonly counter: ImportCounter;
  readonly limiterClock: WarpedClock;
  close(): void;
}

const portsByBed = new WeakMap<LifecycleTestbed, ModelPorts>();

/** The model's ports for `bed`, built on first use; closeModelPorts closes their clients. */
export function modelPorts(bed: LifecycleTestbed): ModelPorts {
  let ports = portsByBed.get(bed);
  if (ports === undefined) {
    const crash = new SdkCrashSwitch();
    const counter: ImportCounter = { counts: new Map() };
    const limiterClock = new WarpedClock();
    const clients = instrumentedKmsClients(bed.aws.endpoints.kms, crash, counter);
    const store = dynamoCrashPorts(bed, crash);
    const kms = new KmsAdapter({
      clients,
      vault: bed.vault,
      rateLimiter: new RateLimiter({
        quotas: bed.config.kmsQuotas,
        now: limiterClock.now,
        sleep: limiterClock.sleep,
      }),
      now: bed.now,
    });
    // Sentinels on in both Regions, as deployed (TETHER_SENTINELS defaults to on): the sweep keeps them and
    // reads the incidents; the model runs the probe (probeSentinels) where the one-minute schedule would.
    const withSentinels = bed.depsWith({
      TETHER_SENTINELS: "on",
      TETHER_REGIONS: `${PRIMARY},${REPLICA}`,
    });
    ports = {
      deps: { ...withSentinels, kms },
      crashingStore: store.ports,
      crash,
      counter,
      limiterClock,
      close() {
        clients.destroy();
        store.destroy();
      },
    };
    portsByBed.set(bed, ports);
  }
  return ports;
}

/** Closes the SDK clients of `bed`'s model ports (before the testbed closes). */
export function closeModelPorts(bed: LifecycleTestbed): void {
  portsByBed.get(bed)?.close();
  portsByBed.delete(bed);
}
