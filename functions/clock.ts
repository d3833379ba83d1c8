/**
 * The functions' "now": the system clock in Lambda; the local runner gives them the KMS emulator's clock
 * through functions/singletons.ts useClock, which sets it here, so a function that does not load singletons.ts
 * (the probe, which holds no vault) follows the same clock.
 */
let clock: (() => Date) | undefined;

export function setFunctionsClock(next: () => Date): void {
  clock = next;
}

/** The clock set by the runner, if any. */
export function functionsClock(): (() => Date) | undefined {
  return clock;
}
