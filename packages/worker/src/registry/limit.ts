/** Limiter runs at most `limit` async sections at once; the rest wait in arrival order. */
export class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** run calls fn once a slot is free and releases the slot when fn settles. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter, so active only drops when nobody waits.
      const next = this.queue.shift();
      if (next !== undefined) next();
      else this.active--;
    }
  }
}
