import { describe, expect, it } from "vitest";
import { concurrencyGate } from "../../../infra/local/runner/concurrency.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("concurrencyGate (a function's reserved concurrency, locally)", () => {
  it("runs at most `limit` at once, the others after, in arrival order", async () => {
    const gate = concurrencyGate(1);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      [1, 2, 3, 4].map((n) =>
        gate.run(async () => {
          running++;
          most = Math.max(most, running);
          await tick();
          order.push(n);
          running--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(order).toEqual([1, 2, 3, 4]);
  });

  it("lets `limit` run together, and a failed run frees its slot", async () => {
    const gate = concurrencyGate(2);
    let running = 0;
    let most = 0;
    const work = (fail: boolean) =>
      gate.run(async () => {
        running++;
        most = Math.max(most, running);
        await tick();
        running--;
        if (fail) throw new Error("boom");
        return "ok";
      });
    const results = await Promise.allSettled([work(true), work(false), work(true), work(false), work(false)]);
    expect(most).toBe(2);
    expect(results.map((r) => r.status)).toEqual([
      "rejected",
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    expect(await work(false)).toBe("ok");
  });
});
