/**
 * Convergence progress of a service, computed from its tasks and drawn like Docker's
 * ("overall progress: 2 out of 3 tasks", one bar per slot or node). Pure: the polling loop lives
 * in converge.ts and only feeds snapshots in and writes the returned lines out.
 */
import { TaskState, shortId, type Task } from "@tsctl/api";
import { stateName } from "./tasks.js";

/** ProgressTarget says what converged means for one service. */
export interface ProgressTarget {
  /** Desired replicas; undefined for global services (one task per eligible node). */
  replicas: number | undefined;
  /** After a spec change, tasks older than this spec version are not counted as converged. */
  minSpecVersion?: number | undefined;
  /** Tasks created before this time don't count either (fallback when spec versions are unset). */
  minCreatedMs?: number | undefined;
}

/** Progress is one frame of the display. */
export interface Progress {
  lines: string[];
  running: number;
  total: number;
  converged: boolean;
}

// Steps of the bar: how far along the way to "running" each state is.
const steps: Partial<Record<TaskState, number>> = {
  [TaskState.NEW]: 1,
  [TaskState.PENDING]: 3,
  [TaskState.ASSIGNED]: 4,
  [TaskState.ACCEPTED]: 5,
  [TaskState.PREPARING]: 6,
  [TaskState.READY]: 7,
  [TaskState.STARTING]: 8,
  [TaskState.RUNNING]: 9,
};
const maxStep = 9;
const barWidth = 50;
const stateWidth = "preparing".length;

/** progressBar draws "[=====>     ]" for a state on the way to running. */
export function progressBar(state: TaskState): string {
  const step = steps[state] ?? 0;
  const filled = Math.floor((barWidth * step) / maxStep);
  return `[${"=".repeat(filled)}>${" ".repeat(barWidth - filled)}]`;
}

/** slotLine renders one slot: "1/3: running   [====>]" or the state and error of a failed task. */
export function slotLine(key: string, task: Task | undefined): string {
  const state = task?.status?.state ?? TaskState.NEW;
  const name = stateName(state).padEnd(stateWidth);
  if (state > TaskState.RUNNING) {
    const err = task?.status?.err || task?.status?.message || "";
    return `${key}: ${name} ${err}`.trimEnd();
  }
  return `${key}: ${name} ${progressBar(state)}`;
}

/** computeProgress derives the display and whether the service has converged. */
export function computeProgress(target: ProgressTarget, tasks: readonly Task[]): Progress {
  // Tasks being shut down (scale-down, replaced by an update) no longer count for any slot.
  const live = tasks.filter((t) => t.desiredState <= TaskState.RUNNING);
  const current = (t: Task) =>
    (target.minSpecVersion === undefined || t.specVersion >= target.minSpecVersion) ||
    (target.minCreatedMs !== undefined && Number(t.meta?.createdAtMs ?? 0) >= target.minCreatedMs);
  const isDone = (t: Task | undefined) => t !== undefined && t.status?.state === TaskState.RUNNING && current(t);

  const slots: { key: string; task: Task | undefined }[] = [];
  if (target.replicas !== undefined) {
    const n = target.replicas;
    for (let slot = 1; slot <= n; slot++) {
      slots.push({ key: `${slot}/${n}`, task: newest(live.filter((t) => t.slot === slot)) });
    }
  } else {
    const byNode = new Map<string, Task[]>();
    for (const t of live) byNode.set(t.nodeId, [...(byNode.get(t.nodeId) ?? []), t]);
    for (const [nodeId, list] of [...byNode].sort(([a], [b]) => (a < b ? -1 : 1))) {
      slots.push({ key: shortId(nodeId), task: newest(list) });
    }
  }
  const running = slots.filter((s) => isDone(s.task)).length;
  const total = slots.length;
  const converged = target.replicas !== undefined ? running === total : total > 0 && running === total;
  return {
    lines: [`overall progress: ${running} out of ${total} tasks`, ...slots.map((s) => slotLine(s.key, s.task))],
    running,
    total,
    converged,
  };
}

function newest(tasks: readonly Task[]): Task | undefined {
  let best: Task | undefined;
  for (const t of tasks) {
    if (!best || (t.meta?.createdAtMs ?? 0) > (best.meta?.createdAtMs ?? 0)) best = t;
  }
  return best;
}
