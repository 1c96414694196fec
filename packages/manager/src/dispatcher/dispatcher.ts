/**
 * Dispatcher serves agent sessions: it registers the node, streams the tasks assigned to it
 * (a full set, then changes), takes heartbeats and batched status reports, and routes log
 * subscriptions to the node that holds the logs.
 */
import { clone, create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  FailedPreconditionError,
  NodeSchema,
  PermissionDeniedError,
  NodeState,
  NodeStatusSchema,
  TaskState,
  UnavailableError,
  AsyncQueue,
  newId,
  type AgentMessage,
  type CallContext,
  type LogChunk,
  type ManagerMessageSchema,
  type Register,
  type Task,
} from "@tsctl/api";

/** ManagerPeer names a manager and the address of its gRPC listener. */
export interface ManagerPeer {
  nodeId: string;
  addr: string;
}
import type { Store, StoreEvent } from "../store/types.js";

import { NodeHealth } from "./node-health.js";
import { StatusWriter } from "./status-writer.js";

type Outgoing = MessageInitShape<typeof ManagerMessageSchema>;

export interface DispatcherOptions {
  heartbeatPeriodMs?: () => number;
  now?: () => number;
  /** Every manager, the leader first: sent to agents so they can fail over. */
  managers?: () => ManagerPeer[];
}

interface Session {
  id: string;
  nodeId: string;
  out: AsyncQueue<Outgoing>;
  /** Desired state last sent per task: only desired-state changes are re-sent. */
  sent: Map<string, TaskState>;
  logs: Map<string, AsyncQueue<LogChunk>>;
}

/** assignedTo tells whether a task is part of a node's assignment set. */
function assignedTo(task: Task, nodeId: string): boolean {
  return task.nodeId === nodeId && (task.status?.state ?? 0) >= TaskState.ASSIGNED;
}

