/**
 * serviceLogs gathers the log lines of a service's (or one task's) tasks from the nodes that ran
 * them, through each node's dispatcher session, and merges them into one stream. With follow, it
 * also picks up the service's tasks that start later (replacements, scale-ups), as Docker does,
 * and runs until the caller goes away.
 */
import { AsyncQueue, TaskState, type LogMessage, type ServiceLogsRequest, type Task } from "@tsctl/api";
import type { Dispatcher } from "../dispatcher/dispatcher.js";
import type { Store } from "../store/types.js";
import { findService, findTask } from "./lookup.js";

export async function* serviceLogs(
  store: Store,
  dispatcher: Dispatcher,
  req: ServiceLogsRequest,
  signal: AbortSignal,
): AsyncIterable<LogMessage> {
  const { tasks, serviceId } = store.view((tx) => {
    if (req.task) return { tasks: [findTask(tx, req.target)], serviceId: undefined };
    const service = findService(tx, req.target);
    return { tasks: tx.tasksByService(service.id), serviceId: service.id };
  });
  const merged = new AsyncQueue<LogMessage>();
  const cancels: (() => void)[] = [];
  const seen = new Set<string>();
  let open = 0;

  const follow = (nodeId: string, taskIds: string[], tail: number): void => {
    for (const id of taskIds) seen.add(id);
    const sub = dispatcher.subscribeLogs(nodeId, taskIds, req.follow, tail);
    cancels.push(sub.cancel);
    open++;
    void (async () => {
      try {
        for await (const chunk of sub.chunks) for (const m of chunk.messages) merged.push(m);
      } catch {
        // A node that is down simply contributes no lines, as in Docker.
      } finally {
        // Without follow the stream ends when every node has sent what it has.
        if (--open === 0 && !req.follow) merged.close();
      }
    })();
  };

  const byNode = new Map<string, string[]>();
  for (const t of tasks) {
    if (!t.nodeId) continue;
    byNode.set(t.nodeId, [...(byNode.get(t.nodeId) ?? []), t.id]);
  }
  for (const [nodeId, ids] of byNode) follow(nodeId, ids, Number(req.tail));
  if (open === 0 && !req.follow) merged.close();

  // Tasks that start after the request: followed from their first line once they run.
  const started = (t: Task) => t.serviceId === serviceId && t.nodeId !== "" && (t.status?.state ?? 0) >= TaskState.RUNNING;
  const unsubscribe =
    req.follow && serviceId
      ? store.subscribe((events) => {
          for (const e of events) {
            if (e.kind === "task" && e.type !== "delete" && !seen.has(e.object.id) && started(e.object)) {
              follow(e.object.nodeId, [e.object.id], 0);
            }
          }
        })
      : undefined;

  const stop = () => {
    unsubscribe?.();
    for (const cancel of cancels) cancel();
    merged.close();
  };
  signal.addEventListener("abort", stop, { once: true });
  try {
    yield* merged;
  } finally {
    signal.removeEventListener("abort", stop);
    stop();
  }
}
