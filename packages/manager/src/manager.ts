/**
 * Manager runs the manager role of a node: it supervises the local etcd member, opens the store
 * over it, campaigns for leadership, and while it leads runs the controllers (orchestrator,
 * scheduler, task reaper, dispatcher). Followers keep the store's in-memory copy warm, so taking
 * over costs no full load. All state lives in etcd, so stopping at any point and starting again
 * converges.
 */
import { join } from "node:path";
import { clone, create } from "@bufbuild/protobuf";
import { FailedPreconditionError, ManagerStatusSchema, NodeRole, NodeSchema, PermissionDeniedError, type Cluster, type Node, type NodeSpec } from "@tsctl/api";
import { ControlApi, SwarmApi, findNode } from "./controlapi/index.js";
import { Dispatcher, type ManagerPeer } from "./dispatcher/index.js";
import { DEFAULT_LEADER_KEY, evictLeader, startElection, type Election, type LeaderInfo } from "./election/index.js";
import { startEtcd, type EtcdHandle } from "./etcd/index.js";
import { addMember, listMembers, promoteMember, removeMember, wouldLoseQuorum, type EtcdMember } from "./etcd/membership.js";
import { Orchestrator } from "./orchestrator/index.js";
import { startPresence, type Presence } from "./presence.js";
import { TaskReaper } from "./reaper/index.js";
import { Scheduler } from "./scheduler/index.js";
import { defaultHeartbeatMs, defaultTaskHistory, writeBootstrap, type Bootstrap } from "./bootstrap.js";
import { managerSanDns } from "./ca/index.js";
import { NodeCa } from "./nodeca/index.js";
import { EtcdBackend, openStore } from "./store/index.js";
import { FencedBackend } from "./store/fenced-backend.js";
import type { Store } from "./store/types.js";

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface ManagerOptions {
  dataRoot: string;
  nodeId: string;
  /** host:port of this manager's gRPC listener: what the leader key and agents carry. */
  addr: string;
  /** Host etcd peers reach this member at (the node's advertise address). */
  peerHost: string;
  etcd: {
    name: string;
    clientPort: number;
    peerPort: number;
    /** Set when joining an existing cluster (from JoinEtcd); a new cluster has just this member. */
    initialCluster?: string;
    initialClusterState?: "new" | "existing";
    /** A joining member starts as a learner; this makes it a voter before the store opens. */
    promote?: () => Promise<void>;
  };
  /** The node's certificate files; without them etcd speaks plain http (tests only). */
  tls?: TlsFiles;
  log?: (msg: string) => void;
}

export type { Bootstrap } from "./bootstrap.js";

// etcd refuses txns above --max-txn-ops; raised so a scheduling round fits in few transactions.
const maxTxnOps = 4096;

/**
 * Raft timing. A cluster's managers sit on one LAN: half of etcd's defaults (100 ms / 1 s) still
 * leaves ten heartbeats per election timeout, and the raft election is most of a failover when
 * the dead manager's member was the raft leader (the watchdog's eviction needs a raft leader).
 */
export const etcdHeartbeatMs = 50;
export const etcdElectionTimeoutMs = 500;
/**
 * Leader lease TTL. etcd's floor would be 1 s with this timing, but the leader steps down after
 * 2/3 of the TTL without a confirmed keepalive, and a busy manager's event loop can stall for
 * longer than 0.67 s; 2 s keeps leadership steady, and the watchdog makes the TTL irrelevant when
 * a leader's tsd dies.
 */
export const leaderLeaseTtlSeconds = 2;

interface Controller {
  start(): void;
  stop(): Promise<void> | void;
}

export class Manager {
  private term: { dispatcher: Dispatcher; controllers: Controller[] } | undefined;
  private transition: Promise<void> = Promise.resolve();
  private stopped = false;
  readonly nodeCa: NodeCa;
  readonly swarmApi: SwarmApi;

  private constructor(
    private readonly opts: ManagerOptions,
    readonly store: Store,
    readonly controlApi: ControlApi,
    private readonly backend: EtcdBackend,
    private readonly fenced: FencedBackend,
    private readonly etcd: EtcdHandle,
    readonly election: Election,
    readonly presence: Presence,
  ) {
    this.nodeCa = new NodeCa(store);
    this.swarmApi = new SwarmApi(store, { checkRemovable: (id) => this.checkRemovable(id) }, () => this.managers().map((m) => m.addr));
  }