export class Dispatcher {
  private readonly sessions = new Map<string, Session>();
  private readonly statuses: StatusWriter;
  private readonly health: NodeHealth;
  private readonly heartbeatPeriodMs: () => number;
  private readonly managers: () => ManagerPeer[];
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: Store,
    opts: DispatcherOptions = {},
  ) {
    this.heartbeatPeriodMs = opts.heartbeatPeriodMs ?? (() => 5000);
    this.managers = opts.managers ?? (() => []);
    this.statuses = new StatusWriter(store);
    this.health = new NodeHealth(store, this.heartbeatPeriodMs, opts.now);
  }

  start(): void {
    this.health.start();
    this.unsubscribe = this.store.subscribe((events) => this.onStoreEvents(events));
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.health.stop();
    for (const s of this.sessions.values()) s.out.close();
    this.sessions.clear();
    await this.statuses.stop();
  }

  /**
   * session is the DispatcherService.Session handler. callerNodeId, when given, is the node id of
   * the caller's certificate: a node may only register as itself.
   */
  async *session(reqs: AsyncIterable<AgentMessage>, ctx: CallContext, callerNodeId?: string): AsyncIterable<Outgoing> {
    const iter = reqs[Symbol.asyncIterator]();
    const first = await iter.next();
    if (first.done || first.value.msg.case !== "register") {
      throw new FailedPreconditionError("the first message of a session must be register");
    }
    const register = first.value.msg.value;
    if (callerNodeId !== undefined && register.nodeId !== callerNodeId) {
      throw new PermissionDeniedError(`permission denied: node ${callerNodeId} cannot register as node ${register.nodeId}`);
    }
    const session: Session = { id: newId(), nodeId: register.nodeId, out: new AsyncQueue(), sent: new Map(), logs: new Map() };
    // A node has one session: a reconnect replaces the old one. It is in place before the node is
    // marked READY, so the scheduler pass that READY triggers already sees the node connected.
    this.sessions.get(register.nodeId)?.out.close();
    this.sessions.set(register.nodeId, session);
    try {
      await this.registerNode(register);
    } catch (err) {
      this.endSession(session);
      throw err;
    }
    this.health.beat(register.nodeId);

    const desiredRole = this.store.view((tx) => tx.get("node", register.nodeId)?.spec?.desiredRole);
    session.out.push({
      msg: {
        case: "sessionStarted",
        value: { sessionId: session.id, heartbeatPeriodMs: this.heartbeatPeriodMs(), managers: this.managers(), desiredRole },
      },
    });
    const tasks = this.store.view((tx) => tx.tasksByNode(register.nodeId).filter((t) => assignedTo(t, register.nodeId)));
    for (const t of tasks) session.sent.set(t.id, t.desiredState);
    session.out.push({ msg: { case: "assignments", value: { full: true, tasks } } });

    const reader = this.readAgent(session, iter).finally(() => this.endSession(session));
    ctx.signal.addEventListener("abort", () => this.endSession(session), { once: true });
    try {
      yield* session.out;
    } finally {
      this.endSession(session);
      await reader.catch(() => undefined);
    }
  }

  private endSession(session: Session): void {
    session.out.close();
    for (const q of session.logs.values()) q.fail(new UnavailableError(`node ${session.nodeId} disconnected`));
    session.logs.clear();
    if (this.sessions.get(session.nodeId) === session) this.sessions.delete(session.nodeId);
  }

  private async readAgent(session: Session, iter: AsyncIterator<AgentMessage>): Promise<void> {
    for (;;) {
      const next = await iter.next();
      if (next.done || session.out.isClosed) return;
      const msg = next.value.msg;
      switch (msg.case) {
        case "heartbeat":
          this.health.beat(session.nodeId);
          break;
        case "statusUpdates":
          this.health.beat(session.nodeId);
          for (const u of msg.value.updates) if (u.status) this.statuses.report(session.nodeId, u.taskId, u.status);
          break;
        case "logs": {
          const q = session.logs.get(msg.value.subscriptionId);
          if (!q) break;
          q.push(msg.value);
          if (msg.value.done || msg.value.error) {
            q.close();
            session.logs.delete(msg.value.subscriptionId);
          }
          break;
        }
        default:
          break;
      }
    }
  }

  /** registerNode marks the node READY with its fresh description; unknown nodes are refused. */
  private async registerNode(reg: Register): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.store.update((tx) => {
          const node = tx.get("node", reg.nodeId);
          if (!node) throw new FailedPreconditionError(`node ${reg.nodeId} is not part of this swarm`);
          const next = clone(NodeSchema, node);
          next.description = reg.description;
          next.status = create(NodeStatusSchema, { state: NodeState.READY, addr: reg.addr });
          tx.update("node", next);
        });
        return;
      } catch (err) {
        // A heartbeat-expiry write may race with us; re-read and retry a few times.
        if (attempt >= 5 || !(err instanceof Error) || !/out of sequence/.test(err.message)) throw err;
      }
    }
  }

  private onStoreEvents(events: StoreEvent[]): void {
    const changes = new Map<string, { tasks: Task[]; removed: string[] }>();
    const entry = (nodeId: string) => {
      let e = changes.get(nodeId);
      if (!e) changes.set(nodeId, (e = { tasks: [], removed: [] }));
      return e;
    };
    for (const ev of events) {
      if (ev.kind === "cluster") {
        // Agents learn the heartbeat period when their session starts: after `swarm update
        // --dispatcher-heartbeat` every session restarts to learn the new one, and every node gets
        // a fresh grace period, so none is called down for beating at the old pace.
        if (ev.old && ev.old.spec?.heartbeatPeriodMs !== ev.object.spec?.heartbeatPeriodMs) {
          this.health.graceAll();
          for (const session of this.sessions.values()) session.out.close();
        }
        continue;
      }
      if (ev.kind === "node") {
        // A node removed from the swarm, or asked to change role, must reconnect: its next session
        // is refused, or tells it the new role.
        const gone = ev.type === "delete";
        if (gone || ev.old?.spec?.desiredRole !== ev.object.spec?.desiredRole) this.sessions.get(ev.object.id)?.out.close();
        continue;
      }
      if (ev.kind !== "task") continue;
      const task = ev.object;
      const old = ev.old;
      if (old && old.nodeId && (ev.type === "delete" || old.nodeId !== task.nodeId)) {
        const s = this.sessions.get(old.nodeId);
        if (s?.sent.delete(old.id)) entry(old.nodeId).removed.push(old.id);
      }
      if (ev.type === "delete") {
        const s = this.sessions.get(task.nodeId);
        if (s?.sent.delete(task.id)) entry(task.nodeId).removed.push(task.id);
        continue;
      }
      const s = this.sessions.get(task.nodeId);
      if (!s || !assignedTo(task, task.nodeId)) continue;
      if (s.sent.get(task.id) === task.desiredState) continue;
      s.sent.set(task.id, task.desiredState);
      entry(task.nodeId).tasks.push(task);
    }
    for (const [nodeId, { tasks, removed }] of changes) {
      this.sessions.get(nodeId)?.out.push({ msg: { case: "assignments", value: { full: false, tasks, removedTaskIds: removed } } });
    }
  }

  /** subscribeLogs asks a node for task logs; chunks arrive on the returned queue. */
  subscribeLogs(nodeId: string, taskIds: string[], follow: boolean, tail: number): { chunks: AsyncQueue<LogChunk>; cancel(): void } {
    const session = this.sessions.get(nodeId);
    const chunks = new AsyncQueue<LogChunk>();
    if (!session) {
      chunks.fail(new UnavailableError(`node ${nodeId} is not connected`));
      return { chunks, cancel: () => undefined };
    }
    const subscriptionId = newId();
    session.logs.set(subscriptionId, chunks);
    session.out.push({ msg: { case: "logSubscription", value: { subscriptionId, taskIds, follow, tail } } });
    return {
      chunks,
      cancel: () => {
        if (!session.logs.delete(subscriptionId)) return;
        chunks.close();
        session.out.push({ msg: { case: "logCancel", value: { subscriptionId } } });
      },
    };
  }

  isConnected(nodeId: string): boolean {
    return this.sessions.has(nodeId);
  }

  /** connectedNodes lists nodes with a live session. */
  connectedNodes(): string[] {
    return [...this.sessions.keys()];
  }
}
