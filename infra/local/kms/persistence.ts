/**
 * Persists the emulator's state as one JSON file in dataDir, written atomically (temp file, then
 * rename) so a crash never leaves half a file. Writes are serialised.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { StateSnapshot } from "./store.js";

export class StateFile {
  private readonly path: string;
  private chain: Promise<void> = Promise.resolve();
  private counter = 0;

  constructor(private readonly dir: string) {
    this.path = join(dir, "kms-state.json");
  }

  async load(): Promise<StateSnapshot | undefined> {
    await mkdir(this.dir, { recursive: true });
    try {
      return JSON.parse(await readFile(this.path, "utf8")) as StateSnapshot;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  /** Queues a write of `snapshot`; resolves when it is on disk. */
  save(snapshot: StateSnapshot): Promise<void> {
    const text = JSON.stringify(snapshot);
    this.chain = this.chain.then(async () => {
      this.counter += 1;
      const tmp = `${this.path}.${process.pid}.${this.counter}.tmp`;
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, this.path);
    });
    return this.chain;
  }
}
