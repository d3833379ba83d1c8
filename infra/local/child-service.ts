/**
 * Runs dynalite or the KMS emulator in a child process (infra/local/service-process.ts), so their memory
 * and CPU are apart from the process that runs Tether's functions: the soak measures Tether's own memory
 * that way (bench/load). The child is reached over HTTP like the in-process services; its memory is
 * asked for over IPC.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ChildMessage, ParentMessage, ServiceProcessOptions } from "./service-process.js";

const SCRIPT = fileURLToPath(new URL("./service-process.ts", import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A process's memory, bytes. */
export interface ProcessMemory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
}

export interface ServiceProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** The child's own memory (after a full GC: it runs with --expose-gc). */
  memory(): Promise<ProcessMemory>;
  close(): Promise<void>;
}

/**
 * Forks the service and resolves once it listens.
 * @throws Error when the child fails to start (a port in use, ...) or exits before it listens
 */
export async function startServiceProcess(
  options: ServiceProcessOptions,
  logger: (line: string) => void = () => {},
): Promise<ServiceProcess> {
  const child: ChildProcess = fork(SCRIPT, [JSON.stringify(options)], {
    cwd: PROJECT_ROOT,
    // TypeScript through tsx (resolved from the project), and a GC the memory probe can force.
    execArgv: ["--import", "tsx", "--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map<number, (memory: ProcessMemory) => void>();
  let nextId = 1;
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  const ready = new Promise<{ url: string; port: number }>((resolve, reject) => {
    child.on("message", (message: ChildMessage) => {
      switch (message.type) {
        case "ready":
          resolve({ url: message.url, port: message.port });
          break;
        case "failed":
          reject(new Error(`${options.service} process failed to start: ${message.message}`));
          break;
        case "log":
          logger(message.line);
          break;
        case "memory": {
          const answer = pending.get(message.id);
          pending.delete(message.id);
          answer?.({ rss: message.rss, heapUsed: message.heapUsed, external: message.external });
          break;
        }
        default:
          break;
      }
    });
    child.once("error", reject);
    void exit.then(() => reject(new Error(`${options.service} process exited before it listened`)));
  });
  let started: { url: string; port: number };
  try {
    started = await ready;
  } catch (error) {
    if (!exited) child.kill();
    throw error;
  }
  const message = (m: ParentMessage) => child.send(m);
  return {
    ...started,
    pid: child.pid as number,
    memory: () =>
      new Promise<ProcessMemory>((resolve, reject) => {
        if (exited) {
          reject(new Error(`${options.service} process has exited`));
          return;
        }
        const id = nextId++;
        pending.set(id, resolve);
        message({ type: "memory", id });
      }),
    close: async () => {
      if (exited) return;
      message({ type: "close" });
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
