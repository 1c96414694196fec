import { NodeAvailability, NodeState, type Node, type Task } from "@tsctl/api";
import { placementPredicate } from "./constraints.js";
import { demandOf, type Demand, type NodePool } from "./node-pool.js";

/**
 * Filter is one feasibility check of the pipeline. setTask prepares it for a group of identical
 * tasks and says whether it applies at all; check tests one node of the pool; explain turns the
 * number of nodes it rejected into the words the CLI shows after "no suitable node".
 */
export interface Filter {
  setTask(task: Task): boolean;
  check(pool: NodePool, node: number): boolean;
  explain(nodes: number): string;
}

const plural = (n: number): string => `${n} node${n === 1 ? "" : "s"}`;

/** notAvailable is Docker's wording for nodes that take no new work, whatever the cause. */
const notAvailable = (n: number): string => `${plural(n)} not available for new tasks`;

/** ReadyFilter: only nodes whose agent is connected and reported READY. */
export class ReadyFilter implements Filter {
  setTask(): boolean {
    return true;
  }
  check(pool: NodePool, i: number): boolean {
    return pool.nodes[i]!.status?.state === NodeState.READY;
  }
  explain = notAvailable;
}

/** AvailabilityFilter: PAUSE and DRAIN nodes keep or lose what they run but take nothing new. */
export class AvailabilityFilter implements Filter {
  setTask(): boolean {
    return true;
  }
  check(pool: NodePool, i: number): boolean {
    return (pool.nodes[i]!.spec?.availability ?? NodeAvailability.ACTIVE) === NodeAvailability.ACTIVE;
  }
  explain = notAvailable;
}

/** ResourceFilter: the task's CPU and memory reservations fit what the node has left. */
export class ResourceFilter implements Filter {
  private demand: Demand = { serviceId: "", nanoCpus: 0, memoryBytes: 0 };
  setTask(task: Task): boolean {
    this.demand = demandOf(task);
    return this.demand.nanoCpus > 0 || this.demand.memoryBytes > 0;
  }
  check(pool: NodePool, i: number): boolean {
    return pool.cpuFree[i]! >= this.demand.nanoCpus && pool.memFree[i]! >= this.demand.memoryBytes;
  }
  explain(n: number): string {
    return `insufficient resources on ${plural(n)}`;
  }
}

/** ConstraintFilter: placement.constraints, parsed once per task group, hold on the node. */
export class ConstraintFilter implements Filter {
  private matches: (node: Node) => boolean = () => true;
  setTask(task: Task): boolean {
    const p = placementPredicate(task.spec);
    if (p) this.matches = p;
    return p !== undefined;
  }
  check(pool: NodePool, i: number): boolean {
    return this.matches(pool.nodes[i]!);
  }
  explain(n: number): string {
    return `scheduling constraints not satisfied on ${plural(n)}`;
  }
}

/** MaxReplicasFilter: placement.maxReplicas caps the service's tasks per node (0 = no cap). */
export class MaxReplicasFilter implements Filter {
  private max = 0;
  setTask(task: Task): boolean {
    this.max = task.spec?.placement?.maxReplicas ?? 0;
    return this.max > 0;
  }
  check(pool: NodePool, i: number): boolean {
    return pool.serviceCount[i]! < this.max;
  }
  explain(n: number): string {
    return `max replicas per node limit reached on ${plural(n)}`;
  }
}

/**
 * defaultFilters is the pipeline in order; a node is charged to the first filter rejecting it.
 * Constraints come after resources as in swarmkit, so explanations count nodes the way Docker's do.
 */
export function defaultFilters(): Filter[] {
  return [new ReadyFilter(), new AvailabilityFilter(), new ResourceFilter(), new ConstraintFilter(), new MaxReplicasFilter()];
}

/**
 * Pipeline runs the filters that apply to the current task group and keeps the explanation.
 */
export class Pipeline {
  private active: Filter[] = [];

  constructor(private readonly filters: Filter[] = defaultFilters()) {}

  setTask(task: Task): void {
    this.active = this.filters.filter((f) => f.setTask(task));
  }

  /** firstRejecting returns the index (among active filters) of the first that rejects node i, or -1. */
  firstRejecting(pool: NodePool, i: number): number {
    for (let f = 0; f < this.active.length; f++) if (!this.active[f]!.check(pool, i)) return f;
    return -1;
  }

  passes(pool: NodePool, i: number): boolean {
    return this.firstRejecting(pool, i) < 0;
  }

  /** explain checks the given nodes and says why none fits, Docker-style. */
  explain(pool: NodePool, nodes: Iterable<number>): string {
    const counts = new Array<number>(this.active.length).fill(0);
    let seen = 0;
    for (const i of nodes) {
      seen++;
      const f = this.firstRejecting(pool, i);
      if (f >= 0) counts[f]!++;
    }
    if (seen === 0) return "no suitable node";
    // Filters with the same wording (not ready, not active) add up into one phrase.
    const phrases = new Map<string, { filter: Filter; n: number }>();
    counts.forEach((n, f) => {
      if (n === 0) return;
      const filter = this.active[f]!;
      const key = filter.explain(1);
      const p = phrases.get(key);
      if (p) p.n += n;
      else phrases.set(key, { filter, n });
    });
    if (phrases.size === 0) return "no suitable node";
    return `no suitable node (${[...phrases.values()].map((p) => p.filter.explain(p.n)).join("; ")})`;
  }
}
