/**
 * Clock is the controllers' only source of time and timers, injected so tests can drive restart
 * delays and periodic reconciles without waiting or patching globals.
 */
export interface Clock {
  now(): number;
  /** setTimer runs fn once after ms; the returned function cancels it (idempotent). */
  setTimer(fn: () => void, ms: number): () => void;
}

/** systemClock is wall time and Node's timers; its timers do not keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return () => clearTimeout(t);
  },
};

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * FakeClock is a manual clock for tests: time moves only through advance(), which fires due timers
 * in time order (timers scheduled by a firing timer fire too if due).
 */
export class FakeClock implements Clock {
  private timers: FakeTimer[] = [];
  private seq = 0;

  constructor(private current = 1_000_000) {}

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const timer: FakeTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** pending counts timers not yet fired, so tests can assert that stop() cancelled everything. */
  get pending(): number {
    return this.timers.length;
  }

  /** advance moves time forward by ms, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = end;
  }
}
