import { TaskState, type Node, type Task } from "@tsctl/api";
import { Pipeline, type Filter } from "./filters.js";
import { demandOf, NodePool } from "./node-pool.js";
import { spreadLabels } from "./preferences.js";
import { SpreadShape, SpreadTree } from "./spread-tree.js";

/** Assignment places one task on one node. */
export interface Assignment {
  taskId: string;
  nodeId: string;
}

/** Unassigned is a task left pending this round, with the reason shown to the user. */
export interface Unassigned {
  taskId: string;
  reason: string;
}

/** ScheduleResult is a round's decisions; wakeAtMs is when a held-back task becomes eligible. */
export interface ScheduleResult {
  assignments: Assignment[];
  unassigned: Unassigned[];
  wakeAtMs?: number;
}

/** ScheduleOptions replace the default filter pipeline (tests, future constraint filters). */
export interface ScheduleOptions {
  filters?: Filter[];
}

/** needsNode says whether a task is waiting for the scheduler at all. */
export function needsNode(t: Task): boolean {
  return t.status?.state === TaskState.PENDING && t.desiredState <= TaskState.RUNNING;
}

/**
 * schedule places pending tasks on nodes. It is pure: the result depends only on its arguments
 * (seed included), and nothing is written. Tasks held back by notBeforeMs (restart delay) are
 * skipped silently and reported through wakeAtMs. Tasks already pinned to a node (global services)
 * are only checked against that node (placement preferences do not apply to them, as in Docker).
 * The rest are grouped by identical demand, and each group is spread over a heap of feasible nodes
 * ordered by (tasks of this service, tasks in total, seeded rank), split first by the service's
 * placement preferences (SpreadTree): O(nodes) per group plus O(log nodes) per task (and
 * O(log groups) per preference level), never tasks × nodes.
 */
export function schedule(
  pending: Iterable<Task>,
  nodes: readonly Node[],
  allTasks: Iterable<Task>,
  nowMs: number,
  seed = 0x5eed,
  opts: ScheduleOptions = {},
): ScheduleResult {
  const result: ScheduleResult = { assignments: [], unassigned: [] };
  const pool = new NodePool(nodes, allTasks, seed);
  const pipeline = new Pipeline(opts.filters);
  const groups = new Map<string, Task[]>();
  const pinned: Task[] = [];
  for (const t of pending) {
    if (!needsNode(t)) continue;
    if (t.notBeforeMs > nowMs) {
      // Not an error: the restart delay holds it; the loop wakes when the first one is due.
      if (result.wakeAtMs === undefined || t.notBeforeMs < result.wakeAtMs) result.wakeAtMs = t.notBeforeMs;
      continue;
    }
    if (t.nodeId !== "") {
      pinned.push(t);
      continue;
    }
    const key = groupKey(t);
    const g = groups.get(key);
    if (g) g.push(t);
    else groups.set(key, [t]);
  }

  // Pinned tasks go first: they have exactly one possible node and must not lose it to others.
  for (const t of pinned) {
    const i = pool.indexOf(t.nodeId);
    pipeline.setTask(t);
    pool.useService(t.serviceId);
    if (i === undefined) result.unassigned.push({ taskId: t.id, reason: "no suitable node (1 node not available for new tasks)" });
    else if (!pipeline.passes(pool, i)) result.unassigned.push({ taskId: t.id, reason: pipeline.explain(pool, [i]) });
    else {
      pool.take(i, demandOf(t));
      result.assignments.push({ taskId: t.id, nodeId: t.nodeId });
    }
  }

  const everyNode = Array.from({ length: pool.size }, (_, i) => i);
  const nodeLess = (a: number, b: number): boolean =>
    (pool.serviceCount[a]! - pool.serviceCount[b]! || pool.total[a]! - pool.total[b]! || pool.rank[a]! - pool.rank[b]!) < 0;
  const feasible = (i: number): boolean => pipeline.passes(pool, i);
  // Node labels do not change within a round, so groups spreading the same way share one shape.
  const shapes = new Map<string, SpreadShape>();
  for (const group of groups.values()) {
    const first = group[0]!;
    pipeline.setTask(first);
    pool.useService(first.serviceId);
    const demand = demandOf(first);
    const labels = spreadLabels(first.spec);
    const shapeKey = labels.join("\u0000");
    let shape = shapes.get(shapeKey);
    if (!shape) shapes.set(shapeKey, (shape = new SpreadShape(pool, labels)));
    const tree = new SpreadTree(pool, shape, feasible, nodeLess);
    let reason: string | undefined;
    for (const t of group) {
      const i = tree.choose();
      if (i === undefined) {
        // Explained once per group, over the pool as it is now (nodes may have filled up this round).
        reason ??= pipeline.explain(pool, everyNode);
        result.unassigned.push({ taskId: t.id, reason });
        continue;
      }
      pool.take(i, demand);
      result.assignments.push({ taskId: t.id, nodeId: pool.nodes[i]!.id });
      tree.placed(i, feasible(i));
    }
  }
  return result;
}

/** groupKey identifies tasks that are interchangeable for placement: same service and spec. */
function groupKey(t: Task): string {
  return `${t.serviceId}\u0000${t.specVersion}`;
}
