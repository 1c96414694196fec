/**
 * StatusWriter batches task status reports from all agents into few store transactions. A report
 * only ever moves a task's observed state forward; a report lost to a concurrent write is retried
 * on the next flush, so an acknowledged report is never dropped silently.
 */
import { clone, create } from "@bufbuild/protobuf";
import { TaskSchema, TaskStatusSchema, type TaskStatus } from "@tsctl/api";
import type { Store } from "../store/types.js";

interface Pending {
  nodeId: string;
  status: TaskStatus;
}

export class StatusWriter {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly flushDelayMs = 20,
  ) {}

  /** report queues a status from nodeId for taskId; the newest report per task wins. */
  report(nodeId: string, taskId: string, status: TaskStatus): void {
    const prev = this.pending.get(taskId);
    if (prev && (prev.status.state > status.state || prev.nodeId !== nodeId)) return;
    this.pending.set(taskId, { nodeId, status });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = (this.flushing ?? Promise.resolve()).then(() => this.flush());
    }, this.flushDelayMs);
  }

  /** flush writes everything pending now; reports that lost a write race are re-queued. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.store.batch((tx) => {
        for (const [taskId, { nodeId, status }] of batch) {
          const task = tx.get("task", taskId);
          // A task reassigned or deleted meanwhile no longer belongs to the reporting node.
          if (!task || task.nodeId !== nodeId) continue;
          const current = task.status?.state ?? 0;
          if (status.state < current) continue;
          if (status.state === current && task.status?.message === status.message && task.status?.err === status.err) continue;
          const next = clone(TaskSchema, task);
          next.status = create(TaskStatusSchema, { ...status, container: status.container ?? task.status?.container });
          tx.update("task", next);
        }
      });
    } catch {
      // The store is unavailable: keep the reports and retry.
      for (const [id, p] of batch) if (!this.pending.has(id)) this.pending.set(id, p);
      if (!this.stopped) setTimeout(() => this.schedule(), 500).unref();
      return;
    }
    // Verify against the store copy: anything not applied (a conflict) is retried.
    const lost = this.store.view((tx) =>
      [...batch].filter(([taskId, { nodeId, status }]) => {
        const t = tx.get("task", taskId);
        return t !== undefined && t.nodeId === nodeId && (t.status?.state ?? 0) < status.state;
      }),
    );
    for (const [id, p] of lost) if (!this.pending.has(id)) this.pending.set(id, p);
    if (lost.length > 0) this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    await this.flush().catch(() => undefined);
  }
}
