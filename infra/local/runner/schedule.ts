/**
 * Runs a scheduled function on a fixed local interval, one run at a time — as `reservedConcurrency: 1`
 * keeps the deployed sweep to one. A tick that finds a run under way is skipped; `runNow` waits for the run
 * under way and then starts its own, so its result reflects everything done before it was called.
 */
import { randomUUID } from "node:crypto";
import type { ScheduledEvent } from "aws-lambda";

export interface ScheduledRunner<R> {
  runNow(): Promise<R>;
  /** Skips the timer's ticks until resumed (runNow still runs); waits for a run under way. */
  pause(): Promise<void>;
  resume(): void;
  close(): Promise<void>;
}

export interface ScheduleOptions<R> {
  readonly intervalMs: number;
  readonly ruleArn: string;
  readonly region: string;
  readonly accountId: string;
  readonly invoke: (event: ScheduledEvent) => Promise<R>;
  readonly log: (line: string) => void;
  readonly describe: (result: R) => string;
}

/** Starts the timer (unless intervalMs is 0). */
export function startSchedule<R>(options: ScheduleOptions<R>): ScheduledRunner<R> {
  let running: Promise<R> | undefined;
  let queued: Promise<R> | undefined;
  let closed = false;
  let paused = false;

  const runOnce = async (): Promise<R> => {
    const started = Date.now();
    const event: ScheduledEvent = {
      version: "0",
      id: randomUUID(),
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: options.accountId,
      time: `${new Date().toISOString().slice(0, 19)}Z`,
      region: options.region,
      resources: [options.ruleArn],
      detail: {},
    };
    try {
      const result = await options.invoke(event);
      options.log(`${options.describe(result)} (${Date.now() - started}ms)`);
      return result;
    } catch (error) {
      options.log(
        `schedule ${options.ruleArn.split("/").pop()} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : "?"}`,
      );
      throw error;
    }
  };

  const start = (): Promise<R> => {
    const run = runOnce().finally(() => {
      if (running === run) running = undefined;
    });
    running = run;
    return run;
  };

  const timer =
    options.intervalMs > 0
      ? setInterval(() => {
          if (closed || paused || running !== undefined) return;
          start().catch(() => {
            // Logged in runOnce; the next tick tries again, as the next scheduled invocation would.
          });
        }, options.intervalMs)
      : undefined;
  timer?.unref();

  return {
    runNow() {
      if (closed) return Promise.reject(new Error("the schedule is closed"));
      if (running === undefined) return start();
      // One waiting run is enough for every caller that arrives while another runs.
      queued ??= running
        .catch(() => undefined)
        .then(() => {
          queued = undefined;
          return start();
        });
      return queued;
    },
    async pause() {
      paused = true;
      await Promise.allSettled([running, queued]);
    },
    resume() {
      paused = false;
    },
    async close() {
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      await Promise.allSettled([running, queued]);
    },
  };
}
