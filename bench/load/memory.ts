/**
 * Samples the process's memory at a fixed period, so a soak can tell "flat" from "growing": RSS, V8 heap
 * used and external memory. With `--expose-gc` each heap sample follows a full collection, so heapUsed is
 * what is live, not what is waiting to be collected.
 */

export interface MemorySample {
  /** Seconds since the sampler started. */
  readonly t: number;
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly externalMb: number;
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
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export class MemorySampler {
  readonly samples: MemorySample[] = [];
  #timer: NodeJS.Timeout | undefined;
  #started = 0;
  readonly #gc = (globalThis as { gc?: () => void }).gc;

  constructor(private readonly everyMs: number) {}

  start(): void {
    this.#started = Date.now();
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.everyMs);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.sample();
  }

  sample(): void {
    this.#gc?.();
    const usage = process.memoryUsage();
    this.samples.push({
      t: Math.round((Date.now() - this.#started) / 100) / 10,
      rssMb: mb(usage.rss),
      heapUsedMb: mb(usage.heapUsed),
      externalMb: mb(usage.external),
    });
  }

  summary(): MemorySummary {
    const series = (pick: (s: MemorySample) => number): SeriesSummary => {
      const values = this.samples.map(pick);
      return {
        first: values[0] ?? 0,
        last: values.at(-1) ?? 0,
        max: Math.max(...values),
        min: Math.min(...values),
        slopeMbPerMin:
          Math.round(
            slope(
              this.samples.map((s) => s.t / 60),
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
