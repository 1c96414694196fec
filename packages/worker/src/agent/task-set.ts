/**
 * TaskSet is the agent's view of its assigned tasks: one TaskWorker per task, replaced wholesale
 * by a full assignment set and patched by incremental ones. After a full set it removes
 * containers that belong to no assigned task (left over from tasks the manager forgot while this
 * node was away).
 */
import { create } from "@bufbuild/protobuf";
import { TaskSchema, type Assignments, type Task, type TaskStatus } from "@tsctl/api";
import type { Executor } from "../executor/types.js";
import type { StatusReporter } from "./status-reporter.js";
import { DEFAULT_STOP_GRACE_MS } from "./task-state.js";
import { TaskWorker } from "./task-worker.js";
import type { Clock, Logger } from "./types.js";

/** TaskView is one task as the agent sees it. */
export interface TaskView {
  task: Task;
  status: TaskStatus;
}

export interface TaskSetDeps {
  executor: Executor;
  reporter: StatusReporter;
  clock: Clock;
  logger: Logger;
  retryMs: number;
}

export class TaskSet {
  private readonly workers = new Map<string, TaskWorker>();
  /** Workers being removed, by task id; a task re-assigned meanwhile waits for its removal. */
  private readonly removing = new Map<string, Promise<void>>();
  private sweeping: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly deps: TaskSetDeps) {}

  /** apply merges an assignments message into the view. */
  apply(a: Assignments): void {
    if (this.closed) return;
    if (a.full) {
      const keep = new Set(a.tasks.map((t) => t.id));
      for (const id of [...this.workers.keys()]) if (!keep.has(id)) this.remove(id);
    }
    for (const id of a.removedTaskIds) this.remove(id);
    for (const task of a.tasks) this.upsert(task);
    if (a.full) this.sweeping = this.sweeping.then(() => this.sweepOrphans());
  }

  get(taskId: string): Task | undefined {
    return this.workers.get(taskId)?.task;
  }

  list(): TaskView[] {
    return [...this.workers.values()].map((w) => ({ task: w.task, status: w.status }));
  }

  /** settled resolves once pending removals and orphan sweeps are done (for tests and stop). */
  async settled(): Promise<void> {
    await Promise.all([...this.removing.values(), this.sweeping]);
  }

  /** close ends every worker without touching containers, and waits for work in flight. */
  async close(): Promise<void> {
    this.closed = true;
    const workers = [...this.workers.values()];
    this.workers.clear();
    await Promise.all(workers.map((w) => w.close()));
    await this.settled();
  }

  private upsert(task: Task): void {
    const existing = this.workers.get(task.id);
    if (existing) return existing.update(task);
    const start = (): void => {
      if (this.closed || this.workers.has(task.id)) return;
      const worker = new TaskWorker(task, this.deps.executor.controller(task), {
        report: (id, status) => this.deps.reporter.report(id, status),
        clock: this.deps.clock,
        logger: this.deps.logger,
        retryMs: this.deps.retryMs,
      });
      this.workers.set(task.id, worker);
    };
    const pending = this.removing.get(task.id);
    if (pending) void pending.then(start);
    else start();
  }

  private remove(taskId: string): void {
    const worker = this.workers.get(taskId);
    if (!worker) return;
    this.workers.delete(taskId);
    const done = worker.remove().finally(() => {
      this.deps.reporter.forget(taskId);
      if (this.removing.get(taskId) === done) this.removing.delete(taskId);
    });
    this.removing.set(taskId, done);
  }

  private async sweepOrphans(): Promise<void> {
    const { executor, logger } = this.deps;
    let infos;
    try {
      infos = await executor.list();
    } catch (err) {
      logger.warn("listing containers failed", { err: String(err) });
      return;
    }
    const orphans = infos.filter((i) => !this.workers.has(i.taskId) && !this.removing.has(i.taskId));
    // In parallel: each may take a whole stop grace period.
    await Promise.all(
      orphans.map(async (info) => {
        const id = info.taskId;
        if (this.closed) return;
        logger.info("removing container of unassigned task", { taskId: id, containerId: info.id });
        const controller = executor.controller(create(TaskSchema, { id }));
        try {
          await controller.shutdown(DEFAULT_STOP_GRACE_MS);
          // A task may have been assigned while it stopped; its worker reports the exit instead.
          if (!this.workers.has(id)) await controller.remove();
        } catch (err) {
          logger.warn("removing orphan container failed", { taskId: id, err: String(err) });
        }
      }),
    );
  }
}
