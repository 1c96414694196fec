import { TaskState, type Node, type Service, type Task } from "@tsctl/api";
import { withDesired, type TaskFactory } from "./plan.js";
import { attemptRecord, restartDecision } from "./restart.js";
import { endedAt, isEnded, isRunnable, newerFirst, nodeLost, observed } from "./task-states.js";

/** SlotInput is one slot's history (a replicated slot number, or a global service's node). */
export interface SlotInput {
  service: Service;
  slot: number;
  /** Node new tasks are pinned to (global services), or "" to let the scheduler choose. */
  nodeId: string;
  tasks: readonly Task[];
  nodes: ReadonlyMap<string, Node>;
  nowMs: number;
  make: TaskFactory;
  /** Whether this pass may create a task in the slot (false for a global task's paused node). */
  canCreate: boolean;
}

/** SlotOutcome is the slot's writes plus what the caller needs for scaling and updates. */
export interface SlotOutcome {
  create: Task[];
  update: Task[];
  /** The slot is occupied after this pass: by a wanted task, or by a finished one that holds it. */
  live: boolean;
  /** The live task when its spec version is not the service's: a candidate for replacement. */
  outdated?: Task;
  /** A current-version task not yet running occupies the slot (counts against update parallelism). */
  starting: boolean;
  /** Scale-down preference, lowest first: 0 finished, 1 just replaced, 2 starting, 3 running. */
  rank: number;
}

/**
 * reconcileSlot settles one slot. A slot is occupied by a task desired ≤ RUNNING, or "held" by a
 * finished task whose desired state is COMPLETE: the restart policy declined to replace it (condition
 * none, on-failure after a clean exit, attempts exhausted), and because that verdict is stored on
 * the task, a later pass or a new leader keeps the slot empty instead of refilling it.
 */
export function reconcileSlot(input: SlotInput): SlotOutcome {
  const { service, tasks, nodes, nowMs } = input;
  const out: SlotOutcome = { create: [], update: [], live: false, starting: false, rank: 1 };
  const stop = (ts: readonly Task[], desired = TaskState.SHUTDOWN): void => {
    for (const t of ts) if (t.desiredState < desired) out.update.push(withDesired(t, desired));
  };
  const runnable = tasks.filter(isRunnable);
  const holders = tasks.filter((t) => t.desiredState === TaskState.COMPLETE).sort(newerFirst);
  const alive = runnable.filter((t) => !isEnded(observed(t)) && !nodeLost(t.nodeId, nodes));
  const lost = runnable.filter((t) => !isEnded(observed(t)) && nodeLost(t.nodeId, nodes));
  const dead = runnable.filter((t) => isEnded(observed(t)));

  if (alive.length > 0) {
    // Duplicates (a crash between a create and its matching shutdown) resolve to the best task.
    const keep = alive.sort((a, b) => preference(service, a, b))[0]!;
    stop([...alive.slice(1), ...lost, ...dead, ...holders]);
    out.live = true;
    const state = observed(keep);
    if (keep.specVersion !== service.specVersion) out.outdated = keep;
    else out.starting = state < TaskState.RUNNING;
    out.rank = state >= TaskState.RUNNING ? 3 : 2;
    return out;
  }
  if (lost.length > 0) {
    // The node is gone or down: replace at once, the task did not fail and no delay applies.
    stop([...lost, ...dead, ...holders]);
    if (input.canCreate) occupyWithNew(out, input, 0);
    return out;
  }
  if (dead.length > 0) {
    const [latest, ...older] = dead.sort((a, b) => endedAt(b, nowMs) - endedAt(a, nowMs) || newerFirst(a, b));
    stop([...older!, ...holders]);
    const decision = restartDecision(service, latest!, tasks, nowMs);
    if (!decision.restart) {
      stop([latest!], TaskState.COMPLETE);
      holdBy(out, service, latest!);
    } else {
      stop([latest!]);
      if (input.canCreate) {
        occupyWithNew(out, input, decision.notBeforeMs);
        out.create[out.create.length - 1]!.restartHistoryMs = attemptRecord(service, latest!, nowMs);
      }
    }
    return out;
  }
  if (holders.length > 0) {
    stop(holders.slice(1));
    holdBy(out, service, holders[0]!);
  }
  return out;
}

/** replaceOutdated swaps a slot's outdated task for one of the current spec (stop-first). */
export function replaceOutdated(out: SlotOutcome, input: SlotInput): void {
  if (!out.outdated) return;
  out.update.push(withDesired(out.outdated, TaskState.SHUTDOWN));
  out.outdated = undefined;
  occupyWithNew(out, input, 0);
}

function occupyWithNew(out: SlotOutcome, input: SlotInput, notBeforeMs: number): void {
  out.create.push(input.make(input.slot, input.nodeId, notBeforeMs));
  out.live = true;
  out.starting = true;
  out.rank = 1;
}

function holdBy(out: SlotOutcome, service: Service, holder: Task): void {
  out.live = true;
  out.rank = 0;
  if (holder.specVersion !== service.specVersion) out.outdated = holder;
}

/** preference orders a slot's live duplicates: current spec first, then furthest along, then newest. */
function preference(service: Service, a: Task, b: Task): number {
  const cur = Number(b.specVersion === service.specVersion) - Number(a.specVersion === service.specVersion);
  return cur || observed(b) - observed(a) || newerFirst(a, b);
}
