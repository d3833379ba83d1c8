/**
 * Runs the model test's sequences in parallel lanes, one child process each with its own local AWS
 * (vitest runs test files one at a time on a 2-core machine, so one lane would leave a core idle). Lane
 * i runs its share of the sequences from seed + i, so a run is reproduced by the same seed, runs and lanes.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { BatchOptions, BatchResult } from "./model-run.js";

const LANE_MAIN = fileURLToPath(new URL("./lane-main.ts", import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface LanesOptions extends Omit<BatchOptions, "runs" | "seed"> {
  readonly runs: number;
  readonly lanes: number;
  readonly seed: number;
}

const running = new Set<ChildProcess>();

/** Ends the lanes still running (a test that timed out): each by its own process id. */
export function stopLanes(): void {
  for (const child of running) child.kill();
  running.clear();
}

/** The sequences of lane `lane` when `runs` are split over `lanes`. */
export function laneRuns(runs: number, lanes: number, lane: number): number {
  return Math.floor(runs / lanes) + (lane < runs % lanes ? 1 : 0);
}

/**
 * Starts every lane and waits for all.
 * @throws Error when a lane's process ends without sending a result
 */
export async function runLanes(options: LanesOptions): Promise<BatchResult[]> {
  const lanes = Array.from({ length: options.lanes }, (_, lane) => {
    const batch: BatchOptions = {
      runs: laneRuns(options.runs, options.lanes, lane),
      maxSteps: options.maxSteps,
      seed: options.seed + lane,
      noShrink: options.noShrink,
    };
    return new Promise<BatchResult>((resolve, reject) => {
      const child = fork(LANE_MAIN, [JSON.stringify(batch)], {
        cwd: PROJECT_ROOT,
        execArgv: ["--import", "tsx"],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      running.add(child);
      let result: BatchResult | undefined;
      child.on("message", (message) => {
        result = message as BatchResult;
      });
      child.on("error", reject);
      child.on("exit", (code, signal) => {
        running.delete(child);
        if (result !== undefined) resolve(result);
        else
          reject(
            new Error(`reliability lane ${lane} ended (code ${code}, signal ${signal}) without a result`),
          );
      });
    });
  });
  return Promise.all(lanes);
}

/** Sums the lanes' figures (numbers, and maps of numbers). */
export function sumFigures<T extends object>(all: readonly T[]): T {
  const total: Record<string, unknown> = {};
  for (const figures of all) {
    for (const [name, value] of Object.entries(figures)) {
      if (typeof value === "number") total[name] = ((total[name] as number | undefined) ?? 0) + value;
      else {
        const into = (total[name] ?? {}) as Record<string, number>;
        for (const [k, n] of Object.entries(value as Record<string, number>)) into[k] = (into[k] ?? 0) + n;
        total[name] = into;
      }
    }
  }
  return total as T;
}
