import { TaskState, type Node, type Service, type Task } from "@tsctl/api";

/** DEFAULT_RETENTION_LIMIT is Docker's task history limit: ended tasks kept per slot. */
export const DEFAULT_RETENTION_LIMIT = 5;

const observed = (t: Task): TaskState => t.status?.state ?? TaskState.NEW;
const ended = (t: Task): boolean => observed(t) >= TaskState.COMPLETE;
const endTime = (t: Task): number => t.status?.timestampMs || t.meta?.createdAtMs || 0;

/**
 * removable says whether a task marked desired REMOVE can go: it is over, it never reached a node
 * (nothing runs it), or its node is gone (nobody will ever report it over).
 */
function removable(t: Task, nodes: ReadonlyMap<string, Node>): boolean {
  return ended(t) || observed(t) < TaskState.ASSIGNED || (t.nodeId !== "" && !nodes.has(t.nodeId));
}

/**
 * planReap returns the tasks to delete. Tasks desired REMOVE go once removable. Otherwise each slot
 * (each node for global services) keeps its newest retentionLimit ended tasks (desired past RUNNING
 * and observed over) as `service ps` history and for the restart policy's attempt count; older ones
 * go. A negative limit keeps all history. A task holding its slot (desired COMPLETE at the current
 * spec: the restart policy declined to replace it) is never deleted, or the slot would refill.
 * Tasks of deleted services wait for the orchestrator to mark them REMOVE.
 */
export function planReap(
  tasks: Iterable<Task>,
  services: ReadonlyMap<string, Service>,
  nodes: ReadonlyMap<string, Node>,
  retentionLimit: number,
): Task[] {
  const doomed: Task[] = [];
  const history = new Map<string, Task[]>();
  for (const t of tasks) {
    if (t.desiredState === TaskState.REMOVE) {
      if (removable(t, nodes)) doomed.push(t);
      continue;
    }
    const service = services.get(t.serviceId);
    // A stopped task whose node was removed will never report again: it counts as ended.
    const over = ended(t) || (t.nodeId !== "" && !nodes.has(t.nodeId));
    if (!service || t.desiredState <= TaskState.RUNNING || !over) continue;
    if (t.desiredState === TaskState.COMPLETE && t.specVersion === service.specVersion) continue;
    const key = `${t.serviceId}/${t.slot}/${t.slot === 0 ? t.nodeId : ""}`;
    const list = history.get(key);
    if (list) list.push(t);
    else history.set(key, [t]);
  }
  if (retentionLimit >= 0) {
    for (const list of history.values()) {
      if (list.length <= retentionLimit) continue;
      list.sort((a, b) => endTime(b) - endTime(a) || (a.id < b.id ? 1 : -1));
      doomed.push(...list.slice(retentionLimit));
    }
  }
  return doomed;
}
