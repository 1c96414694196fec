/** Mutex serialises async sections in one process; the image store runs every mutation through one. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  /** run calls fn once every earlier section has settled, and returns its result. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    // The chain must survive a rejected section, or one failure would block every later caller.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
