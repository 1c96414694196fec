/**
 * Daemon composes a node: the local socket (the CLI's, trusted: root on this node), on managers
 * the TCP listener other nodes reach with mutual TLS, the image store and runc executor, the agent
 * (always) and the manager (on manager nodes). It owns their lifecycles: everything it starts,
 * stop() ends, except containers, which outlive tsd on purpose.
 */
import { create } from "@bufbuild/protobuf";
import { mkdir, rm } from "node:fs/promises";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import {
  ControlService,
  FailedPreconditionError,
  JoinSwarmResponseSchema,
  MembershipService,
  NodeAvailability,
  NodeRole,
  NodeService,
  NotManagerError,
  addService,
  createClient,
  grpc,
  newId,
  type InitSwarmRequest,
  type JoinSwarmRequest,
  type JoinSwarmResponse,
  type NodeDescription,
  type SessionStarted,
} from "@tsctl/api";
import {
  Manager,
  caDigest,
  createCsr,
  createRootCa,
  freePort,
  issueNodeCertificate,
  makeJoinToken,
  type ManagerOptions,
} from "@tsctl/manager";
import { Agent, FakeExecutor, createImageStore, createRuncExecutor, type Executor, type PullingImageStore } from "@tsctl/worker";
import { routedControlService } from "./control-routing.js";
import { controlService } from "./control-service.js";
import { joinCluster, withDefaultPort } from "./join.js";
import { defaultListenPort, formatHostPort, localAddressToward, parseHostPort, portFree, type HostPort } from "./listen-addr.js";
import type { Logger } from "./logger.js";
import { ImagePuller } from "./image-puller.js";
import { LeaderClient } from "./leader-client.js";
import { LeaderWatchdog } from "./leader-watchdog.js";
import { ManagerConnector } from "./manager-connector.js";
import { forgetSwarm, loadNodeState, saveNodeState, type NodeState } from "./node-state.js";
import { nodeService } from "./node-service.js";
import { registerTcpServices } from "./tcp-services.js";
import { CertificateRenewer } from "./tls/renewer.js";
import { certificatePaths, loadCertificates, saveCertificates, type NodeCertificates } from "./tls/certificate-files.js";
import { NodeCertificateProvider } from "./tls/certificate-provider.js";
import { dialManager, managerChannelCredentials, serverCredentials } from "./tls/credentials.js";
import { PeerVerifier } from "./tls/peer-identity.js";

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
  /** Registries (host[:port]) reached over plain HTTP. */
  insecureRegistries?: string[];
  /** Directory of <registry host>/ca.crt files (Docker's certs.d layout). */
  registryCertsDir?: string;
  logger: Logger;
}

/** Membership is everything a node in a swarm runs; absent while the node is in none. */
interface Membership {
  state: NodeState;
  provider: NodeCertificateProvider;
  connector: ManagerConnector;
  agent: Agent;
  renewer: CertificateRenewer;
  leaderClient: LeaderClient;
  tcp?: grpc.Server;
}

export class Daemon {
  manager: Manager | undefined;
  private watchdog: LeaderWatchdog | undefined;
  /** Set while a manager node's manager is coming up, so API calls wait instead of failing. */
  private managerStarting: Promise<Manager | undefined> | undefined;
  private member: Membership | undefined;
  private busy = false;
  readonly hostname: string;

  private constructor(
    private readonly opts: DaemonOptions,
    readonly images: PullingImageStore,
    readonly puller: ImagePuller,
    readonly executor: Executor,
    private readonly server: grpc.Server,
  ) {
    this.hostname = opts.hostname ?? osHostname();
  }

  /** Where the image store and the containers' writable layers live (for prune and disk usage). */
  get imagesRoot(): string {
    return join(this.opts.dataRoot, "images");
  }

  get containersRoot(): string {
    return join(this.opts.dataRoot, "containers");
  }

  get socketPath(): string {
    return join(this.opts.execRoot, "tsd.sock");
  }

  private get log(): Logger {
    return this.opts.logger;
  }

