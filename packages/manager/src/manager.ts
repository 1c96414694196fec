/**
 * Manager runs the manager role of a node: it supervises the local etcd member, opens the store
 * over it, and runs the controllers (orchestrator, scheduler, task reaper, dispatcher). The
 * Control API logic is exposed for tsd's gRPC layer. All state lives in etcd, so stopping at any
 * point and starting again converges.
 */
import { join } from "node:path";
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
  type Cluster,
  type NodeDescription,
} from "@tsctl/api";
import { ControlApi } from "./controlapi/index.js";
import { Dispatcher } from "./dispatcher/index.js";
import { startEtcd, type EtcdHandle } from "./etcd/index.js";
import { Orchestrator } from "./orchestrator/index.js";
import { TaskReaper } from "./reaper/index.js";
import { Scheduler } from "./scheduler/index.js";
import { EtcdBackend, openStore } from "./store/index.js";
import type { Store } from "./store/types.js";

export interface ManagerOptions {
  dataRoot: string;
  nodeId: string;
  /** Address other nodes reach this manager at; also etcd's peer host. */
  advertiseAddr: string;
  etcd: { name: string; clientPort: number; peerPort: number; host?: string };
  log?: (msg: string) => void;
}

/** Bootstrap carries what `swarm init` writes into a new cluster's store. */
export interface Bootstrap {
  clusterId: string;
  hostname: string;
  description?: NodeDescription;
}

const defaultHeartbeatMs = 5000;
const defaultTaskHistory = 5;
// etcd refuses txns above --max-txn-ops; raised so a scheduling round fits in few transactions.
const maxTxnOps = 4096;

export class Manager {
  private constructor(
    readonly store: Store,
    readonly controlApi: ControlApi,
    readonly dispatcher: Dispatcher,
    private readonly etcd: EtcdHandle,
    private readonly controllers: { start(): void; stop(): Promise<void> | void }[],
  ) {}

  /** start brings the manager up; with bootstrap it first writes the new cluster's objects. */
  static async start(opts: ManagerOptions, bootstrap?: Bootstrap): Promise<Manager> {
    const etcd = await startEtcd({
      name: opts.etcd.name,
      dataDir: join(opts.dataRoot, "etcd"),
      host: opts.etcd.host ?? "127.0.0.1",
      clientPort: opts.etcd.clientPort,
      peerPort: opts.etcd.peerPort,
      maxTxnOps,
      initialClusterState: "new",
      logFile: join(opts.dataRoot, "etcd.log"),
    });
    let store: Store | undefined;
    try {
      store = await openStore(new EtcdBackend({ endpoints: [etcd.endpoint], maxTxnOps }));
      if (bootstrap) await writeBootstrap(store, opts, bootstrap);
      const cluster = () => store!.view((tx) => tx.list("cluster")[0]);
      const heartbeatPeriodMs = () => Number(cluster()?.spec?.heartbeatPeriodMs || defaultHeartbeatMs);
      const dispatcher = new Dispatcher(store, { heartbeatPeriodMs });
      const controlApi = new ControlApi(store, opts.nodeId);
      const retention = () => Number(cluster()?.spec?.taskHistoryRetentionLimit || defaultTaskHistory);
      const controllers = [
        dispatcher,
        new Orchestrator(store),
        new Scheduler(store),
        new TaskReaper(store, { retentionLimit: retention }),
      ];
      for (const c of controllers) c.start();
      return new Manager(store, controlApi, dispatcher, etcd, controllers);
    } catch (err) {
      await store?.close().catch(() => undefined);
      await etcd.stop();
      throw err;
    }
  }

  cluster(): Cluster | undefined {
    return this.store.view((tx) => tx.list("cluster")[0]);
  }

  async stop(): Promise<void> {
    for (const c of [...this.controllers].reverse()) await c.stop();
    await this.store.close();
    await this.etcd.stop();
  }
}

async function writeBootstrap(store: Store, opts: ManagerOptions, b: Bootstrap): Promise<void> {
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
