/**
 * A function's reserved concurrency, locally: at most `limit` runs at once, the others wait their turn in
 * arrival order. In AWS an async invocation beyond the reserved concurrency is throttled and Lambda keeps
 * the event, retrying it for up to 6 hours
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html): it runs later, never
 * beside the others. Waiting here is that retry without its backoff, so a local run starts no later than
 * AWS's would.
 */
export interface ConcurrencyGate {
  run<T>(work: () => Promise<T>): Promise<T>;
}

export function concurrencyGate(limit: number): ConcurrencyGate {
  let running = 0;
  const waiting: Array<() => void> = [];
  return {
    async run<T>(work: () => Promise<T>): Promise<T> {
      if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
      else running++;
      try {
        return await work();
      } finally {
        const next = waiting.shift();
        // The slot passes straight to the next waiter, so a newcomer cannot take it in between.
        if (next === undefined) running--;
        else next();
      }
    },
  };
}
