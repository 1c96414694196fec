/**
 * StatusReporter batches task status updates to the manager. Per task only the newest status is
 * kept; the first update after a quiet period leaves on the next tick, later ones are coalesced
 * for a short window. Updates survive a broken session: unsent ones wait for the next, and the
 * newest status of every known task is sent again on attach, since one sent just before the
 * stream broke may have been lost (the manager ignores stale or backward updates).
 */
import type { TaskStatus } from "@tsctl/api";
import type { Clock } from "./types.js";

/** StatusUpdate is one entry of a statusUpdates message. */
export interface StatusUpdate {
  taskId: string;
  status: TaskStatus;
}

/** StatusSink sends one batch on the current session; it throws when the stream is gone. */
export type StatusSink = (updates: StatusUpdate[]) => void;

export class StatusReporter {
  private readonly pending = new Map<string, TaskStatus>();
  private readonly latest = new Map<string, TaskStatus>();
  private sink: StatusSink | undefined;
  private timer: unknown;
  private lastSentAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly windowMs = 50,
  ) {}

  /** report queues status as the newest for taskId. */
  report(taskId: string, status: TaskStatus): void {
    this.latest.set(taskId, status);
    this.pending.set(taskId, status);
    this.schedule();
  }

  /** forget drops a removed task from the resend set (an unsent last update still goes out). */
  forget(taskId: string): void {
    this.latest.delete(taskId);
  }

  /** attach starts sending on a new session, beginning with every task's newest status. */
  attach(sink: StatusSink): void {
    this.sink = sink;
    for (const [taskId, status] of this.latest) if (!this.pending.has(taskId)) this.pending.set(taskId, status);
    this.flush();
  }

  /** detach stops sending; updates queue until the next attach. */
  detach(): void {
    this.sink = undefined;
    this.cancelTimer();
  }

  /** pendingCount is the number of tasks with an unsent update. */
  get pendingCount(): number {
    return this.pending.size;
  }

  private schedule(): void {
    if (!this.sink || this.timer !== undefined) return;
    // When idle, wait only for the current tick, so statuses reported together go together.
    const wait = Math.max(0, this.lastSentAt + this.windowMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    this.cancelTimer();
    const sink = this.sink;
    if (!sink || this.pending.size === 0) return;
    const batch = [...this.pending].map(([taskId, status]) => ({ taskId, status }));
    this.pending.clear();
    this.lastSentAt = this.clock.now();
    try {
      sink(batch);
    } catch {
      // The stream is gone; keep the batch unless a newer status arrived meanwhile.
      for (const u of batch) if (!this.pending.has(u.taskId)) this.pending.set(u.taskId, u.status);
      this.sink = undefined;
    }
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
