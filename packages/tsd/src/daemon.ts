/**
 * Daemon composes a node: the gRPC server on the local socket, the image store and runc executor,
 * the agent (always) and the manager (on manager nodes). It owns their lifecycles: everything it
 * starts, stop() ends, except containers, which outlive tsd on purpose.
 */
import { mkdir, rm } from "node:fs/promises";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import {
  ControlService,
  DispatcherService,
  FailedPreconditionError,
  NodeService,
  NotManagerError,
  addService,
  createClient,
  dial,
  grpc,
  newId,
  type InitSwarmRequest,
} from "@tsctl/api";
import { Manager, freePort } from "@tsctl/manager";
import { Agent, FakeExecutor, createImageStore, createRuncExecutor, type Executor, type ImageStore } from "@tsctl/worker";
import { controlService } from "./control-service.js";
import type { Logger } from "./logger.js";
import { loadNodeState, saveNodeState, type NodeState } from "./node-state.js";
import { nodeService } from "./node-service.js";

export const version = "0.1.0";

export interface DaemonOptions {
  dataRoot: string;
  execRoot: string;
  cgroupParent: string;
  hostname?: string;
  etcdClientPort?: number;
  etcdPeerPort?: number;
  /** "runc" runs real containers; "fake" simulates them (for simulated-scale benches and tests). */
  executor?: "runc" | "fake";
  logger: Logger;
}

export class Daemon {
  manager: Manager | undefined;
  /** Set while a manager node's manager is coming up, so API calls wait instead of failing. */
  private managerStarting: Promise<Manager | undefined> | undefined;
  private agent: Agent | undefined;
  private state: NodeState | undefined;
  private initializing = false;
  readonly hostname: string;

  private constructor(
    private readonly opts: DaemonOptions,
    readonly images: ImageStore,
    readonly executor: Executor,
    private readonly server: grpc.Server,
  ) {
    this.hostname = opts.hostname ?? osHostname();
  }

  get socketPath(): string {
    return join(this.opts.execRoot, "tsd.sock");
  }

