import { IndexHeap } from "./heap.js";
import type { NodePool } from "./node-pool.js";

/**
 * SpreadShape is how placement preferences split the pool's nodes: level k splits each branch by
 * the nodes' value of the k-th label, and nodes without the label share the value "" and so form
 * one more group (as in Docker). It depends only on the labels, so a round builds it once per
 * distinct list of preferences and every task group spreading that way reuses it.
 */
export class SpreadShape {
  /** levels is the number of labels; leaves sit at this depth (the root alone when 0). */
  readonly levels: number;
  // Per branch, indexed by branch id (0 = root; a child's id is always above its parent's).
  readonly parent: number[] = [-1];
  readonly depth: number[] = [0];
  readonly children: number[][] = [[]];
  /** rank: the least seeded node rank in the branch, the tie-break between equal counts. */
  readonly rank: number[] = [Number.MAX_SAFE_INTEGER];
  /** leafOf: each node's leaf. */
  readonly leafOf: Int32Array;

  constructor(pool: NodePool, labels: readonly string[]) {
    const columns = labels.map((k) => pool.labelValues(k));
    this.levels = columns.length;
    this.leafOf = new Int32Array(pool.size);
    if (this.levels === 0) return;
    const childByValue: Map<string, number>[] = [new Map()];
    for (let i = 0; i < pool.size; i++) {
      let b = 0;
      for (let d = 0; d < this.levels; d++) {
        const value = columns[d]![i]!;
        let c = childByValue[b]!.get(value);
        if (c === undefined) {
          c = this.parent.length;
          this.parent.push(b);
          this.depth.push(d + 1);
          this.children.push([]);
          this.rank.push(Number.MAX_SAFE_INTEGER);
          childByValue.push(new Map());
          this.children[b]!.push(c);
          childByValue[b]!.set(value, c);
        }
        b = c;
        if (pool.rank[i]! < this.rank[b]!) this.rank[b] = pool.rank[i]!;
      }
      this.leafOf[i] = b;
    }
  }

  get branches(): number {
    return this.parent.length;
  }
}

/**
 * SpreadTree hands out the nodes for one group of identical tasks, honouring placement
 * preferences (Docker's `--placement-pref spread=node.labels.<key>`) laid out by a SpreadShape.
 *
 * Each branch counts the service's tasks on all of its nodes, feasible or not (tasks on a drained
 * node still occupy its zone); the leaves hold heaps of the feasible nodes under the scheduler's
 * node ordering. choose() walks from the root to the child with the fewest tasks at every level,
 * so tasks fill the emptiest groups first: an uneven start evens out, and a group's share does not
 * depend on how many nodes it has.
 *
 * Only branches with a feasible node ever sit in their parent's heap, and a branch that runs out
 * during the round is not put back: preferences rank nodes, they never leave a task unplaced.
 * Without preferences the root is the only leaf and this is the plain heap of nodes.
 *
 * Cost: O(nodes) to build, O(levels × log branches + log nodes) per task.
 */
export class SpreadTree {
  /** count: tasks of the service per branch. */
  private readonly count: Float64Array;
  /** children: heap of the non-empty child branches (inner branches only). */
  private readonly children: (IndexHeap | undefined)[];
  /** nodes: heap of the feasible nodes (leaves only). */
  private readonly nodes: (IndexHeap | undefined)[];
  /** path of the last choose(), leaf first, root last. */
  private readonly path: number[] = [];

  /**
   * @param feasible whether a node passes the filters now
   * @param nodeLess the node ordering within a leaf; it must read only state that changes while
   *   the node is out of its heap (between choose() and placed())
   */
  constructor(pool: NodePool, shape: SpreadShape, feasible: (i: number) => boolean, nodeLess: (a: number, b: number) => boolean) {
    const n = shape.branches;
    const { parent, leafOf, rank } = shape;
    this.count = new Float64Array(n);
    this.children = new Array<IndexHeap | undefined>(n);
    this.nodes = new Array<IndexHeap | undefined>(n);
    const members: number[][] = Array.from({ length: n }, () => []);
    for (let i = 0; i < pool.size; i++) {
      const c = pool.serviceCount[i]!;
      if (c > 0) for (let b = leafOf[i]!; b > 0; b = parent[b]!) this.count[b]! += c;
      if (feasible(i)) members[leafOf[i]!]!.push(i);
    }
    const count = this.count;
    const branchLess = (a: number, b: number): boolean => (count[a]! - count[b]! || rank[a]! - rank[b]!) < 0;
    // Children before parents (higher ids first), so a parent sees which children are non-empty.
    for (let b = n - 1; b >= 0; b--) {
      if (shape.depth[b] === shape.levels) {
        const heap = new IndexHeap(nodeLess);
        heap.build(members[b]!);
        this.nodes[b] = heap;
      } else {
        const heap = new IndexHeap(branchLess);
        heap.build(shape.children[b]!.filter((c) => this.nonEmpty(c)));
        this.children[b] = heap;
      }
    }
  }

  /** choose takes the next node out of the tree, or returns undefined when no node is left. */
  choose(): number | undefined {
    const flat = this.nodes[0];
    if (flat) return flat.pop(); // no preferences: the root is the leaf
    this.path.length = 0;
    return this.descend(0);
  }

  /**
   * placed reports that a task went to node i, the last node chosen: the branches on its path
   * count it and go back into their parents' heaps, and the node goes back into its leaf when it
   * can still take another task of the group.
   */
  placed(i: number, feasibleAgain: boolean): void {
    const flat = this.nodes[0];
    if (flat) {
      if (feasibleAgain) flat.push(i);
      return;
    }
    const path = this.path;
    if (feasibleAgain) this.nodes[path[0]!]!.push(i);
    for (let k = 0; k < path.length - 1; k++) {
      const b = path[k]!;
      this.count[b]!++;
      if (this.nonEmpty(b)) this.children[path[k + 1]!]!.push(b);
    }
  }

  private descend(b: number): number | undefined {
    const leaf = this.nodes[b];
    if (leaf) {
      const i = leaf.pop();
      if (i !== undefined) this.path.push(b);
      return i;
    }
    // Every branch in a heap holds a feasible node, so the first child popped yields one.
    const heap = this.children[b]!;
    for (let c = heap.pop(); c !== undefined; c = heap.pop()) {
      const i = this.descend(c);
      if (i !== undefined) {
        this.path.push(b);
        return i;
      }
    }
    return undefined;
  }

  private nonEmpty(b: number): boolean {
    return (this.nodes[b] ?? this.children[b])!.size > 0;
  }
}