  static async start(opts: DaemonOptions): Promise<Daemon> {
    await mkdir(opts.dataRoot, { recursive: true, mode: 0o700 });
    await mkdir(opts.execRoot, { recursive: true, mode: 0o700 });
    const images = await createImageStore({ root: join(opts.dataRoot, "images") });
    const puller = new ImagePuller(images, { insecureRegistries: opts.insecureRegistries ?? [], certsDir: opts.registryCertsDir ?? "/etc/tsd/certs.d" });
    const executor: Executor =
      opts.executor === "fake"
        ? new FakeExecutor({ description: { hostname: opts.hostname ?? osHostname() } })
        : createRuncExecutor({
            dataRoot: opts.dataRoot,
            execRoot: opts.execRoot,
            cgroupParent: opts.cgroupParent,
            images,
            pullImage: (ref, signal, credentials) => puller.pull(ref, { signal, credentials }),
            hostname: opts.hostname,
          });
    const server = new grpc.Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024 });
    const daemon = new Daemon(opts, images, puller, executor, server);
    addService(server, ControlService, routedControlService(daemon, controlService(daemon)));
    addService(server, NodeService, nodeService(daemon));
    // A socket file left by a killed tsd would make bind fail with EADDRINUSE.
    await rm(daemon.socketPath, { force: true });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${daemon.socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    opts.logger.info("listening", { socket: daemon.socketPath });

    const state = await loadNodeState(opts.dataRoot);
    if (state) await daemon.resume(state);
    return daemon;
  }

  /** resume brings a node that was in a swarm back up: listener, manager, agent. */
  private async resume(state: NodeState): Promise<void> {
    const certs = await loadCertificates(this.opts.dataRoot);
    if (!certs) throw new Error(`swarm state exists but the node certificates are missing under ${this.opts.dataRoot}/swarm; run "tsctl swarm leave --force" on this node`);
    const provider = new NodeCertificateProvider(certs);
    const tcp = state.role === "manager" ? await this.listen(provider, state.clusterId, parseHostPort(state.listenAddr!, { host: "0.0.0.0", port: defaultListenPort }, "listen address")) : undefined;
    if (state.role === "manager") {
      // The socket is already up: calls arriving while etcd starts wait for the manager
      // (awaitManager) rather than being told this node is not a manager.
      this.managerStarting = Manager.start(this.managerOptions(state)).then(
        (m) => m,
        (err: unknown) => {
          this.log.error("manager failed to start", { err: err instanceof Error ? err.message : String(err) });
          return undefined;
        },
      );
      const manager = await this.managerStarting;
      this.managerStarting = undefined;
      if (!manager) throw new Error("the manager could not start; see the log above");
      this.managerUp(manager);
      this.log.info("manager started", { node: state.nodeId, cluster: state.clusterId });
    }
    this.member = this.startAgent(state, provider, tcp);
  }

  private managerUp(manager: Manager): void {
    this.manager = manager;
    this.watchdog = new LeaderWatchdog(manager, this.log.child("watchdog"));
    this.watchdog.start();
  }

  private async managerDown(): Promise<void> {
    this.watchdog?.stop();
    this.watchdog = undefined;
    await this.manager?.stop();
    this.manager = undefined;
  }

  /** awaitManager returns the manager, waiting for one that is starting; NotManager otherwise. */
  async awaitManager(): Promise<Manager> {
    const m = this.manager ?? (await this.managerStarting);
    if (!m) throw new NotManagerError();
    return m;
  }

  /** leaderControlClient is a Control API client to the current leader, over mutual TLS. */
  leaderControlClient(): ReturnType<LeaderClient["to"]> | undefined {
    const addr = this.manager?.leader()?.addr;
    if (!addr || !this.member) return undefined;
    return this.member.leaderClient.to(addr);
  }


  private managerOptions(state: NodeState, join?: { initialCluster: string; promote: () => Promise<void> }): ManagerOptions {
    return {
      dataRoot: this.opts.dataRoot,
      nodeId: state.nodeId,
      addr: state.managerAddr!,
      peerHost: state.advertiseAddr,
      etcd: { ...state.etcd!, initialCluster: join?.initialCluster, initialClusterState: join ? "existing" : "new", promote: join?.promote },
      tls: certificatePaths(this.opts.dataRoot),
      log: (msg) => this.log.child("manager").info(msg),
    };
  }

  /** listen opens the manager's TCP listener; port 0 picks a free port. */
  private async listen(provider: NodeCertificateProvider, clusterId: string, at: HostPort): Promise<grpc.Server> {
    const tcp = new grpc.Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024, "grpc.keepalive_permit_without_calls": 1 });
    const verifier = new PeerVerifier(() => provider.certificates.caCertPem, () => clusterId);
    registerTcpServices(tcp, this, verifier, routedControlService(this, controlService(this)));
    const port = await new Promise<number>((resolve, reject) =>
      tcp.bindAsync(formatHostPort(at), serverCredentials(provider), (err, p) => (err ? reject(new FailedPreconditionError(`cannot listen on ${formatHostPort(at)}: ${err.message}`)) : resolve(p))),
    );
    this.log.info("listening", { addr: formatHostPort({ host: at.host, port }) });
    (tcp as grpc.Server & { boundPort?: number }).boundPort = port;
    return tcp;
  }

  private startAgent(state: NodeState, provider: NodeCertificateProvider, tcp?: grpc.Server): Membership {
    const connector = new ManagerConnector(provider, state.managers, (managers) => {
      if (!this.member) return;
      this.member.state = { ...this.member.state, managers };
      saveNodeState(this.opts.dataRoot, this.member.state).catch((err: unknown) => this.log.warn("cannot save manager list", { err: String(err) }));
    });
    const agent = new Agent({
      nodeId: state.nodeId,
      addr: state.advertiseAddr,
      executor: this.executor,
      connect: () => connector.connect(),
      onSessionStarted: (s: SessionStarted) => {
        connector.learn(s.managers);
        void this.reconcileRole(s.desiredRole);
      },
      onRedirect: (r) => connector.redirect(r.leaderAddr, r.managers),
      // Managers come and go (failover, restarts): look for the leader at least once a second.
      backoff: { initialMs: 100, maxMs: 1000 },
      logger: this.log.child("agent"),
    });
    const renewer = new CertificateRenewer(
      this.opts.dataRoot,
      provider,
      () => this.manager?.leader()?.addr ?? connector.target ?? connector.list()[0]?.addr,
      this.log.child("certs"),
    );
    renewer.start();
    agent.start();
    return { state, provider, connector, agent, renewer, leaderClient: new LeaderClient(provider), tcp };
  }

  /**
   * reconcileRole follows `node promote` / `node demote`: the session tells the node the role the
   * cluster wants, and the node changes its certificate, its etcd membership and its manager to
   * match. A failure is logged; the next session (the dispatcher ends it on role changes, and
   * agents reconnect within a second) tries again.
   */
  private async reconcileRole(desired: NodeRole): Promise<void> {
    const m = this.member;
    const want = desired === NodeRole.MANAGER ? "manager" : "worker";
    if (!m || m.state.role === want || this.busy) return;
    this.busy = true;
    try {
      if (want === "manager") await this.promoteSelf(m);
      else await this.demoteSelf(m);
      this.log.info("node role changed", { role: want });
    } catch (err) {
      this.log.warn("role change failed; will retry", { role: want, err: err instanceof Error ? err.message : String(err) });
    } finally {
      this.busy = false;
    }
  }

  private async promoteSelf(m: Membership): Promise<void> {
    const leaderAddr = m.connector.target;
    if (!leaderAddr) throw new Error("no leader known");
    await m.renewer.renew();
    let listenAt = await this.managerListen("", m.state.advertiseAddr);
    if (listenAt.port === 0) listenAt = { ...listenAt, port: await freePort() };
    const managerAddr = formatHostPort({ host: m.state.advertiseAddr, port: listenAt.port });
    const state: NodeState = {
      ...m.state,
      role: "manager",
      listenAddr: formatHostPort(listenAt),
      managerAddr,
      etcd: { name: m.state.nodeId, clientPort: this.opts.etcdClientPort ?? (await freePort()), peerPort: this.opts.etcdPeerPort ?? (await freePort()) },
    };
    const tcp = await this.listen(m.provider, state.clusterId, listenAt);
    try {
      const manager = await this.joinEtcd(state, m.provider, leaderAddr);
      await manager.recordRole(state.nodeId, NodeRole.MANAGER, managerAddr);
      this.managerUp(manager);
    } catch (err) {
      tcp.forceShutdown();
      await rm(join(this.opts.dataRoot, "etcd"), { recursive: true, force: true });
      throw err;
    }
    m.tcp = tcp;
    m.state = state;
    await saveNodeState(this.opts.dataRoot, state);
  }

  /**
   * demoteSelf follows a demotion the leader already carried out (role recorded, etcd member
   * removed): stop the local manager and listener, forget the etcd data, and get a worker
   * certificate from a remaining manager.
   */
  private async demoteSelf(m: Membership): Promise<void> {
    const ownAddr = m.state.managerAddr;
    if (this.manager) {
      m.tcp?.forceShutdown();
      m.tcp = undefined;
      await this.managerDown().catch(() => undefined);
      await rm(join(this.opts.dataRoot, "etcd"), { recursive: true, force: true });
    }
    const { listenAddr: _l, managerAddr: _a, etcd: _e, ...rest } = m.state;
    m.state = { ...rest, role: "worker", managers: m.state.managers.filter((x) => x.nodeId !== m.state.nodeId) };
    await saveNodeState(this.opts.dataRoot, m.state);
    await m.renewer.renew(m.connector.target && m.connector.target !== ownAddr ? m.connector.target : m.state.managers[0]?.addr);
  }


  private async describe(): Promise<NodeDescription> {
    const description = await this.executor.describe();
    description.hostname = this.hostname;
    return description;
  }

  /** exclusive runs one membership change at a time (init, join, leave). */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy) throw new FailedPreconditionError("another swarm membership change is in progress on this node");
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
    }
  }

  private refuseIfMember(): void {
    if (this.member || this.manager) {
      throw new FailedPreconditionError('This node is already part of a swarm. Use "tsctl swarm leave" to leave this swarm and join another one.');
    }
  }

  /**
   * managerListen decides where a new manager listens: the given address, else the advertise
   * address on 2377, else (only when nothing was asked for and 2377 is taken) any free port.
   */
  private async managerListen(listenAddr: string, advertiseHost: string): Promise<HostPort> {
    if (listenAddr) return parseHostPort(listenAddr, { host: advertiseHost, port: defaultListenPort }, "listen address");
    const wanted = { host: advertiseHost, port: defaultListenPort };
    return (await portFree(wanted)) ? wanted : { host: advertiseHost, port: 0 };
  }

  /** initSwarm makes this node the first manager of a new cluster, with a new CA. */
  async initSwarm(req: InitSwarmRequest): Promise<{ nodeId: string; clusterId: string }> {
    return this.exclusive(async () => {
      this.refuseIfMember();
      const advertise = parseHostPort(req.advertiseAddr || "127.0.0.1", { host: "127.0.0.1", port: defaultListenPort }, "advertise address");
      const listenAt = await this.managerListen(req.listenAddr, advertise.host);
      const nodeId = newId();
      const clusterId = newId();
      const ca = await createRootCa({ clusterId });
      const digest = caDigest(ca.certPem);
      const { keyPem, csrPem } = await createCsr();
      const certPem = await issueNodeCertificate(ca, { csrPem, nodeId, role: "manager", clusterId, ips: [advertise.host, "127.0.0.1"], validityMs: 90 * 24 * 3600 * 1000 });
      const certs: NodeCertificates = { caCertPem: ca.certPem, certPem, keyPem };
      await saveCertificates(this.opts.dataRoot, certs);
      const provider = new NodeCertificateProvider(certs);
      let tcp: grpc.Server | undefined;
      try {
        tcp = await this.listen(provider, clusterId, listenAt);
        const port = (tcp as grpc.Server & { boundPort?: number }).boundPort!;
        const managerAddr = formatHostPort({ host: advertise.host, port });
        const state: NodeState = {
          nodeId,
          clusterId,
          role: "manager",
          advertiseAddr: advertise.host,
          listenAddr: formatHostPort({ host: listenAt.host, port }),
          managerAddr,
          managers: [{ nodeId, addr: managerAddr }],
          etcd: {
            name: nodeId,
            clientPort: this.opts.etcdClientPort ?? (await freePort()),
            peerPort: this.opts.etcdPeerPort ?? (await freePort()),
          },
        };
        // Only a manager that came up is recorded: a failed init leaves the node out of any swarm.
        const manager = await Manager.start(this.managerOptions(state), {
          clusterId,
          hostname: this.hostname,
          description: await this.describe(),
          rootCa: { caCertPem: ca.certPem, caKeyPem: ca.keyPem, caDigest: digest, joinTokens: { worker: makeJoinToken(digest), manager: makeJoinToken(digest) } } as never,
          dataPathPort: req.dataPathPort,
          spec: req.spec,
        });
        try {
          // The first manager of a cluster leads it; answering before it does would have the next
          // command (swarm join-token) told there is no leader.
          await manager.whenLeading(15_000);
          await saveNodeState(this.opts.dataRoot, state);
        } catch (err) {
          await manager.stop();
          throw err;
        }
        this.managerUp(manager);
        this.member = this.startAgent(state, provider, tcp);
        this.log.info("swarm initialized", { node: nodeId, cluster: clusterId, addr: managerAddr });
        return { nodeId, clusterId };
      } catch (err) {
        tcp?.forceShutdown();
        await forgetSwarm(this.opts.dataRoot);
        throw err;
      }
    });
  }

  /** joinSwarm admits this node to the swarm of the manager at req.remoteAddr. */
  async joinSwarm(req: JoinSwarmRequest): Promise<JoinSwarmResponse> {
    return this.exclusive(async () => {
      this.refuseIfMember();
      const remote = withDefaultPort(req.remoteAddr);
      const remoteHost = parseHostPort(remote, { host: "", port: defaultListenPort }, "manager address").host;
      const advertiseHost = req.advertiseAddr
        ? parseHostPort(req.advertiseAddr, { host: "", port: 0 }, "advertise address").host
        : await localAddressToward(remoteHost).catch(() => "127.0.0.1");
      // A manager's listener address must be known before admission: the CA names it in the
      // certificate and agents learn it from the node object.
      let listenAt = await this.managerListen(req.listenAddr, advertiseHost);
      if (listenAt.port === 0) listenAt = { ...listenAt, port: await freePort() };
      const managerAddr = formatHostPort({ host: advertiseHost, port: listenAt.port });
      const description = await this.describe();
      // The token decides the role, but only the manager knows which one it is: ask as a would-be
      // manager (address with port) and drop the port for workers.
      const admission = await joinCluster({ remoteAddr: remote, token: req.token, addr: managerAddr, availability: req.availability ?? NodeAvailability.ACTIVE, description });
      const res = admission.response;
      const isManager = res.role === NodeRole.MANAGER;
      await saveCertificates(this.opts.dataRoot, admission.certificates);
      const provider = new NodeCertificateProvider(admission.certificates);
      const state: NodeState = {
        nodeId: res.nodeId,
        clusterId: res.clusterId,
        role: isManager ? "manager" : "worker",
        advertiseAddr: advertiseHost,
        managers: res.managers.length > 0 ? res.managers.map((m) => ({ nodeId: m.nodeId, addr: m.addr })) : [{ nodeId: "", addr: remote }],
      };
      let tcp: grpc.Server | undefined;
      try {
        if (isManager) {
          state.listenAddr = formatHostPort(listenAt);
          state.managerAddr = managerAddr;
          state.etcd = {
            name: res.nodeId,
            clientPort: this.opts.etcdClientPort ?? (await freePort()),
            peerPort: this.opts.etcdPeerPort ?? (await freePort()),
          };
          tcp = await this.listen(provider, res.clusterId, listenAt);
          this.managerUp(await this.joinEtcd(state, provider, remote));
        }
        await saveNodeState(this.opts.dataRoot, state);
      } catch (err) {
        tcp?.forceShutdown();
        await this.managerDown().catch(() => undefined);
        await forgetSwarm(this.opts.dataRoot);
        throw err;
      }
      this.member = this.startAgent(state, provider, tcp);
      this.log.info("joined swarm", { node: res.nodeId, cluster: res.clusterId, role: state.role });
      return create(JoinSwarmResponseSchema, { nodeId: res.nodeId, role: res.role });
    });
  }

  /** joinEtcd adds this node's member through the remote manager and starts the local manager. */
  private async joinEtcd(state: NodeState, provider: NodeCertificateProvider, remote: string): Promise<Manager> {
    const channel = dialManager(remote, managerChannelCredentials(provider));
    const membership = createClient(MembershipService, channel);
    try {
      const peerUrl = `https://${state.advertiseAddr}:${state.etcd!.peerPort}`;
      const joined = await membership.joinEtcd({ peerUrl }, { timeoutMs: 20_000 });
      try {
        const promote = async () => void (await membership.promoteEtcd({}, { timeoutMs: 40_000 }));
        return await Manager.start(this.managerOptions(state, { initialCluster: joined.initialCluster, promote }));
      } catch (err) {
        // A member that never started would count against the quorum forever: take it out again.
        await membership.leaveEtcd({}, { timeoutMs: 10_000 }).catch(() => undefined);
        throw err;
      }
    } finally {
      channel.close();
    }
  }

  /**
   * leaveSwarm takes this node out of its swarm: tasks are stopped and removed, the etcd member (on a
   * manager) is removed through the remaining managers, and the node forgets its certificates.
   */
  async leaveSwarm(force: boolean): Promise<void> {
    return this.exclusive(async () => {
      const member = this.member;
      if (!member) throw new FailedPreconditionError("This node is not part of a swarm");
      const manager = this.manager;
      if (manager) {
        if (!force) {
          throw new FailedPreconditionError(
            'You are attempting to leave the swarm on a node that is participating as a manager. Removing this node leaves the remaining managers to keep the quorum; use "--force" to leave anyway, or demote it first.',
          );
        }
        const others = manager.managers().filter((m) => m.nodeId !== manager.nodeId);
        if (others.length > 0) await manager.removeEtcdMemberOf(manager.nodeId);
      }
      await member.agent.stop();
      member.renewer.stop();
      member.connector.close();
      member.tcp?.forceShutdown();
      await this.managerDown().catch(() => undefined);
      this.member = undefined;
      member.leaderClient.close();
      await this.removeAllContainers();
      await forgetSwarm(this.opts.dataRoot);
      this.log.info("left the swarm", { node: member.state.nodeId });
    });
  }

  /** removeAllContainers: an agent given an empty assignment set removes every container it owns. */
  private async removeAllContainers(): Promise<void> {
    const sweeper = new Agent({
      nodeId: "",
      addr: "",
      executor: this.executor,
      connect: () => {
        throw new Error("not connected");
      },
      logger: this.log.child("leave"),
    });
    await sweeper.removeEverything();
  }

  info() {
    const state = this.member?.state;
    return {
      nodeId: state?.nodeId ?? "",
      swarmState: state ? "active" : "inactive",
      isManager: this.manager !== undefined,
      clusterId: state?.clusterId ?? "",
      version,
      hostname: this.hostname,
      dataRoot: this.opts.dataRoot,
      execRoot: this.opts.execRoot,
    };
  }

  /** stop ends everything tsd started except containers, which keep running under conmon. */
  async stop(): Promise<void> {
    await this.member?.agent.stop();
    this.member?.renewer.stop();
    this.member?.connector.close();
    this.member?.leaderClient.close();
    // Open log streams (`service logs -f`) would hold a graceful shutdown forever.
    const servers = [this.server, ...(this.member?.tcp ? [this.member.tcp] : [])];
    await Promise.all(
      servers.map(async (s) => {
        const graceful = new Promise<void>((resolve) => s.tryShutdown(() => resolve()));
        const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
        await Promise.race([graceful, timeout]);
        s.forceShutdown();
      }),
    );
    await this.managerDown();
    await this.executor.dispose?.();
    await rm(this.socketPath, { force: true });
  }
}