  static async start(opts: DaemonOptions): Promise<Daemon> {
    await mkdir(opts.dataRoot, { recursive: true, mode: 0o700 });
    await mkdir(opts.execRoot, { recursive: true, mode: 0o700 });
    const images = await createImageStore({ root: join(opts.dataRoot, "images") });
    const executor: Executor =
      opts.executor === "fake"
        ? new FakeExecutor({ description: { hostname: opts.hostname ?? osHostname() } })
        : createRuncExecutor({
            dataRoot: opts.dataRoot,
            execRoot: opts.execRoot,
            cgroupParent: opts.cgroupParent,
            images,
            hostname: opts.hostname,
          });
    const server = new grpc.Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024 });
    const daemon = new Daemon(opts, images, executor, server);
    addService(server, ControlService, controlService(daemon));
    addService(server, NodeService, nodeService(daemon));
    addService(server, DispatcherService, {
      session: async function* (reqs, ctx) {
        const manager = await daemon.awaitManager();
        yield* manager.dispatcher.session(reqs, ctx);
      },
    });
    // A socket file left by a killed tsd would make bind fail with EADDRINUSE.
    await rm(daemon.socketPath, { force: true });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${daemon.socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    opts.logger.info("listening", { socket: daemon.socketPath });

    daemon.state = await loadNodeState(opts.dataRoot);
    if (daemon.state) await daemon.joinExisting(daemon.state);
    return daemon;
  }

  private async joinExisting(state: NodeState): Promise<void> {
    if (state.role === "manager") {
      // The socket is already up: calls arriving while etcd starts wait for the manager
      // (awaitManager) rather than being told this node is not a manager.
      this.managerStarting = Manager.start(this.managerOptions(state)).then(
        (m) => m,
        (err: unknown) => {
          this.opts.logger.error("manager failed to start", { err: err instanceof Error ? err.message : String(err) });
          return undefined;
        },
      );
      this.manager = await this.managerStarting;
      this.managerStarting = undefined;
      if (!this.manager) throw new Error("the manager could not start; see the log above");
      this.opts.logger.info("manager started", { node: state.nodeId, cluster: state.clusterId });
    }
    this.startAgent(state);
  }

  /** awaitManager returns the manager, waiting for one that is starting; NotManager otherwise. */
  async awaitManager(): Promise<Manager> {
    const m = this.manager ?? (await this.managerStarting);
    if (!m) throw new NotManagerError();
    return m;
  }

  private managerOptions(state: NodeState) {
    return {
      dataRoot: this.opts.dataRoot,
      nodeId: state.nodeId,
      advertiseAddr: state.advertiseAddr,
      etcd: state.etcd,
    };
  }

  private startAgent(state: NodeState): void {
    // The agent reaches the manager like any remote agent would, over gRPC; here through the
    // local socket, since this node is its own manager.
    const raw = dial(`unix://${this.socketPath}`);
    const client = createClient(DispatcherService, raw);
    this.agent = new Agent({
      nodeId: state.nodeId,
      addr: state.advertiseAddr,
      executor: this.executor,
      connect: () => client.session(),
      logger: this.opts.logger.child("agent"),
    });
    this.agent.start();
  }

  /** initSwarm makes this node the first manager of a new cluster. */
  async initSwarm(req: InitSwarmRequest): Promise<{ nodeId: string; clusterId: string }> {
    if (this.state || this.initializing) {
      throw new FailedPreconditionError(
        'This node is already part of a swarm. Use "tsctl swarm leave" to leave this swarm and join another one.',
      );
    }
    this.initializing = true;
    try {
      const nodeId = newId();
      const state: NodeState = {
        nodeId,
        clusterId: newId(),
        role: "manager",
        advertiseAddr: (req.advertiseAddr || "127.0.0.1").replace(/:\d+$/, ""),
        etcd: {
          name: nodeId.slice(0, 12),
          clientPort: this.opts.etcdClientPort ?? (await freePort()),
          peerPort: this.opts.etcdPeerPort ?? (await freePort()),
        },
      };
      const description = await this.executor.describe();
      description.hostname = this.hostname;
      // Only a manager that came up is recorded: a failed init leaves the node out of any swarm,
      // with no half-made etcd member behind to confuse the next attempt.
      let manager: Manager;
      try {
        manager = await Manager.start(this.managerOptions(state), { clusterId: state.clusterId, hostname: this.hostname, description });
      } catch (err) {
        await rm(join(this.opts.dataRoot, "etcd"), { recursive: true, force: true });
        throw err;
      }
      try {
        await saveNodeState(this.opts.dataRoot, state);
      } catch (err) {
        await manager.stop();
        await rm(join(this.opts.dataRoot, "etcd"), { recursive: true, force: true });
        throw err;
      }
      this.manager = manager;
      this.state = state;
      this.startAgent(state);
      this.opts.logger.info("swarm initialized", { node: nodeId, cluster: state.clusterId });
      return { nodeId, clusterId: state.clusterId };
    } finally {
      this.initializing = false;
    }
  }

  info() {
    return {
      nodeId: this.state?.nodeId ?? "",
      swarmState: this.state ? "active" : "inactive",
      isManager: this.manager !== undefined,
      clusterId: this.state?.clusterId ?? "",
      version,
      hostname: this.hostname,
      dataRoot: this.opts.dataRoot,
      execRoot: this.opts.execRoot,
    };
  }

  /** stop ends everything tsd started except containers, which keep running under conmon. */
  async stop(): Promise<void> {
    await this.agent?.stop();
    // Open log streams (`service logs -f`) would hold a graceful shutdown forever.
    const graceful = new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
    await Promise.race([graceful, timeout]);
    this.server.forceShutdown();
    await this.manager?.stop();
    await this.executor.dispose?.();
    await rm(this.socketPath, { force: true });
  }
}