  /** start brings the manager up; with bootstrap it first writes the new cluster's objects. */
  static async start(opts: ManagerOptions, bootstrap?: Bootstrap): Promise<Manager> {
    const log = opts.log ?? (() => undefined);
    const scheme = opts.tls ? "https" : "http";
    const etcd = await startEtcd({
      name: opts.etcd.name,
      dataDir: join(opts.dataRoot, "etcd"),
      host: "127.0.0.1",
      peerHost: opts.peerHost,
      clientPort: opts.etcd.clientPort,
      peerPort: opts.etcd.peerPort,
      maxTxnOps,
      initialCluster: opts.etcd.initialCluster ?? `${opts.etcd.name}=${scheme}://${opts.peerHost}:${opts.etcd.peerPort}`,
      initialClusterState: opts.etcd.initialClusterState ?? "new",
      logFile: join(opts.dataRoot, "etcd.log"),
      tls: opts.tls && { ...opts.tls, serverName: managerSanDns },
      heartbeatIntervalMs: etcdHeartbeatMs,
      electionTimeoutMs: etcdElectionTimeoutMs,
      log,
    });
    let backend: EtcdBackend | undefined;
    let fenced: FencedBackend | undefined;
    let store: Store | undefined;
    try {
      // Learners refuse linearizable reads: the store can only open on a voting member.
      await opts.etcd.promote?.();
      // Checked against the manager SAN, not 127.0.0.1: no IP address is sent as the TLS server name.
      backend = new EtcdBackend({ endpoints: [etcd.endpoint], maxTxnOps, tls: opts.tls && { ...opts.tls, serverName: managerSanDns } });
      fenced = new FencedBackend(backend);
      store = await openStore(fenced);
      if (bootstrap) await writeBootstrap(store, { nodeId: opts.nodeId, advertiseAddr: opts.peerHost, managerAddr: opts.addr, ...bootstrap });
      const controlApi = new ControlApi(store, opts.nodeId);
      const self: LeaderInfo = { nodeId: opts.nodeId, addr: opts.addr };
      const presence = startPresence(backend.client, { nodeId: opts.nodeId, ttlSeconds: leaderLeaseTtlSeconds });
      const election = startElection(backend.client, { self, ttlSeconds: leaderLeaseTtlSeconds, log });
      const manager = new Manager(opts, store, controlApi, backend, fenced, etcd, election, presence);
      controlApi.managerView = () => manager.managerView();
      election.onChange((_leader, isSelf) => manager.onLeadership(isSelf));
      if (election.isLeader) manager.onLeadership(true);
      return manager;
    } catch (err) {
      await store?.close().catch(() => undefined);
      await etcd.stop();
      throw err;
    }
  }

  get nodeId(): string {
    return this.opts.nodeId;
  }

  get isLeader(): boolean {
    return this.election.isLeader && this.term !== undefined;
  }

