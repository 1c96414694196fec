import { clone, create } from "@bufbuild/protobuf";
import {
  MetaSchema,
  TaskSchema,
  TaskSpecSchema,
  TaskState,
  TaskStatusSchema,
  newId,
  type Service,
  type Task,
} from "@tsctl/api";

/**
 * Plan is what an orchestrator pass wants written. create holds new tasks; update holds tasks whose
 * desiredState was raised (writers copy only desiredState onto the stored task, so observed status
 * reported meanwhile is never overwritten). Writers apply creates before updates: a partial write
 * then leaves a duplicate in a slot, which the next pass resolves, never a missing replacement.
 */
export interface Plan {
  create: Task[];
  update: Task[];
  /** The earliest notBeforeMs among created tasks still held back, for loops that want to wake. */
  wakeAtMs?: number;
}

/** PlanOptions are the planners' injectable edges. */
export interface PlanOptions {
  newId?: () => string;
  /**
   * updateParallelism bounds how many slots are replaced at once for a spec change (stop-first,
   * default 1). Rolling-update policy (delay, order, failure action) hooks in here later.
   */
  updateParallelism?: number;
}

/** emptyPlan returns a plan with nothing to do. */
export function emptyPlan(): Plan {
  return { create: [], update: [] };
}

/** TaskFactory makes a service's new tasks for one pass. */
export type TaskFactory = (slot: number, nodeId: string, notBeforeMs: number) => Task;

/**
 * taskFactory snapshots the service's task spec into new tasks. They start PENDING (there is no
 * network allocator yet to move them from NEW), desired RUNNING, unassigned unless nodeId is given.
 * The tasks of one factory share a single spec snapshot (cloning it per task cost a third of the
 * time of planning 100k tasks); plans are read-only and the store clones what it writes.
 */
export function taskFactory(service: Service, nowMs: number, opts: PlanOptions = {}): TaskFactory {
  const spec = clone(TaskSpecSchema, service.spec?.task ?? create(TaskSpecSchema));
  const ids = opts.newId ?? newId;
  return (slot, nodeId, notBeforeMs) =>
    create(TaskSchema, {
      id: ids(),
      meta: create(MetaSchema, { createdAtMs: nowMs, updatedAtMs: nowMs }),
      serviceId: service.id,
      serviceName: service.spec?.annotations?.name ?? "",
      slot,
      nodeId,
      spec,
      specVersion: service.specVersion,
      desiredState: TaskState.RUNNING,
      status: create(TaskStatusSchema, { state: TaskState.PENDING, timestampMs: nowMs, message: "pending task scheduling" }),
      notBeforeMs,
    });
}

/** withDesired returns a copy of t with desiredState raised to desired (never lowered). */
export function withDesired(t: Task, desired: TaskState): Task {
  const copy = clone(TaskSchema, t);
  copy.desiredState = Math.max(t.desiredState, desired);
  return copy;
}

/** finishPlan fills wakeAtMs from the created tasks held back past nowMs. */
export function finishPlan(plan: Plan, nowMs: number): Plan {
  let wake: number | undefined;
  for (const t of plan.create) if (t.notBeforeMs > nowMs && (wake === undefined || t.notBeforeMs < wake)) wake = t.notBeforeMs;
  if (wake !== undefined) plan.wakeAtMs = wake;
  return plan;
}
