/**
 * NodeHealth tracks heartbeat deadlines and marks nodes DOWN when one passes. After the manager
 * starts, every node gets a full grace period first: a node whose tsd restarted together with the
 * manager must not be declared down (and its tasks replaced) before it had a chance to reconnect.
 */
import { clone, create } from "@bufbuild/protobuf";
import { NodeSchema, NodeState, NodeStatusSchema } from "@tsctl/api";
import type { Store } from "../store/types.js";

const leaderChangeGraceMs = 5000;

export class NodeHealth {
  private readonly deadlines = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly periodMs: () => number,
    private readonly now: () => number = Date.now,
    // Docker allows a few missed heartbeats before it calls a node down.
    private readonly graceMultiplier = 3,
  ) {}

  start(): void {
    this.graceAll();
    this.timer = setInterval(() => void this.check(), Math.max(100, this.periodMs() / 2));
    this.timer.unref();
  }

  /**
   * graceAll gives every node a fresh, long deadline: after a leader change agents must first find
   * the new leader (a second or two on top of their usual beat), and after a heartbeat change
   * they must reconnect to learn it.
   */
  graceAll(): void {
    const grace = this.now() + this.periodMs() * this.graceMultiplier + leaderChangeGraceMs;
    for (const node of this.store.view((tx) => tx.list("node"))) this.deadlines.set(node.id, grace);
  }

  /**
   * beat pushes the node's deadline forward. A node that was declared down while its session
   * lived on (heartbeats delayed, not lost: a starved manager) is marked ready again.
   */
  beat(nodeId: string): void {
    const expired = !this.deadlines.has(nodeId);
    this.deadlines.set(nodeId, this.now() + this.periodMs() * this.graceMultiplier);
    if (expired) void this.markReady(nodeId);
  }

  private async markReady(nodeId: string): Promise<void> {
    await this.store
      .batch((tx) => {
        const node = tx.get("node", nodeId);
        if (!node || node.status?.state !== NodeState.DOWN) return;
        const next = clone(NodeSchema, node);
        next.status = create(NodeStatusSchema, { addr: node.status.addr, state: NodeState.READY });
        tx.update("node", next);
      })
      .catch(() => undefined);
  }

  private async check(): Promise<void> {
    const now = this.now();
    const expired = [...this.deadlines].filter(([, d]) => d < now).map(([id]) => id);
    if (expired.length === 0) return;
    for (const id of expired) this.deadlines.delete(id);
    await this.store
      .batch((tx) => {
        for (const id of expired) {
          const node = tx.get("node", id);
          if (!node || node.status?.state === NodeState.DOWN) continue;
          const next = clone(NodeSchema, node);
          next.status = create(NodeStatusSchema, { addr: node.status?.addr ?? "", state: NodeState.DOWN, message: "heartbeat failure" });
          tx.update("node", next);
        }
      })
      .catch(() => {
        // Store unavailable: try again on the next tick.
        for (const id of expired) if (!this.deadlines.has(id)) this.deadlines.set(id, 0);
      });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
