import { clone, create } from "@bufbuild/protobuf";
import { TaskSchema, TaskState, TaskStatusSchema } from "@tsctl/api";
import { StoreController, type ControllerOptions } from "../controller-loop.js";
import type { Store, StoreEvent, WriteTx } from "../store/types.js";
import { needsNode, schedule, type ScheduleResult } from "./schedule.js";

/** ASSIGNED_MESSAGE is the status message of a task the scheduler placed, as Docker words it. */
export const ASSIGNED_MESSAGE = "scheduler assigned task to node";
const PENDING_MESSAGE = "pending task scheduling";

/**
 * Scheduler runs schedule() over store snapshots whenever tasks or nodes change, and writes the
 * round in one batch: placed tasks move PENDING → ASSIGNED on their node; tasks left pending get
 * the explanation in status.err, written only when it changed so an unschedulable service does not
 * turn every pass into a write storm. Each write is re-checked against the store's copy, so a task
 * that moved on meanwhile is never moved back.
 */
export class Scheduler extends StoreController {
  constructor(store: Store, opts: ControllerOptions = {}) {
    super(store, "scheduler", opts);
  }

  protected onEvents(events: StoreEvent[]): void {
    // New pending tasks, nodes changing, and tasks ending (resources freed) can all change a round.
    if (events.some((e) => e.kind === "task" || e.kind === "node")) this.loop.kick();
  }

  protected async pass(): Promise<number | undefined> {
    const nowMs = this.clock.now();
    const round = this.store.view((tx): ScheduleResult | undefined => {
      const tasks = tx.list("task");
      const pending = tasks.filter(needsNode);
      if (pending.length === 0) return undefined;
      // The store revision seeds tie-breaks: reproducible for a given state, varied across rounds.
      return schedule(pending, tx.list("node"), tasks, nowMs, this.store.revision);
    });
    if (!round) return undefined;
    if (round.assignments.length > 0 || round.unassigned.length > 0) {
      await this.store.batch((tx) => {
        for (const a of round.assignments) assign(tx, a.taskId, a.nodeId, nowMs);
        for (const u of round.unassigned) explain(tx, u.taskId, u.reason);
      });
    }
    return round.wakeAtMs;
  }
}

function assign(tx: WriteTx, taskId: string, nodeId: string, nowMs: number): void {
  const current = tx.get("task", taskId);
  if (!current || !needsNode(current) || (current.nodeId !== "" && current.nodeId !== nodeId)) return;
  const next = clone(TaskSchema, current);
  next.nodeId = nodeId;
  next.status = create(TaskStatusSchema, { state: TaskState.ASSIGNED, timestampMs: nowMs, message: ASSIGNED_MESSAGE });
  tx.update("task", next);
}

function explain(tx: WriteTx, taskId: string, reason: string): void {
  const current = tx.get("task", taskId);
  if (!current || !needsNode(current)) return;
  if (current.status?.err === reason && current.status.message === PENDING_MESSAGE) return;
  const next = clone(TaskSchema, current);
  next.status ??= create(TaskStatusSchema, { state: TaskState.PENDING });
  next.status.err = reason;
  next.status.message = PENDING_MESSAGE;
  tx.update("task", next);
}
