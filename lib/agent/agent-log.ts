/**
 * The agent's own append-only log (JSON lines): every request it accepted or refused, for whom (key,
 * Region, deployment) and what it did, never material. It is also the replay store: a request id in the log
 * is never acted on again, across restarts. An entry is written before the agent acts on the request, so a
 * crash between the two cannot lead to a second wrap of the same request.
 */
import { appendFile, mkdir, open as openFile } from "node:fs/promises";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import {
  DEFAULT_AGENT_CLOCK_SKEW_MS,
  DEFAULT_AGENT_MAX_LIFETIME_MS,
  replayWindowMs,
} from "../domain/agent-protocol.js";

/** The default policy's replay window (domain: replayWindowMs). */
const DEFAULT_REPLAY_WINDOW_MS = replayWindowMs({
  maxLifetimeMs: DEFAULT_AGENT_MAX_LIFETIME_MS,
  clockSkewMs: DEFAULT_AGENT_CLOCK_SKEW_MS,
});

export interface AgentLogEntry {
  readonly at: string;
  readonly id: string;
  readonly op: string;
  readonly outcome: "accepted" | "refused" | "answered" | "failed";
  readonly materialRef?: string | undefined;
  readonly keyArn?: string | undefined;
  readonly region?: string | undefined;
  readonly deployment?: string | undefined;
  readonly refusal?: string | undefined;
  readonly error?: string | undefined;
}

export class AgentLog {
  readonly #file: string;
  readonly #windowMs: number;
  /** Each id remembered, with when it was (last) logged; ids past the window are dropped. */
  readonly #seen = new Map<string, number>();
  #lastCutoffMs = Number.NEGATIVE_INFINITY;

  private constructor(file: string, windowMs: number) {
    this.#file = file;
    this.#windowMs = windowMs;
  }

  /**
   * Opens the log (creating its directory), reading the ids it holds into the replay store. The store keeps
   * an id for `windowMs` after it was logged (replayWindowMs of the agent's policy): a replay after that is
   * refused as expired, so the log file keeps everything and memory only the window. The file is read a line
   * at a time, and given `now` (the agent's clock) an id logged before the window is not kept at all (the
   * first `seen` would forget it): opening a log of years holds one line and the window's ids, not the file.
   */
  static async open(file: string, windowMs = DEFAULT_REPLAY_WINDOW_MS, now?: Date): Promise<AgentLog> {
    const log = new AgentLog(file, windowMs);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const cutoffMs = now === undefined ? Number.NEGATIVE_INFINITY : now.getTime() - windowMs;
    let lines: AsyncIterable<string>;
    try {
      const handle = await openFile(file, "r");
      lines = createInterface({ input: handle.createReadStream({ encoding: "utf8" }), crlfDelay: Infinity });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      return log;
    }
    for await (const line of lines) {
      if (line.trim() === "") continue;
      try {
        const { id, at } = JSON.parse(line) as { id?: unknown; at?: unknown };
        const atMs = typeof at === "string" ? Date.parse(at) : Number.NaN;
        // An unreadable time is kept (never forgotten early); an id before the window is already forgotten.
        if (typeof id === "string" && !(atMs < cutoffMs)) log.#remember(id, atMs);
      } catch {
        // A torn last line (a crash mid-write) names no id worth keeping.
      }
    }
    return log;
  }

  /** Whether the id was logged within the window before `now` (older ids are forgotten first). */
  seen(id: string, now: Date): boolean {
    this.#forgetBefore(now.getTime() - this.#windowMs);
    return this.#seen.has(id);
  }

  /** How many ids the replay store holds now. */
  get remembered(): number {
    return this.#seen.size;
  }

  /** Appends one entry (O_APPEND, mode 0600) and remembers its id. */
  async append(entry: AgentLogEntry): Promise<void> {
    this.#remember(entry.id, Date.parse(entry.at));
    await appendFile(this.#file, `${JSON.stringify(entry)}\n`, { encoding: "utf8", mode: 0o600, flag: "a" });
  }

  /** Remembers the id with its time; an unreadable time never expires (kept, never forgotten early). */
  #remember(id: string, atMs: number): void {
    this.#seen.set(
      id,
      Math.max(this.#seen.get(id) ?? 0, Number.isNaN(atMs) ? Number.POSITIVE_INFINITY : atMs),
    );
  }

  /** Drops ids logged before the cutoff; a whole pass at most once a second of the agent's clock. */
  #forgetBefore(cutoffMs: number): void {
    if (Math.abs(cutoffMs - this.#lastCutoffMs) < 1000) return;
    this.#lastCutoffMs = cutoffMs;
    for (const [id, atMs] of this.#seen) if (atMs < cutoffMs) this.#seen.delete(id);
  }
}
