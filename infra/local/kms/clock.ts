/**
 * The emulator's clock: real time plus an offset that tests move through the admin interface, so
 * expiry (ValidTo, import tokens, key deletion) can be reached without sleeping.
 */
export class EmulatorClock {
  private offsetMs: number;

  constructor(offsetMs = 0) {
    this.offsetMs = offsetMs;
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  get offset(): number {
    return this.offsetMs;
  }

  setOffset(offsetMs: number): void {
    this.offsetMs = offsetMs;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }

  /** Moves the clock so that `now()` reads `epochMs`. */
  set(epochMs: number): void {
    this.offsetMs = epochMs - Date.now();
  }
}
