/**
 * TaskWorker drives one task: it adopts an existing container, then calls step() until the task
 * settles, sleeping until the task changes. Each worker reports through a callback, so the
 * status never goes backwards and survives reconnects in the StatusReporter.
 */
import type { Task, TaskStatus } from "@tsctl/api";
import { TaskState } from "@tsctl/api";
import type { Controller } from "../executor/types.js";
import { sleep } from "./backoff.js";
import { adopt, step, type StepContext } from "./task-step.js";
import { initialStatus, stopGraceMs } from "./task-state.js";
import type { Clock, Logger } from "./types.js";

/** TaskWorkerDeps are what a worker needs from its agent. */
export interface TaskWorkerDeps {
  report(taskId: string, status: TaskStatus): void;
  clock: Clock;
  logger: Logger;
  retryMs: number;
}

type Transition = (ctx: StepContext) => Promise<TaskStatus | undefined>;

/** TaskWorker owns the lifecycle of one task's container on this node. */
export class TaskWorker {
  private current: Task;
  private observed: TaskStatus;
  private prepared = false;
  private removed = false;
  private closed = false;
  private op: AbortController | undefined;
  private wake: (() => void) | undefined;
  /** Set when the task changed since the current transition began, so idle() must not sleep. */
  private dirty = false;
  /** Resolves when the worker has stopped (after cleanup if it was removed). */
  readonly done: Promise<void>;

  constructor(
    task: Task,
    private readonly controller: Controller,
    private readonly deps: TaskWorkerDeps,
  ) {
    this.current = task;
    this.observed = initialStatus(task, deps.clock.now());
    this.done = this.loop();
  }

  get task(): Task {
    return this.current;
  }

  get status(): TaskStatus {
    return this.observed;
  }

  /** update gives the worker a newer version of its task (desired state, manager's status). */
  update(task: Task): void {
    this.current = task;
    // The manager's view may be ahead of ours after a tsd restart (it saw RUNNING before).
    if (task.status && task.status.state > this.observed.state) this.observed = task.status;
    if (task.desiredState > TaskState.RUNNING) this.op?.abort();
    this.dirty = true;
    this.wake?.();
  }

  /** remove stops the container if it runs, removes it, and ends the worker. */
  remove(): Promise<void> {
    this.removed = true;
    this.interrupt();
    return this.done;
  }

  /** close ends the worker and leaves the container as it is (containers outlive tsd). */
  close(): Promise<void> {
    this.closed = true;
    this.interrupt();
    return this.done;
  }

  private interrupt(): void {
    this.dirty = true;
    this.op?.abort();
    this.wake?.();
  }

  private get ending(): boolean {
    return this.removed || this.closed;
  }

  private async loop(): Promise<void> {
    // Whatever adoption finds, the ordinary steps come next.
    await this.run(adopt);
    let progressed = true;
    while (!this.ending) {
      if (!progressed) await this.idle();
      if (this.ending) break;
      progressed = await this.run(step);
    }
    if (this.removed && !this.closed) await this.cleanup();
  }

  /** run performs one transition; true means "look again at once", false "wait for a change". */
  private async run(transition: Transition): Promise<boolean> {
    if (this.ending) return false;
    const op = new AbortController();
    this.op = op;
    this.dirty = false;
    try {
      const next = await transition({
        task: this.current,
        status: this.observed,
        controller: this.controller,
        signal: op.signal,
        prepared: this.prepared,
        now: () => this.deps.clock.now(),
        sleep: (ms, signal) => sleep(this.deps.clock, ms, signal),
      });
      if (!next) return false;
      this.advance(next);
      return true;
    } catch (err) {
      if (op.signal.aborted) return true;
      // Not the task's fault (e.g. shutdown failed): try again a little later.
      this.deps.logger.warn("task step failed, retrying", { taskId: this.current.id, err: String(err) });
      await this.idle(this.deps.retryMs);
      return true;
    } finally {
      this.op = undefined;
    }
  }

  private advance(next: TaskStatus): void {
    if (next.state < this.observed.state) {
      this.deps.logger.debug("dropping backward status", { taskId: this.current.id, from: this.observed.state, to: next.state });
      return;
    }
    if (next.state === TaskState.READY) this.prepared = true;
    this.observed = next;
    this.deps.report(this.current.id, next);
  }

  /** idle waits for update/remove/close, or timeoutMs when given. */
  private idle(timeoutMs?: number): Promise<void> {
    if (this.dirty) return Promise.resolve();
    return new Promise((resolve) => {
      const clock = this.deps.clock;
      const timer = timeoutMs === undefined ? undefined : clock.setTimeout(() => done(), timeoutMs);
      const done = (): void => {
        if (timer !== undefined) clock.clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      this.wake = done;
    });
  }

  private async cleanup(): Promise<void> {
    try {
      await this.controller.shutdown(stopGraceMs(this.current));
      await this.controller.remove();
    } catch (err) {
      this.deps.logger.error("removing task container failed", { taskId: this.current.id, err: String(err) });
    }
  }
}
