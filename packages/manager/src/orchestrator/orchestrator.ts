import { clone } from "@bufbuild/protobuf";
import { TaskSchema, type Task } from "@tsctl/api";
import { StoreController, type ControllerOptions } from "../controller-loop.js";
import type { ReadTx, Store, StoreEvent, WriteTx } from "../store/types.js";
import { planGlobal } from "./global.js";
import type { Plan, PlanOptions } from "./plan.js";
import { planRemoved } from "./removed.js";
import { planReplicated } from "./replicated.js";
import { nodeMap } from "./task-states.js";

/** OrchestratorOptions add the planners' knobs to the loop's. */
export interface OrchestratorOptions extends ControllerOptions, PlanOptions {}

/**
 * Orchestrator runs the planners over store snapshots: on events it replans only the services they
 * touched; node changes, wake-ups and the periodic resync replan everything (including tasks whose
 * service is gone). Writes carry only creates and raised desired states, re-checked against the
 * store's copy at write time, so a crash or a conflict at any point is repaired by the next pass.
 */
export class Orchestrator extends StoreController {
  private dirty = new Set<string>();

  constructor(
    store: Store,
    private readonly opts: OrchestratorOptions = {},
  ) {
    super(store, "orchestrator", opts);
  }

  protected onEvents(events: StoreEvent[]): void {
    let full = false;
    for (const e of events) {
      if (e.kind === "service") this.dirty.add(e.object.id);
      else if (e.kind === "task") this.dirty.add(e.object.serviceId);
      else if (e.kind === "node") full = true;
    }
    if (full || this.dirty.size > 0) this.loop.kick(full);
  }

  protected async pass(full: boolean): Promise<number | undefined> {
    const nowMs = this.clock.now();
    const ids = this.dirty;
    this.dirty = new Set();
    const { plans, wakeAtMs } = this.store.view((tx) => this.plan(tx, full ? allServiceIds(tx) : ids, nowMs));
    if (plans.every((p) => p.create.length === 0 && p.update.length === 0)) return wakeAtMs;
    const { conflicts } = await this.store.batch((tx) => {
      // Creates before shutdowns: a partial write leaves a duplicate for the next pass to settle.
      for (const p of plans) for (const t of p.create) tx.create("task", t);
      for (const p of plans) for (const t of p.update) raiseDesired(tx, t);
    });
    if (conflicts > 0) this.loop.kick(true);
    return wakeAtMs;
  }

  private plan(tx: ReadTx, serviceIds: Iterable<string>, nowMs: number): { plans: Plan[]; wakeAtMs?: number } {
    const nodes = nodeMap(tx.list("node"));
    const plans: Plan[] = [];
    let wakeAtMs: number | undefined;
    for (const id of serviceIds) {
      const service = tx.get("service", id);
      const tasks = tx.tasksByService(id);
      let plan: Plan;
      if (!service) plan = { create: [], update: planRemoved(tasks) };
      else if (service.spec?.mode.case === "global") plan = planGlobal(service, tasks, nodes, nowMs, this.opts);
      else plan = planReplicated(service, tasks, nodes, nowMs, this.opts);
      plans.push(plan);
      if (plan.wakeAtMs !== undefined && (wakeAtMs === undefined || plan.wakeAtMs < wakeAtMs)) wakeAtMs = plan.wakeAtMs;
    }
    return wakeAtMs === undefined ? { plans } : { plans, wakeAtMs };
  }
}

/** allServiceIds lists every service and every service id tasks still point at. */
function allServiceIds(tx: ReadTx): Set<string> {
  const ids = new Set(tx.list("service").map((s) => s.id));
  for (const t of tx.list("task")) ids.add(t.serviceId);
  return ids;
}

/** raiseDesired writes a planned desired state onto the stored task, never lowering it. */
function raiseDesired(tx: WriteTx, planned: Task): void {
  const current = tx.get("task", planned.id);
  if (!current || current.desiredState >= planned.desiredState) return;
  const next = clone(TaskSchema, current);
  next.desiredState = planned.desiredState;
  tx.update("task", next);
}
