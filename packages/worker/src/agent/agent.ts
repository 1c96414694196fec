/**
 * Agent is the node side of the dispatcher session: it registers, keeps the session alive with
 * heartbeats, runs assigned tasks through the executor, reports their status and serves log
 * subscriptions. It reconnects with backoff for as long as it runs. Stopping the agent never
 * stops containers: they outlive tsd and are re-adopted by the next agent.
 */
import { create } from "@bufbuild/protobuf";
import { AssignmentsSchema, type ManagerMessage } from "@tsctl/api";
import { Backoff } from "./backoff.js";
import { LogStreamer } from "./log-streamer.js";
import { StatusReporter } from "./status-reporter.js";
import { TaskSet, type TaskView } from "./task-set.js";
import { realClock, silentLogger, type AgentOptions, type Clock, type Logger, type SessionCall } from "./types.js";

/** AgentEvents are optional hooks, mostly for tests and diagnostics. */
export interface AgentEvents {
  /** A session was accepted by the manager. */
  onSessionStarted?(sessionId: string): void;
  /** A session ended (stream closed, failed, or the agent stopped). */
  onSessionEnded?(err?: unknown): void;
}

export class Agent {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly backoff: Backoff;
  private readonly reporter: StatusReporter;
  private readonly taskSet: TaskSet;
  private readonly logs: LogStreamer;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private call: SessionCall | undefined;
  private heartbeat: unknown;
  /** Set by a redirect naming the leader: the next connection attempt is not delayed. */
  private reconnectNow = false;
  events: AgentEvents = {};

  constructor(private readonly opts: AgentOptions) {
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger;
    this.backoff = new Backoff(opts.backoff, this.clock);
    this.reporter = new StatusReporter(this.clock, opts.statusBatchMs ?? 50);
    this.taskSet = new TaskSet({
      executor: opts.executor,
      reporter: this.reporter,
      clock: this.clock,
      logger: this.logger,
      retryMs: opts.retryMs ?? 1000,
    });
    this.logs = new LogStreamer({
      executor: opts.executor,
      nodeId: opts.nodeId,
      clock: this.clock,
      logger: this.logger,
      lookup: (id) => this.taskSet.get(id),
      batchMs: opts.logBatchMs ?? 50,
    });
  }

  /** start opens the session loop; it runs until stop(). */
  start(): void {
    if (this.running || this.stopping.signal.aborted) return;
    this.running = this.loop();
  }

  /** stop closes the session and the task workers, leaving containers running. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.call?.cancel();
    await this.running;
    await this.taskSet.close();
  }

  /**
   * removeEverything shuts down and removes every container of this node (`swarm leave`): an
   * empty full assignment set makes every task worker stop and the orphan sweep take the rest.
   */
  async removeEverything(): Promise<void> {
    this.taskSet.apply(create(AssignmentsSchema, { full: true }));
    await this.taskSet.settled();
    await this.taskSet.close();
  }

  /** tasks is the agent's current view of its tasks and their observed status. */
  tasks(): TaskView[] {
    return this.taskSet.list();
  }

  /** settled resolves when task removals and orphan sweeps in flight are done. */
  settled(): Promise<void> {
    return this.taskSet.settled();
  }

  private async loop(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const call = this.opts.connect();
      this.call = call;
      let started = false;
      let failure: unknown;
      try {
        started = await this.session(call, () => (started = true));
      } catch (err) {
        failure = err;
        if (!signal.aborted) this.logger.warn("session failed", { err: String(err) });
      } finally {
        this.endSession(call);
      }
      this.events.onSessionEnded?.(failure);
      if (signal.aborted) break;
      if (started) this.backoff.reset();
      if (this.reconnectNow) {
        this.reconnectNow = false;
        continue;
      }
      await this.backoff.wait(signal).catch(() => undefined);
    }
  }

  /** session runs one stream to its end; returns whether the manager accepted it. */
  private async session(call: SessionCall, onStarted: () => void): Promise<boolean> {
    const description = await this.opts.executor.describe();
    const { nodeId, addr } = this.opts;
    call.send({ msg: { case: "register", value: { nodeId, description, addr } } });
    let started = false;
    for await (const m of call) {
      if (this.stopping.signal.aborted) break;
      if (m.msg.case === "redirect") {
        this.logger.info("redirected to the leader", { leader: m.msg.value.leaderAddr || "(none yet)" });
        this.opts.onRedirect?.(m.msg.value);
        this.reconnectNow = m.msg.value.leaderAddr !== "";
        break;
      }
      if (!started && m.msg.case !== "sessionStarted") {
        this.logger.warn("message before session_started ignored", { case: m.msg.case });
        continue;
      }
      this.handle(call, m);
      if (m.msg.case === "sessionStarted") {
        started = true;
        onStarted();
      }
    }
    return started;
  }

  private handle(call: SessionCall, m: ManagerMessage): void {
    const msg = m.msg;
    switch (msg.case) {
      case "sessionStarted": {
        const period = Number(msg.value.heartbeatPeriodMs);
        this.logger.info("session started", { sessionId: msg.value.sessionId, heartbeatPeriodMs: period });
        this.startHeartbeat(call, period);
        this.reporter.attach((updates) => this.send(call, { msg: { case: "statusUpdates", value: { updates } } }));
        this.events.onSessionStarted?.(msg.value.sessionId);
        this.opts.onSessionStarted?.(msg.value);
        return;
      }
      case "assignments":
        this.taskSet.apply(msg.value);
        return;
      case "logSubscription":
        void this.logs.subscribe(msg.value, (chunk) => this.send(call, { msg: { case: "logs", value: chunk } }));
        return;
      case "logCancel":
        this.logs.cancel(msg.value.subscriptionId);
        return;
      default:
        return;
    }
  }

  /** send writes one message; it throws when the stream can no longer be written. */
  private send(call: SessionCall, msg: Parameters<SessionCall["send"]>[0]): void {
    if (this.call !== call) throw new Error("session is closed");
    call.send(msg);
  }

  private startHeartbeat(call: SessionCall, periodMs: number): void {
    this.stopHeartbeat();
    if (!(periodMs > 0)) return;
    const beat = (): void => {
      try {
        this.send(call, { msg: { case: "heartbeat", value: {} } });
      } catch {
        return;
      }
      this.heartbeat = this.clock.setTimeout(beat, periodMs);
    };
    this.heartbeat = this.clock.setTimeout(beat, periodMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== undefined) this.clock.clearTimeout(this.heartbeat);
    this.heartbeat = undefined;
  }

  private endSession(call: SessionCall): void {
    this.stopHeartbeat();
    this.reporter.detach();
    this.logs.cancelAll();
    if (this.call === call) this.call = undefined;
    try {
      call.cancel();
    } catch {
      // Already closed.
    }
  }
}
