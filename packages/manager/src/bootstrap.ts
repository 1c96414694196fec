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
  type ClusterSpec,
  type NodeDescription,
  type RootCA,
} from "@tsctl/api";
import { defaultNodeCertExpiryMs } from "./nodeca/index.js";
import type { Store } from "./store/types.js";

/**
 * Agents beat once a second and a node is down after three missed beats: node-failure recovery
 * within ~4 s. Docker's 5 s period alone would miss that; a beat is one small message per node
 * per second, which even 1,000 nodes barely notice.
 */
export const defaultHeartbeatMs = 1000;
export const defaultTaskHistory = 5;

/** Bootstrap carries what `swarm init` writes into a new cluster's store. */
export interface Bootstrap {
  clusterId: string;
  hostname: string;
  description?: NodeDescription;
  /** The cluster CA and join tokens, made by the initializing node. */
  rootCa?: RootCA;
  dataPathPort?: number;
  /** Cluster spec values given to `swarm init`; unset ones keep the defaults. */
  spec?: Partial<Pick<ClusterSpec, "heartbeatPeriodMs" | "taskHistoryRetentionLimit" | "nodeCertExpiryMs">>;
}

export const defaultDataPathPort = 4789;

export async function writeBootstrap(store: Store, b: Bootstrap & { nodeId: string; advertiseAddr: string; managerAddr: string }): Promise<void> {
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
          heartbeatPeriodMs: b.spec?.heartbeatPeriodMs || defaultHeartbeatMs,
          taskHistoryRetentionLimit: b.spec?.taskHistoryRetentionLimit || defaultTaskHistory,
          nodeCertExpiryMs: b.spec?.nodeCertExpiryMs || defaultNodeCertExpiryMs,
        }),
        rootCa: b.rootCa,
        dataPathPort: b.dataPathPort || defaultDataPathPort,
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
        managerStatus: create(ManagerStatusSchema, { leader: true, reachability: Reachability.REACHABLE, addr: opts.managerAddr }),
      }),
    );
  });
}
