import { NodeAvailability, NodeState, TaskState, type Node, type Service, type Task } from "@tsctl/api";
import { placementPredicate } from "../scheduler/constraints.js";
import { emptyPlan, finishPlan, taskFactory, withDesired, type Plan, type PlanOptions } from "./plan.js";
import { asNodeMap, type NodeSet } from "./replicated.js";
import { reconcileSlot, replaceOutdated, type SlotInput, type SlotOutcome } from "./slot.js";

/** acceptsGlobalTasks says whether a node should get a global service's task: READY and ACTIVE. */
export function acceptsGlobalTasks(node: Node): boolean {
  return node.status?.state === NodeState.READY && (node.spec?.availability ?? NodeAvailability.ACTIVE) === NodeAvailability.ACTIVE;
}

/** evicts says whether a node's tasks must stop: the node is gone, DOWN, or drained. */
function evicts(node: Node | undefined): boolean {
  return !node || node.status?.state === NodeState.DOWN || node.spec?.availability === NodeAvailability.DRAIN;
}

/**
 * planGlobal keeps one task of a global service on every READY, ACTIVE node that satisfies its
 * placement constraints (slot 0, node preset, so the scheduler only checks the node). Tasks on nodes
 * that are gone, DOWN, drained or no longer match the constraints (a label removed) stop and are not
 * replaced elsewhere; a PAUSEd or disconnected node keeps what it runs but gets nothing new. The
 * restart policy applies per node as it does per slot.
 */
export function planGlobal(service: Service, tasks: readonly Task[], nodes: NodeSet, nowMs: number, opts: PlanOptions = {}): Plan {
  const nodesById = asNodeMap(nodes);
  const make = taskFactory(service, nowMs, opts);
  const plan = emptyPlan();
  // Parsed once per plan, not per node; nodes that fail it are treated like drained ones.
  const matches = placementPredicate(service.spec?.task);
  const byNode = new Map<string, Task[]>();
  for (const t of tasks) {
    const list = byNode.get(t.nodeId);
    if (list) list.push(t);
    else byNode.set(t.nodeId, [t]);
  }
  for (const id of nodesById.keys()) if (!byNode.has(id)) byNode.set(id, []);

  const settled: { input: SlotInput; out: SlotOutcome }[] = [];
  for (const [nodeId, nodeTasks] of byNode) {
    const node = nodesById.get(nodeId);
    if (nodeId === "" || evicts(node) || (matches && !matches(node!))) {
      for (const t of nodeTasks) if (t.desiredState < TaskState.SHUTDOWN) plan.update.push(withDesired(t, TaskState.SHUTDOWN));
      continue;
    }
    const canCreate = acceptsGlobalTasks(node!);
    const input: SlotInput = { service, slot: 0, nodeId, tasks: nodeTasks, nodes: nodesById, nowMs, make, canCreate };
    const out = reconcileSlot(input);
    if (!out.live && canCreate) {
      out.create.push(make(0, nodeId, 0));
      out.live = out.starting = true;
    }
    settled.push({ input, out });
  }

  // Spec changes roll node by node, like replicated slots; pinned nodes must still accept tasks.
  const parallelism = opts.updateParallelism ?? 1;
  const live = settled.filter((e) => e.out.live);
  const busy = live.filter((e) => e.out.starting).length;
  const outdated = live.filter((e) => e.out.outdated && e.input.canCreate).sort((a, b) => a.out.rank - b.out.rank || (a.input.nodeId < b.input.nodeId ? -1 : 1));
  for (const e of outdated.slice(0, Math.max(0, parallelism - busy))) replaceOutdated(e.out, e.input);
  for (const e of settled) {
    plan.create.push(...e.out.create);
    plan.update.push(...e.out.update);
  }
  return finishPlan(plan, nowMs);
}
