import { TaskState, type Node, type Task } from "@tsctl/api";
import { shuffledRanks } from "./random.js";

/** Demand is what one task of a group takes from the node it lands on. */
export interface Demand {
  serviceId: string;
  nanoCpus: number;
  memoryBytes: number;
}

/** demandOf reads a task's reservations. */
export function demandOf(task: Task): Demand {
  const r = task.spec?.resources?.reservations;
  return { serviceId: task.serviceId, nanoCpus: r?.nanoCpus ?? 0, memoryBytes: r?.memoryBytes ?? 0 };
}

/** holdsNode says whether a task counts against its node: wanted and not over. */
function holdsNode(t: Task): boolean {
  return t.nodeId !== "" && t.desiredState <= TaskState.RUNNING && (t.status?.state ?? TaskState.NEW) <= TaskState.RUNNING;
}

/**
 * NodePool is the scheduler's working snapshot of the nodes: free resources and task counts in
 * flat arrays indexed by node position (nodes sorted by id), updated as a round assigns tasks, so
 * filters and scorers are array reads. It owns no store objects and never writes them.
 */
export class NodePool {
  readonly nodes: Node[];
  readonly cpuFree: Float64Array;
  readonly memFree: Float64Array;
  readonly total: Int32Array;
  /** Seeded tie-break rank per node. */
  readonly rank: Int32Array;
  /** Tasks of the current service per node (see useService). */
  serviceCount: Int32Array;
  private readonly indexById = new Map<string, number>();
  private readonly perService = new Map<string, Map<number, number>>();
  private currentService: string | undefined;
  private readonly labelColumns = new Map<string, string[]>();

  constructor(nodes: readonly Node[], tasks: Iterable<Task>, seed: number) {
    this.nodes = [...nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const n = this.nodes.length;
    this.cpuFree = new Float64Array(n);
    this.memFree = new Float64Array(n);
    this.total = new Int32Array(n);
    this.serviceCount = new Int32Array(n);
    this.rank = shuffledRanks(n, seed);
    this.nodes.forEach((node, i) => {
      this.indexById.set(node.id, i);
      this.cpuFree[i] = node.description?.resources?.nanoCpus ?? 0;
      this.memFree[i] = node.description?.resources?.memoryBytes ?? 0;
    });
    for (const t of tasks) {
      if (!holdsNode(t)) continue;
      const i = this.indexById.get(t.nodeId);
      if (i !== undefined) this.take(i, demandOf(t));
    }
  }

  get size(): number {
    return this.nodes.length;
  }

  indexOf(nodeId: string): number | undefined {
    return this.indexById.get(nodeId);
  }

  /** useService loads serviceCount for serviceId, the per-node count the spread scorer reads. */
  useService(serviceId: string): void {
    if (serviceId === this.currentService) return;
    this.currentService = serviceId;
    this.serviceCount = new Int32Array(this.size);
    for (const [i, c] of this.perService.get(serviceId) ?? []) this.serviceCount[i] = c;
  }

  /**
   * labelValues returns every node's value of label key, "" for nodes without it (so they form
   * one group, as in Docker), read once per round however many task groups spread over it.
   */
  labelValues(key: string): readonly string[] {
    let column = this.labelColumns.get(key);
    if (!column) {
      // Own properties only: a label named "constructor" must not read Object.prototype's.
      column = this.nodes.map((n) => {
        const labels = n.spec?.annotations?.labels;
        return labels && Object.hasOwn(labels, key) ? labels[key]! : "";
      });
      this.labelColumns.set(key, column);
    }
    return column;
  }

  /** take books a task's demand on node i. */
  take(i: number, d: Demand): void {
    this.cpuFree[i]! -= d.nanoCpus;
    this.memFree[i]! -= d.memoryBytes;
    this.total[i]!++;
    let counts = this.perService.get(d.serviceId);
    if (!counts) this.perService.set(d.serviceId, (counts = new Map()));
    counts.set(i, (counts.get(i) ?? 0) + 1);
    if (d.serviceId === this.currentService) this.serviceCount[i]!++;
  }
}
