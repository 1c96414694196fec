/**
 * serviceLogs gathers the log lines of a service's (or one task's) tasks from the nodes that ran
 * them, through each node's dispatcher session, and merges them into one stream.
 */
import { AsyncQueue, type LogMessage, type ServiceLogsRequest } from "@tsctl/api";
import type { Dispatcher } from "../dispatcher/dispatcher.js";
import type { Store } from "../store/types.js";

import { findService, findTask } from "./lookup.js";

export async function* serviceLogs(
  store: Store,
  dispatcher: Dispatcher,
  req: ServiceLogsRequest,
  signal: AbortSignal,
): AsyncIterable<LogMessage> {
  const tasks = store.view((tx) => (req.task ? [findTask(tx, req.target)] : tx.tasksByService(findService(tx, req.target).id)));
  const byNode = new Map<string, string[]>();
  for (const t of tasks) {
    if (!t.nodeId) continue;
    const list = byNode.get(t.nodeId) ?? [];
    list.push(t.id);
    byNode.set(t.nodeId, list);
  }
  const merged = new AsyncQueue<LogMessage>();
  const subs = [...byNode].map(([nodeId, ids]) => dispatcher.subscribeLogs(nodeId, ids, req.follow, Number(req.tail)));
  let open = subs.length;
  if (open === 0) merged.close();
  const cancelAll = () => {
    for (const s of subs) s.cancel();
    merged.close();
  };
  signal.addEventListener("abort", cancelAll, { once: true });
  for (const sub of subs) {
    void (async () => {
      try {
        for await (const chunk of sub.chunks) {
          for (const m of chunk.messages) merged.push(m);
        }
      } catch {
        // A node that is down simply contributes no lines, as in Docker.
      } finally {
        if (--open === 0) merged.close();
      }
    })();
  }
  try {
    yield* merged;
  } finally {
    signal.removeEventListener("abort", cancelAll);
    cancelAll();
  }
}
