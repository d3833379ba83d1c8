/**
 * The agent's own append-only log (JSON lines): every request it accepted or refused, for whom (key,
 * Region, deployment) and what it did, never material. It is also the replay store: a request id in the log
 * is never acted on again, across restarts. An entry is written before the agent acts on the request, so a
 * crash between the two cannot lead to a second wrap of the same request.
 */
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";

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
  readonly #seen = new Set<string>();

  private constructor(file: string) {
    this.#file = file;
  }

  /** Opens the log (creating its directory), reading the ids it holds into the replay store. */
  static async open(file: string): Promise<AgentLog> {
    const log = new AgentLog(file);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    let text = "";
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      try {
        const id = (JSON.parse(line) as { id?: unknown }).id;
        if (typeof id === "string") log.#seen.add(id);
      } catch {
        // A torn last line (a crash mid-write) names no id worth keeping.
      }
    }
    return log;
  }

  seen(id: string): boolean {
    return this.#seen.has(id);
  }

  /** Appends one entry (O_APPEND, mode 0600) and remembers its id. */
  async append(entry: AgentLogEntry): Promise<void> {
    this.#seen.add(entry.id);
    await appendFile(this.#file, `${JSON.stringify(entry)}\n`, { encoding: "utf8", mode: 0o600, flag: "a" });
  }
}
