/**
 * What every operation handler receives: the store, the clock, the wrapping key pool, the event
 * publisher, and the account and Region the request was signed for.
 */
import type { EmulatorClock } from "./clock.js";
import type { EventPublisher } from "./events.js";
import type { KmsStore } from "./store.js";
import type { RequestReader } from "./validation.js";
import type { WrappingKeyPool } from "./wrapping-key-pool.js";

export interface KmsContext {
  store: KmsStore;
  clock: EmulatorClock;
  pool: WrappingKeyPool;
  events: EventPublisher;
  region: string;
  accountId: string;
  log: (line: string) => void;
}

export interface KmsOperation {
  /** Whether a successful call changes state (and so is persisted). */
  mutates: boolean;
  handle(ctx: KmsContext, input: RequestReader): Promise<object> | object;
}
