/**
 * SwarmApi is the cluster-level part of the Control API: the cluster object (never with its CA
 * key or tokens), join tokens, cluster settings, and removing nodes. Like ControlApi it is plain
 * logic over the Store; etcd membership questions go through the EtcdMembership it is given.
 */
import { clone, create } from "@bufbuild/protobuf";
import {
  ClusterSchema,
  ClusterSpecSchema,
  FailedPreconditionError,
  InvalidArgumentError,
  MetaSchema,
  NodeRole,
  NodeState,
  UpdateOutOfSequenceError,
  type Cluster,
  type ClusterSpec,
} from "@tsctl/api";
import { makeJoinToken } from "../ca/index.js";
import type { Store, WriteTx } from "../store/types.js";
import { findNode } from "./lookup.js";

/** EtcdMembership answers quorum questions for demotions and removals of managers. */
export interface EtcdMembership {
  /** Throws FailedPrecondition when removing this node's member would cost the cluster its quorum. */
  checkRemovable(nodeId: string): Promise<void>;
}

const minHeartbeatMs = 100;
const minCertExpiryMs = 3600 * 1000;

function currentCluster(tx: { list(kind: "cluster"): Cluster[] }): Cluster {
  const c = tx.list("cluster")[0];
  if (!c) throw new FailedPreconditionError("the swarm is not initialized");
  return c;
}

/** publicCluster is the cluster as shown to clients: the CA certificate, no key, no tokens. */
export function publicCluster(c: Cluster): Cluster {
  const out = clone(ClusterSchema, c);
  if (out.rootCa) {
    out.rootCa.caKeyPem = "";
    out.rootCa.joinTokens = undefined;
  }
  return out;
}

export function validateClusterSpec(spec: ClusterSpec): void {
  if (spec.heartbeatPeriodMs && spec.heartbeatPeriodMs < minHeartbeatMs) {
    throw new InvalidArgumentError(`dispatcher heartbeat period must be at least ${minHeartbeatMs}ms, got ${spec.heartbeatPeriodMs}ms`);
  }
  if (spec.nodeCertExpiryMs && spec.nodeCertExpiryMs < minCertExpiryMs) {
    throw new InvalidArgumentError(`node certificate expiry must be at least 1h, got ${Math.round(spec.nodeCertExpiryMs / 1000)}s`);
  }
  if (spec.taskHistoryRetentionLimit > 1000) throw new InvalidArgumentError("task history limit must be at most 1000");
}

export class SwarmApi {
  constructor(
    private readonly store: Store,
    private readonly membership: EtcdMembership,
    private readonly managerAddrs: () => string[],
    private readonly now: () => number = Date.now,
  ) {}

  getSwarm(): Cluster {
    return publicCluster(this.store.view((tx) => currentCluster(tx)));
  }

  /** joinToken returns the token admitting `role`, rotating it first when asked. */
  async joinToken(role: NodeRole, rotate: boolean): Promise<{ token: string; managerAddrs: string[] }> {
    if (rotate) {
      await this.store.update((tx) => {
        const next = clone(ClusterSchema, currentCluster(tx));
        this.rotate(next, role === NodeRole.MANAGER ? "manager" : "worker");
        this.touch(tx, next);
      });
    }
    const tokens = this.store.view((tx) => currentCluster(tx).rootCa?.joinTokens);
    const token = role === NodeRole.MANAGER ? tokens?.manager : tokens?.worker;
    if (!token) throw new FailedPreconditionError("this swarm has no join tokens (it was created without a CA)");
    return { token, managerAddrs: this.managerAddrs() };
  }

  /** updateSwarm replaces the cluster spec under compare-and-swap and rotates tokens on request. */
  async updateSwarm(version: number, spec: ClusterSpec | undefined, rotateWorker: boolean, rotateManager: boolean): Promise<Cluster> {
    if (spec) validateClusterSpec(spec);
    await this.store.update((tx) => {
      const current = currentCluster(tx);
      if (current.meta?.version !== version) throw new UpdateOutOfSequenceError();
      const next = clone(ClusterSchema, current);
      if (spec) next.spec = clone(ClusterSpecSchema, spec);
      if (rotateWorker) this.rotate(next, "worker");
      if (rotateManager) this.rotate(next, "manager");
      this.touch(tx, next);
    });
    return this.getSwarm();
  }

  /**
   * removeNode deletes a node from the cluster. Managers must be demoted first (their etcd member
   * goes with the demotion); a worker that is still up needs force, as in Docker. Its tasks are
   * replaced by the orchestrator, which treats tasks of unknown nodes as lost.
   */
  async removeNode(ref: string, force: boolean): Promise<void> {
    await this.store.update((tx) => {
      const node = findNode(tx, ref, "");
      const name = node.description?.hostname || node.id;
      if (node.role === NodeRole.MANAGER || node.spec?.desiredRole === NodeRole.MANAGER) {
        throw new FailedPreconditionError(`node ${name} is a manager; demote it with "tsctl node demote ${name}" before removing it`);
      }
      if (node.status?.state !== NodeState.DOWN && !force) {
        throw new FailedPreconditionError(`node ${name} is not down and can't be removed (use --force to remove it anyway)`);
      }
      tx.delete("node", node.id, node.meta?.version ?? 0);
    });
  }

  private rotate(cluster: Cluster, role: "worker" | "manager"): void {
    const ca = cluster.rootCa;
    if (!ca?.caDigest || !ca.joinTokens) throw new FailedPreconditionError("this swarm has no join tokens (it was created without a CA)");
    ca.joinTokens[role] = makeJoinToken(ca.caDigest);
  }

  private touch(tx: WriteTx, next: Cluster): void {
    next.meta = create(MetaSchema, { version: next.meta?.version ?? 0, createdAtMs: next.meta?.createdAtMs ?? 0, updatedAtMs: this.now() });
    tx.update("cluster", next);
  }
}
