/**
 * writeBootstrap writes what `swarm init` puts into a new cluster's store: the Cluster object with
 * its defaults, and the first node as the leading manager. It is idempotent: a cluster that
 * already exists is left alone, so a crash between init steps can simply run it again.
 */
import { create } from "@bufbuild/protobuf";
import {
  AnnotationsSchema,
  ClusterSchema,
  ClusterSpecSchema,
  ManagerStatusSchema,
  MetaSchema,
  NodeRole,
  NodeSchema,
  NodeSpecSchema,
  NodeStatusSchema,
  NodeState,
  Reachability,
  type NodeDescription,
} from "@tsctl/api";
import type { Store } from "./store/types.js";

export const defaultHeartbeatMs = 5000;
export const defaultTaskHistory = 5;

/** Bootstrap carries what `swarm init` writes into a new cluster's store. */
export interface Bootstrap {
  clusterId: string;
  hostname: string;
  description?: NodeDescription;
}

export async function writeBootstrap(store: Store, b: Bootstrap & { nodeId: string; advertiseAddr: string }): Promise<void> {
  const opts = b;
  const now = Date.now();
  const meta = () => create(MetaSchema, { createdAtMs: now, updatedAtMs: now });
  await store.update((tx) => {
    if (tx.list("cluster").length > 0) return;
    tx.create(
      "cluster",
      create(ClusterSchema, {
        id: b.clusterId,
        meta: meta(),
        spec: create(ClusterSpecSchema, {
          annotations: create(AnnotationsSchema, { name: "default" }),
          heartbeatPeriodMs: defaultHeartbeatMs,
          taskHistoryRetentionLimit: defaultTaskHistory,
        }),
      }),
    );
    tx.create(
      "node",
      create(NodeSchema, {
        id: opts.nodeId,
        meta: meta(),
        role: NodeRole.MANAGER,
        spec: create(NodeSpecSchema, { desiredRole: NodeRole.MANAGER, annotations: create(AnnotationsSchema, {}) }),
        description: b.description ?? { hostname: b.hostname },
        status: create(NodeStatusSchema, { state: NodeState.UNKNOWN, addr: opts.advertiseAddr }),
        managerStatus: create(ManagerStatusSchema, { leader: true, reachability: Reachability.REACHABLE, addr: opts.advertiseAddr }),
      }),
    );
  });
}
