/**
 * Manager runs the manager role of a node: it supervises the local etcd member, opens the store
 * over it, and runs the controllers (orchestrator, scheduler, task reaper, dispatcher). The
 * Control API logic is exposed for tsd's gRPC layer. All state lives in etcd, so stopping at any
 * point and starting again converges.
 */
import { join } from "node:path";
import type { Cluster } from "@tsctl/api";
import { ControlApi } from "./controlapi/index.js";
import { Dispatcher } from "./dispatcher/index.js";
import { startEtcd, type EtcdHandle } from "./etcd/index.js";
import { Orchestrator } from "./orchestrator/index.js";
import { TaskReaper } from "./reaper/index.js";
import { Scheduler } from "./scheduler/index.js";
import { defaultHeartbeatMs, defaultTaskHistory, writeBootstrap, type Bootstrap } from "./bootstrap.js";
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

export type { Bootstrap } from "./bootstrap.js";

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
      if (bootstrap) await writeBootstrap(store, { nodeId: opts.nodeId, advertiseAddr: opts.advertiseAddr, ...bootstrap });
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
