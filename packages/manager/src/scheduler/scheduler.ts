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
export interface SchedulerOptions extends ControllerOptions {
  /**
   * Whether a node's agent holds a session now. Nodes without one get no new tasks even while
   * still READY in the store: after a leader change every node stays READY for its grace period,
   * including the one that died with the old leader, and a task placed there would wait for the
   * grace to run out before being replaced.
   */
  isConnected?: (nodeId: string) => boolean;
}

export class Scheduler extends StoreController {
  private readonly isConnected: ((nodeId: string) => boolean) | undefined;

  constructor(store: Store, opts: SchedulerOptions = {}) {
    super(store, "scheduler", opts);
    this.isConnected = opts.isConnected;
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
      const connected = this.isConnected;
      const nodes = connected ? tx.list("node").filter((n) => connected(n.id)) : tx.list("node");
      return schedule(pending, nodes, tasks, nowMs, this.store.revision);
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
