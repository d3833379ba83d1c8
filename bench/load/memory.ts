/**
 * Samples the process's memory at a fixed period, so a soak can tell "flat" from "growing": RSS, V8 heap
 * used and external memory. With `--expose-gc` each heap sample follows a full collection, so heapUsed is
 * what is live, not what is waiting to be collected. Child processes (dynalite and the KMS emulator when
 * the stack runs them apart) are sampled beside it, each on its own, through their memory probe.
 */
import type { ProcessMemory } from "../../infra/local/child-service.js";

/** A child process to sample: its own memory, after a full GC in the child. */
export interface ChildProbe {
  readonly name: string;
  readonly pid: number;
  memory(): Promise<ProcessMemory>;
}

export interface ProcessSample {
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly externalMb: number;
}

export interface MemorySample {
  /** Seconds since the sampler started. */
  readonly t: number;
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly externalMb: number;
  /** Each child process's memory at the same moment, by name. */
  readonly children?: Readonly<Record<string, ProcessSample>>;
}

export interface SeriesSummary {
  readonly first: number;
  readonly last: number;
  readonly max: number;
  readonly min: number;
  /** Least-squares slope over the run, MB per minute. */
  readonly slopeMbPerMin: number;
}

export interface MemorySummary {
  readonly samples: number;
  /** Whether heap samples followed a forced full GC (node --expose-gc). */
  readonly gcBeforeSample: boolean;
  readonly rssMb: SeriesSummary;
  readonly heapUsedMb: SeriesSummary;
  readonly externalMb: SeriesSummary;
  /** The same series for each child process, by name. */
  readonly children?: Readonly<
    Record<
      string,
      { pid: number; rssMb: SeriesSummary; heapUsedMb: SeriesSummary; externalMb: SeriesSummary }
    >
  >;
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export class MemorySampler {
  readonly samples: MemorySample[] = [];
  #timer: NodeJS.Timeout | undefined;
  #started = 0;
  readonly #gc = (globalThis as { gc?: () => void }).gc;

  constructor(
    private readonly everyMs: number,
    private readonly children: readonly ChildProbe[] = [],
  ) {}

  async start(): Promise<void> {
    this.#started = Date.now();
    await this.sample();
    this.#timer = setInterval(() => void this.sample(), this.everyMs);
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.sample();
  }

  /** Takes one sample (this process, then each child) and returns it (also kept in `samples`). */
  async sample(): Promise<MemorySample> {
    const t = Math.round((Date.now() - this.#started) / 100) / 10;
    this.#gc?.();
    const usage = process.memoryUsage();
    const children: Record<string, ProcessSample> = {};
    for (const child of this.children) {
      const memory = await child.memory().catch(() => undefined);
      if (memory !== undefined) {
        children[child.name] = {
          rssMb: mb(memory.rss),
          heapUsedMb: mb(memory.heapUsed),
          externalMb: mb(memory.external),
        };
      }
    }
    const sample: MemorySample = {
      t,
      rssMb: mb(usage.rss),
      heapUsedMb: mb(usage.heapUsed),
      externalMb: mb(usage.external),
      ...(this.children.length === 0 ? {} : { children }),
    };
    this.samples.push(sample);
    return sample;
  }

  summary(): MemorySummary {
    const series = (pick: (s: MemorySample) => number | undefined): SeriesSummary => {
      const points = this.samples.flatMap((s) => {
        const value = pick(s);
        return value === undefined ? [] : [{ t: s.t, value }];
      });
      const values = points.map((p) => p.value);
      return {
        first: values[0] ?? 0,
        last: values.at(-1) ?? 0,
        max: Math.max(...values),
        min: Math.min(...values),
        slopeMbPerMin:
          Math.round(
            slope(
              points.map((p) => p.t / 60),
              values,
            ) * 100,
          ) / 100,
      };
    };
    return {
      samples: this.samples.length,
      gcBeforeSample: this.#gc !== undefined,
      rssMb: series((s) => s.rssMb),
      heapUsedMb: series((s) => s.heapUsedMb),
      externalMb: series((s) => s.externalMb),
      ...(this.children.length === 0
        ? {}
        : {
            children: Object.fromEntries(
              this.children.map(({ name, pid }) => [
                name,
                {
                  pid,
                  rssMb: series((s) => s.children?.[name]?.rssMb),
                  heapUsedMb: series((s) => s.children?.[name]?.heapUsedMb),
                  externalMb: series((s) => s.children?.[name]?.externalMb),
                },
              ]),
            ),
          }),
    };
  }
}

function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] ?? 0) - mx) * ((ys[i] ?? 0) - my);
    den += ((xs[i] ?? 0) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
