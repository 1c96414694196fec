import { systemClock, type Clock } from "./clock.js";
import type { Store, StoreEvent } from "./store/types.js";

/** ControllerLoopOptions configure one reconcile loop. */
export interface ControllerLoopOptions {
  /** Name used in log lines. */
  name: string;
  clock?: Clock;
  /** Period of the full reconcile that catches anything events missed (default 10 s). */
  resyncMs?: number;
  /** Delay before retrying after a failed pass (default 1 s). */
  retryMs?: number;
  log?: (message: string) => void;
  /**
   * pass runs one reconcile. full is true for the first pass, periodic resyncs, wake-ups and
   * retries; otherwise the controller may limit itself to what its events marked dirty. It returns
   * the earliest time the outcome could change with time alone, if any.
   */
  pass: (full: boolean) => Promise<number | undefined>;
}

/**
 * ControllerLoop runs a controller's passes one at a time: kicks that arrive while a pass is queued
 * or running merge into one follow-up pass, so an event burst costs one pass, not one per event.
 * Time (resync, wake-ups, retries) comes from the injected clock; the merge uses setImmediate so a
 * burst delivered across several store callbacks still lands in a single pass.
 */
export class ControllerLoop {
  private readonly clock: Clock;
  private readonly resyncMs: number;
  private readonly retryMs: number;
  private readonly log: (message: string) => void;
  private started = false;
  private stopped = false;
  private queued: { full: boolean } | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private running: Promise<void> | undefined;
  private cancelResync: (() => void) | undefined;
  private wake: { at: number; cancel: () => void } | undefined;
  private cancelRetry: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: ControllerLoopOptions) {
    this.clock = opts.clock ?? systemClock;
    this.resyncMs = opts.resyncMs ?? 10_000;
    this.retryMs = opts.retryMs ?? 1_000;
    this.log = opts.log ?? ((m) => console.error(m));
  }

  /** start runs a full pass and arms the periodic resync. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.armResync();
    this.kick(true);
  }

  /** kick asks for a pass soon; full widens a merged pass to a full reconcile. */
  kick(full = false): void {
    if (!this.started || this.stopped) return;
    this.queued = { full: full || (this.queued?.full ?? false) };
    if (!this.running && !this.immediate) this.immediate = setImmediate(() => this.runQueued());
  }

  /** idle resolves once no pass is queued or running (for tests and orderly hand-offs). */
  idle(): Promise<void> {
    if (!this.queued && !this.running && !this.immediate) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** stop cancels every timer and waits for a pass in flight; no pass starts afterwards. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queued = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.cancelResync?.();
    this.cancelRetry?.();
    this.wake?.cancel();
    this.wake = undefined;
    await this.running;
    this.settleIdle();
  }

  private runQueued(): void {
    this.immediate = undefined;
    const job = this.queued;
    this.queued = undefined;
    if (!job || this.stopped) return this.settleIdle();
    this.running = this.runPass(job.full).finally(() => {
      this.running = undefined;
      if (this.queued && !this.stopped) this.immediate = setImmediate(() => this.runQueued());
      else this.settleIdle();
    });
  }

  private async runPass(full: boolean): Promise<void> {
    try {
      const wakeAt = await this.opts.pass(full);
      if (wakeAt !== undefined && !this.stopped) this.armWake(wakeAt);
    } catch (err) {
      // A failed pass (store unavailable, conflicts) is retried as a full pass: state is the only
      // input, so nothing from the failed attempt needs remembering.
      this.log(`${this.opts.name}: pass failed: ${(err as Error).message}`);
      if (this.stopped) return;
      this.cancelRetry?.();
      this.cancelRetry = this.clock.setTimer(() => this.kick(true), this.retryMs);
    }
  }

  private armResync(): void {
    this.cancelResync = this.clock.setTimer(() => {
      this.kick(true);
      if (!this.stopped) this.armResync();
    }, this.resyncMs);
  }

  private armWake(at: number): void {
    if (this.wake && this.wake.at <= at && this.wake.at > this.clock.now()) return;
    this.wake?.cancel();
    const cancel = this.clock.setTimer(() => {
      this.wake = undefined;
      this.kick(true);
    }, at - this.clock.now());
    this.wake = { at, cancel };
  }

  private settleIdle(): void {
    if (this.queued || this.running || this.immediate) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** ControllerOptions are what every store-driven controller accepts besides the store. */
export interface ControllerOptions {
  clock?: Clock;
  /** Full reconcile period (default 10 s). */
  resyncMs?: number;
  log?: (message: string) => void;
}

/**
 * StoreController is a reconcile loop fed by store events. Subclasses decide which events matter
 * (onEvents kicks the loop) and what one pass does; subscribing, starting, stopping and waiting
 * for idle are shared, so every controller has the same lifecycle.
 */
export abstract class StoreController {
  protected readonly loop: ControllerLoop;
  protected readonly clock: Clock;
  private unsubscribe: (() => void) | undefined;

  constructor(
    protected readonly store: Store,
    name: string,
    opts: ControllerOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.loop = new ControllerLoop({ name, ...opts, clock: this.clock, pass: (full) => this.pass(full) });
  }

  start(): void {
    this.unsubscribe ??= this.store.subscribe((events) => this.onEvents(events));
    this.loop.start();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.loop.stop();
  }

  /** idle resolves when no pass is queued or running. */
  idle(): Promise<void> {
    return this.loop.idle();
  }

  /** onEvents sees every batch of store events after the store's copy applied them. */
  protected abstract onEvents(events: StoreEvent[]): void;

  /** pass reconciles once; it returns when it wants to run again (ms since epoch), if it does. */
  protected abstract pass(full: boolean): Promise<number | undefined>;
}
