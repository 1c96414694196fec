/**
 * Task status vocabulary of the node: state ordering and the status messages Docker users know
 * ("accepted", "preparing", "started", "finished", ...).
 */
import { create } from "@bufbuild/protobuf";
import { TaskState, TaskStatusSchema, type Task, type TaskStatus } from "@tsctl/api";
import type { ExitStatus } from "../executor/types.js";

/** DEFAULT_STOP_GRACE_MS is Docker's default stop timeout. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

/** isTerminal says whether a state ends the task's life (complete, shutdown, failed, ...). */
export function isTerminal(state: TaskState): boolean {
  return state >= TaskState.COMPLETE;
}

/** stopGraceMs is the task's stop grace period. */
export function stopGraceMs(task: Task): number {
  const g = task.spec?.container?.stopGracePeriodMs;
  return g === undefined ? DEFAULT_STOP_GRACE_MS : Number(g);
}

/** StatusExtra is what a status may carry besides state and message. */
export interface StatusExtra {
  err?: string;
  containerId?: string;
  pid?: number;
  exitCode?: number;
}

/** taskStatus builds a status stamped with nowMs. */
export function taskStatus(state: TaskState, message: string, nowMs: number, extra: StatusExtra = {}): TaskStatus {
  const hasContainer = extra.containerId !== undefined;
  return create(TaskStatusSchema, {
    state,
    message,
    timestampMs: nowMs,
    err: extra.err ?? "",
    ...(hasContainer ? { container: { containerId: extra.containerId, pid: extra.pid ?? 0, exitCode: extra.exitCode ?? 0 } } : {}),
  });
}

/** exitToStatus reports a container's exit: COMPLETE on 0, FAILED otherwise, as Docker does. */
export function exitToStatus(containerId: string, exit: ExitStatus, nowMs: number): TaskStatus {
  const container = { containerId, exitCode: exit.exitCode };
  if (exit.exitCode === 0) return taskStatus(TaskState.COMPLETE, "finished", nowMs, container);
  return taskStatus(TaskState.FAILED, "failed", nowMs, { ...container, err: `non-zero exit (${exit.exitCode})` });
}

/** initialStatus is a task's status as the agent first sees it (the manager's, or NEW). */
export function initialStatus(task: Task, nowMs: number): TaskStatus {
  return task.status ?? taskStatus(TaskState.NEW, "", nowMs);
}
