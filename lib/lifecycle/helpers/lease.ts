/**
 * The one way a use case holds a Region: take its lease (trying again briefly while another worker holds
 * it, when asked to), do the work, give the lease back whatever happened. A lease lost during the work is
 * the work's to handle (saveRegion throws LeaseNotAcquiredError); here only taking it counts.
 */
import { errorName, LeaseNotAcquiredError } from "../../domain/errors.js";
import type { AwsRegion, TetherKeyId } from "../../domain/ids.js";
import type { Lease, LifecycleDeps } from "../ports.js";

/** A Region busy with another worker is tried again this many times, this far apart (about two seconds). */
export const BUSY_RETRIES = 10;
export const BUSY_WAIT_MS = 200;

export interface LeaseOptions {
  /** How many more times to try while the Region is busy (default 0: once). */
  readonly retries?: number | undefined;
  /** How long to wait between tries (default BUSY_WAIT_MS). */
  readonly waitMs?: number | undefined;
  /** Names the use case in the lease owner (`<worker>:<purpose>:<id>`), for whoever reads the table. */
  readonly purpose?: string | undefined;
}

/** The work's result, or that the Region stayed busy with another worker. */
export type Leased<T> = { readonly acquired: true; readonly value: T } | { readonly acquired: false };

/**
 * Runs `work` under the lease on `region` of `keyId`, released afterwards (a failed release is logged: the
 * lease expires on its own). Errors of `work` pass through.
 */
export async function withLease<T>(
  deps: LifecycleDeps,
  keyId: TetherKeyId,
  region: AwsRegion,
  work: (lease: Lease) => Promise<T>,
  options: LeaseOptions = {},
): Promise<Leased<T>> {
  const lease = await acquire(deps, keyId, region, options);
  if (lease === undefined) return { acquired: false };
  try {
    return { acquired: true, value: await work(lease) };
  } finally {
    await deps.keys.releaseLease(lease).catch((error: unknown) => {
      deps.log?.("warn", "could not release lease (it will expire)", {
        keyId,
        region,
        error: errorName(error),
      });
    });
  }
}

async function acquire(
  deps: LifecycleDeps,
  keyId: TetherKeyId,
  region: AwsRegion,
  options: LeaseOptions,
): Promise<Lease | undefined> {
  const purpose = options.purpose === undefined ? "" : `${options.purpose}:`;
  const owner = `${deps.workerId}:${purpose}${deps.newId()}`;
  const retries = options.retries ?? 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await deps.keys.acquireLease(keyId, region, owner, deps.leaseTtlMs, deps.clock());
    } catch (error) {
      if (!(error instanceof LeaseNotAcquiredError)) throw error;
      if (attempt >= retries) return undefined;
      await new Promise((resolve) => setTimeout(resolve, options.waitMs ?? BUSY_WAIT_MS));
    }
  }
}
