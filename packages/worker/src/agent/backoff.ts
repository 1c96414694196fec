/**
 * Reconnect delays: exponential with jitter, so a manager restart is not met by every node
 * reconnecting in the same instant.
 */
import { realClock, type Clock } from "./types.js";

/** BackoffOptions shapes the delay sequence: initialMs · factor^n, capped at maxMs, minus up to jitter of it. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Fraction (0..1) of each delay that is randomly removed. */
  jitter: number;
  random: () => number;
  /** Waits ms or until signal aborts (then rejects); tests inject an instant one. */
  delay: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** sleep waits ms on the clock, rejecting with the signal's reason when it aborts. */
export function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal.reason);
    };
    const handle = clock.setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Backoff hands out growing delays until reset() after a successful connection. */
export class Backoff {
  readonly opts: BackoffOptions;
  private attempt = 0;

  constructor(opts: Partial<BackoffOptions> = {}, clock: Clock = realClock) {
    this.opts = {
      initialMs: 200,
      maxMs: 10_000,
      factor: 2,
      jitter: 0.5,
      random: Math.random,
      delay: (ms, signal) => sleep(clock, ms, signal),
      ...opts,
    };
  }

  /** next returns the delay before the next attempt and advances the sequence. */
  next(): number {
    const { initialMs, maxMs, factor, jitter, random } = this.opts;
    const base = Math.min(maxMs, initialMs * factor ** this.attempt);
    if (base < maxMs) this.attempt++;
    return Math.round(base * (1 - jitter * random()));
  }

  reset(): void {
    this.attempt = 0;
  }

  /** wait sleeps for next(); rejects when signal aborts. */
  wait(signal: AbortSignal): Promise<void> {
    return this.opts.delay(this.next(), signal);
  }
}