  /** whenLeading resolves once this manager leads (its controllers running), or throws after timeoutMs. */
  async whenLeading(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.isLeader) {
      if (Date.now() > deadline) throw new Error(`this manager did not become the leader within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * leader is the current leader as this manager last saw it; undefined while this manager is cut
   * off from the etcd majority (what it last saw may be stale, and nothing could commit anyway).
   */
  leader(): LeaderInfo | undefined {
    if (!this.election.isLeader && !this.presence.inQuorum()) return undefined;
    return this.election.leader();
  }

  /** evictLeader ends the lease of a leader whose process is known to be gone (see LeaderWatchdog). */
  evictLeader(leader: LeaderInfo): Promise<boolean> {
    return evictLeader(this.backend.client, leader);
  }

  /** dispatcher serves agent sessions; only the leader has one. */
  get dispatcher(): Dispatcher | undefined {
    return this.term?.dispatcher;
  }

  cluster(): Cluster | undefined {
    return this.store.view((tx) => tx.list("cluster")[0]);
  }

  /** managers lists every manager's listener address, the leader first. */
  managers(): ManagerPeer[] {
    const leaderId = this.leader()?.nodeId;
    const list = this.store.view((tx) =>
      tx
        .list("node")
        .filter((n) => n.role === NodeRole.MANAGER && n.managerStatus?.addr)
        .map((n) => ({ nodeId: n.id, addr: n.managerStatus!.addr })),
    );
    return list.sort((a, b) => Number(b.nodeId === leaderId) - Number(a.nodeId === leaderId) || a.nodeId.localeCompare(b.nodeId));
  }

  /** managerView is what `node ls` shows in MANAGER STATUS: who leads, who holds a live lease. */
  managerView(): { leaderId: string | undefined; reachable: Set<string> } {
    return { leaderId: this.leader()?.nodeId, reachable: this.presence.alive() };
  }

  /** Membership of the etcd cluster, for joins, demotions and removals. */
  listEtcdMembers(): Promise<EtcdMember[]> {
    return listMembers(this.backend.client);
  }

  removeEtcdMember(id: string): Promise<void> {
    return removeMember(this.backend.client, id);
  }

  /**
   * checkRemovable refuses to take a manager's member out of etcd when the members left, counting
   * only those whose managers are alive, would not be a majority.
   */
  async checkRemovable(nodeId: string): Promise<void> {
    const members = await this.listEtcdMembers();
    const member = members.find((m) => m.name === nodeId);
    if (!member) return;
    const alive = this.presence.alive();
    const healthy = new Set(members.filter((m) => alive.has(m.name)).map((m) => m.id));
    if (wouldLoseQuorum(members, healthy, member.id)) {
      throw new FailedPreconditionError(
        `removing manager ${nodeId} would leave the swarm without a quorum of managers (${healthy.size} of ${members.length} reachable); bring the unreachable managers back first`,
      );
    }
  }

  /**
   * admitEtcdMember adds a joining manager's etcd member as a learner: until it runs and is
   * promoted it does not count toward the quorum, so a join that fails half-way cannot leave the
   * cluster waiting for a member that never comes. Nothing else is written in between (a write
   * would need the quorum the join is changing).
   */
  async admitEtcdMember(nodeId: string, peerUrl: string): Promise<{ memberName: string; initialCluster: string; memberId: string }> {
    const node = this.store.view((tx) => tx.get("node", nodeId));
    if (!node || node.spec?.desiredRole !== NodeRole.MANAGER) throw new PermissionDeniedError(`node ${nodeId} is not a manager of this swarm`);
    const existing = (await this.listEtcdMembers()).find((m) => m.name === nodeId || m.peerUrls.includes(peerUrl));
    // A retry after a crash finds its member already added: remove it so the restart is clean.
    if (existing) await this.removeEtcdMember(existing.id);
    const { member, initialCluster } = await addMember(this.backend.client, nodeId, peerUrl, { learner: true });
    return { memberName: nodeId, initialCluster, memberId: member.id };
  }

  /** promoteEtcdMember makes a joined manager's learner a voting member once it has caught up. */
  async promoteEtcdMember(nodeId: string): Promise<void> {
    const member = (await this.listEtcdMembers()).find((m) => m.name === nodeId);
    if (!member) throw new FailedPreconditionError(`node ${nodeId} has no etcd member to promote (it has not started yet)`);
    await promoteMember(this.backend.client, member.id, { waitMs: 30_000 });
  }

  /** removeEtcdMemberOf takes a manager's member out of etcd, refusing when quorum would go. */
  async removeEtcdMemberOf(nodeId: string): Promise<void> {
    await this.checkRemovable(nodeId);
    const member = (await this.listEtcdMembers()).find((m) => m.name === nodeId);
    if (member) await this.removeEtcdMember(member.id);
  }

  /**
   * recordRole writes the role a node now has (after it joined or left the etcd membership) and,
   * for a manager, the address agents reach it at.
   */
  async recordRole(nodeId: string, role: NodeRole, addr: string): Promise<void> {
    await this.store.update((tx) => {
      const node = tx.get("node", nodeId);
      if (!node) throw new PermissionDeniedError(`node ${nodeId} is not part of this swarm`);
      const next = clone(NodeSchema, node);
      next.role = role;
      next.managerStatus = role === NodeRole.MANAGER ? create(ManagerStatusSchema, { addr }) : undefined;
      tx.update("node", next);
    });
  }

  /**
   * updateNode changes a node's spec. A demotion is carried out here, on the leader, while the
   * cluster can still commit it: quorum checked, the node recorded as a worker, then its etcd
   * member removed. The demoted node only has to stop its manager when it hears of it; it never
   * has to change the membership itself from a member that is going away.
   */
  async updateNode(ref: string, version: number, spec: NodeSpec | undefined): Promise<Node> {
    const node = this.store.view((tx) => findNode(tx, ref, this.opts.nodeId));
    const demoting = node.spec?.desiredRole === NodeRole.MANAGER && spec?.desiredRole === NodeRole.WORKER;
    if (demoting) {
      const managers = this.store.view((tx) => tx.list("node").filter((n) => n.spec?.desiredRole === NodeRole.MANAGER));
      if (managers.length <= 1) throw new FailedPreconditionError("cannot demote the last manager of the swarm");
      await this.checkRemovable(node.id);
    }
    const updated = await this.controlApi.updateNode(ref, version, spec);
    if (demoting) {
      await this.recordRole(node.id, NodeRole.WORKER, "");
      // Demoting itself, the leader hands over first so the others need not wait for its lease.
      if (node.id === this.opts.nodeId) await this.election.resign().catch(() => undefined);
      const member = (await this.listEtcdMembers()).find((m) => m.name === node.id);
      if (member) await this.removeEtcdMember(member.id);
    }
    return this.controlApi.getNode(updated.id);
  }

  private onLeadership(isLeader: boolean): void {
    // Transitions run one after another: stepping down must finish before leading again.
    this.transition = this.transition.then(async () => {
      if (this.stopped) return;
      const held = this.election.heldKeyRevision;
      if (isLeader && this.election.isLeader && held !== undefined && !this.term) this.lead(Number(held));
      else if (!this.election.isLeader && this.term) await this.stepDown();
    });
  }

  private lead(leaderKeyRevision: number): void {
    // Every write made while leading is fenced on the leader key (see FencedBackend).
    this.fenced.setFence({ key: DEFAULT_LEADER_KEY, modRevision: leaderKeyRevision });
    const store = this.store;
    const cluster = () => this.cluster();
    const heartbeatPeriodMs = () => Number(cluster()?.spec?.heartbeatPeriodMs || defaultHeartbeatMs);
    const retention = () => Number(cluster()?.spec?.taskHistoryRetentionLimit || defaultTaskHistory);
    const dispatcher = new Dispatcher(store, { heartbeatPeriodMs, managers: () => this.managers() });
    const controllers: Controller[] = [dispatcher, new Orchestrator(store), new Scheduler(store, { isConnected: (id) => dispatcher.isConnected(id) }), new TaskReaper(store, { retentionLimit: retention })];
    for (const c of controllers) c.start();
    this.term = { dispatcher, controllers };
    this.opts.log?.(`node ${this.opts.nodeId} is now the leader`);
  }

  private async stepDown(): Promise<void> {
    const term = this.term;
    this.term = undefined;
    if (!term) return;
    for (const c of [...term.controllers].reverse()) await c.stop();
    this.fenced.setFence(undefined);
    this.opts.log?.(`node ${this.opts.nodeId} is no longer the leader`);
  }

  /**
   * stop resigns leadership (so another manager takes over at once) and stops etcd. Steps that
   * need the etcd quorum are bounded: without a quorum (the last managers stopping) they cannot
   * finish, and a stop must still end.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await within(this.transition, 3000);
    await within(this.stepDown(), 3000);
    await within(this.election.resign().catch(() => undefined), 1500);
    await within(this.election.stop().catch(() => undefined), 1500);
    await within(this.presence.stop().catch(() => undefined), 1500);
    await within(this.store.close(), 1500);
    await this.etcd.stop();
  }
}

/** within waits for p, but no longer than ms; whatever p does later is ignored. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.then(() => undefined, () => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
