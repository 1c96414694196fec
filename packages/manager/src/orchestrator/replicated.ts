import { TaskState, type Node, type Service, type Task } from "@tsctl/api";
import { emptyPlan, finishPlan, taskFactory, withDesired, type Plan, type PlanOptions } from "./plan.js";
import { reconcileSlot, replaceOutdated, type SlotInput, type SlotOutcome } from "./slot.js";
import { nodeMap } from "./task-states.js";

/** NodeSet is how planners accept nodes: a list, or a map by id the caller already built. */
export type NodeSet = readonly Node[] | ReadonlyMap<string, Node>;

/** asNodeMap normalizes a NodeSet. */
export function asNodeMap(nodes: NodeSet): ReadonlyMap<string, Node> {
  return nodes instanceof Map ? nodes : nodeMap(nodes as readonly Node[]);
}

interface SlotEntry {
  input: SlotInput;
  out: SlotOutcome;
}

/**
 * planReplicated reconciles a replicated service's tasks with its spec: each live slot settles
 * (restart policy, lost nodes, duplicates), surplus slots go (finished or not-yet-running ones first,
 * then the highest numbers), missing ones are filled from the lowest free number, and outdated
 * slots are replaced a few at a time. It reads only its arguments, so it can run any time.
 */
export function planReplicated(service: Service, tasks: readonly Task[], nodes: NodeSet, nowMs: number, opts: PlanOptions = {}): Plan {
  const mode = service.spec?.mode;
  const replicas = mode?.case === "replicated" ? mode.value.replicas : 0;
  const nodesById = asNodeMap(nodes);
  const make = taskFactory(service, nowMs, opts);
  const plan = emptyPlan();

  const bySlot = new Map<number, Task[]>();
  for (const t of tasks) {
    const list = bySlot.get(t.slot);
    if (list) list.push(t);
    else bySlot.set(t.slot, [t]);
  }
  const entries: SlotEntry[] = [];
  for (const [slot, slotTasks] of bySlot) {
    const input: SlotInput = { service, slot, nodeId: "", tasks: slotTasks, nodes: nodesById, nowMs, make, canCreate: true };
    entries.push({ input, out: reconcileSlot(input) });
  }

  let live = entries.filter((e) => e.out.live);
  if (live.length > replicas) {
    // Scale down: drop what costs least to lose, then the highest slots, so slots stay 1..n.
    live.sort((a, b) => a.out.rank - b.out.rank || b.input.slot - a.input.slot);
    for (const e of live.slice(0, live.length - replicas)) e.out = retire(e.input);
    live = live.slice(live.length - replicas);
  } else if (live.length < replicas) {
    const taken = new Set(live.map((e) => e.input.slot));
    for (let slot = 1, missing = replicas - live.length; missing > 0; slot++) {
      if (taken.has(slot)) continue;
      plan.create.push(make(slot, "", 0));
      missing--;
    }
  }

  // Spec changes: stop-first, bounded by tasks of the new spec still starting (their own or fresh).
  const parallelism = opts.updateParallelism ?? 1;
  const busy = live.filter((e) => e.out.starting).length + plan.create.length;
  const outdated = live.filter((e) => e.out.outdated).sort((a, b) => a.out.rank - b.out.rank || a.input.slot - b.input.slot);
  for (const e of outdated.slice(0, Math.max(0, parallelism - busy))) replaceOutdated(e.out, e.input);

  for (const e of entries) {
    plan.create.push(...e.out.create);
    plan.update.push(...e.out.update);
  }
  return finishPlan(plan, nowMs);
}

/** retire empties a slot removed by scale-down: everything still wanted or holding it shuts down. */
function retire(input: SlotInput): SlotOutcome {
  const update = input.tasks.filter((t) => t.desiredState < TaskState.SHUTDOWN).map((t) => withDesired(t, TaskState.SHUTDOWN));
  return { create: [], update, live: false, starting: false, rank: 0 };
}
