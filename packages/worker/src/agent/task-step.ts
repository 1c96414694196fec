/**
 * The task state machine, as swarmkit's agent/exec Do: given a task (desired state), its last
 * observed status and its controller, perform at most one transition and return the new status,
 * or undefined when nothing can happen until the task changes. Calling it again after a crash at
 * any line is safe because controller methods are idempotent.
 */
import { TaskState, type Task, type TaskStatus } from "@tsctl/api";
import type { Controller } from "../executor/types.js";
import { exitToStatus, isTerminal, stopGraceMs, taskStatus } from "./task-state.js";

/** StepContext is everything one transition may look at or touch. */
export interface StepContext {
  task: Task;
  status: TaskStatus;
  controller: Controller;
  /** Aborted when the task's desired state or presence changes; ends waits early. */
  signal: AbortSignal;
  /** Whether this process already ran prepare for the task (start needs a prepared container). */
  prepared: boolean;
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * adopt looks at the container before any work, so a tsd restart re-attaches to running
 * containers instead of starting them again. Returns the status to report, or undefined to go on
 * with the ordinary steps.
 */
export async function adopt(ctx: StepContext): Promise<TaskStatus | undefined> {
  const { task, status, controller } = ctx;
  const info = await controller.inspect();
  if (!info) return undefined;
  if (isTerminal(status.state)) {
    // The manager already considers the task over; a container still running is a leftover.
    if (info.state === "running") await controller.shutdown(stopGraceMs(task));
    return undefined;
  }
  if (info.state === "running") {
    return taskStatus(TaskState.RUNNING, "started", ctx.now(), { containerId: info.id, pid: info.pid });
  }
  if (info.state === "exited" && info.exit) return exitToStatus(info.id, info.exit, ctx.now());
  return undefined;
}

/** step performs one transition of the task state machine. */
export async function step(ctx: StepContext): Promise<TaskStatus | undefined> {
  const { task, status, controller, signal } = ctx;
  const observed = status.state;
  const desired = task.desiredState;
  if (isTerminal(observed)) return undefined;

  if (desired > TaskState.RUNNING) {
    await controller.shutdown(stopGraceMs(task));
    const info = await controller.inspect();
    const container = info ? { containerId: info.id, exitCode: info.exit?.exitCode ?? 0 } : {};
    return taskStatus(TaskState.SHUTDOWN, "shutdown", ctx.now(), container);
  }

  switch (observed) {
    case TaskState.NEW:
    case TaskState.PENDING:
    case TaskState.ASSIGNED:
      return taskStatus(TaskState.ACCEPTED, "accepted", ctx.now());
    case TaskState.ACCEPTED:
      return taskStatus(TaskState.PREPARING, "preparing", ctx.now());
    case TaskState.PREPARING:
      try {
        await controller.prepare(signal);
      } catch (err) {
        if (signal.aborted) throw err;
        return taskStatus(TaskState.REJECTED, "preparing", ctx.now(), { err: errorMessage(err) });
      }
      return taskStatus(TaskState.READY, "prepared", ctx.now());
    case TaskState.READY: {
      // A desired state below RUNNING holds a prepared task back (e.g. during an update).
      if (desired < TaskState.RUNNING) return undefined;
      const wait = Number(task.notBeforeMs) - ctx.now();
      if (wait > 0) await ctx.sleep(wait, signal);
      return taskStatus(TaskState.STARTING, "starting", ctx.now());
    }
    case TaskState.STARTING: {
      let pid: number;
      try {
        // After a tsd restart the container may never have been prepared by this process.
        if (!ctx.prepared) await controller.prepare(signal);
        pid = (await controller.start(signal)).pid;
      } catch (err) {
        if (signal.aborted) throw err;
        return taskStatus(TaskState.FAILED, "starting", ctx.now(), { err: errorMessage(err) });
      }
      return taskStatus(TaskState.RUNNING, "started", ctx.now(), { containerId: task.id, pid });
    }
    case TaskState.RUNNING: {
      let exit;
      try {
        exit = await controller.wait(signal);
      } catch (err) {
        if (signal.aborted) throw err;
        return taskStatus(TaskState.FAILED, "started", ctx.now(), { containerId: task.id, err: errorMessage(err) });
      }
      return exitToStatus(task.id, exit, ctx.now());
    }
    default:
      return undefined;
  }
}
