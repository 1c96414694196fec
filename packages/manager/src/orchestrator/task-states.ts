import { NodeAvailability, NodeState, TaskState, type Node, type Task } from "@tsctl/api";

/** isEnded says whether an observed state is final: the task will never run again. */
export function isEnded(state: TaskState): boolean {
  return state >= TaskState.COMPLETE;
}

/** isRunnable says whether a task is still wanted: desired state at most RUNNING. */
export function isRunnable(t: Task): boolean {
  return t.desiredState <= TaskState.RUNNING;
}

/** observed returns a task's observed state (NEW when it carries no status yet). */
export function observed(t: Task): TaskState {
  return t.status?.state ?? TaskState.NEW;
}

/** endedAt is when a task reached its final state, falling back to nowMs when unrecorded. */
export function endedAt(t: Task, nowMs: number): number {
  const ts = t.status?.timestampMs ?? 0;
  return ts > 0 ? ts : nowMs;
}

/** newerFirst orders tasks newest first by creation time; ids break ties so the order is total. */
export function newerFirst(a: Task, b: Task): number {
  const d = (b.meta?.createdAtMs ?? 0) - (a.meta?.createdAtMs ?? 0);
  return d !== 0 ? d : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * nodeLost says whether a task's node is gone, DOWN or drained, so the task must be replaced
 * elsewhere (`node update --availability drain` moves tasks off, as in Docker). DISCONNECTED and
 * UNKNOWN are not lost: like Docker, we wait for the node to come back or be declared down rather
 * than duplicate work on a network blip.
 */
export function nodeLost(nodeId: string, nodes: ReadonlyMap<string, Node>): boolean {
  if (nodeId === "") return false;
  const node = nodes.get(nodeId);
  return !node || node.status?.state === NodeState.DOWN || node.spec?.availability === NodeAvailability.DRAIN;
}

/** nodeMap indexes nodes by id for the planners. */
export function nodeMap(nodes: Iterable<Node>): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of nodes) m.set(n.id, n);
  return m;
}
