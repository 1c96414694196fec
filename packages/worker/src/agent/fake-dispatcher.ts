/**
 * FakeDispatcher is a test harness: a real gRPC DispatcherService on a temporary unix socket that
 * plays the manager's side of the session (session_started, full then incremental assignments)
 * and records everything agents send. Tests drive it; it holds no scheduling logic.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  addService,
  createClient,
  dial,
  DispatcherService,
  grpc,
  type AgentMessage,
  type ManagerMessageSchema,
  type Task,
} from "@tsctl/api";
import type { SessionCall } from "./types.js";

type ManagerMessageInit = MessageInitShape<typeof ManagerMessageSchema>;

/** FakeSession is one agent stream as the fake manager sees it. */
export class FakeSession {
  readonly received: AgentMessage[] = [];
  private readonly outbox: ManagerMessageInit[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  constructor(readonly id: string) {}

  /** send queues a message to the agent. */
  send(msg: ManagerMessageInit): void {
    this.outbox.push(msg);
    this.wake?.();
  }

  /** end closes the stream from the manager's side (the agent will reconnect). */
  end(): void {
    this.ended = true;
    this.wake?.();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** of returns the received messages of one kind, in order. */
  of<K extends NonNullable<AgentMessage["msg"]["case"]>>(kind: K): Extract<AgentMessage["msg"], { case: K }>["value"][] {
    return this.received.filter((m) => m.msg.case === kind).map((m) => m.msg.value) as never;
  }

  async *outgoing(signal: AbortSignal): AsyncGenerator<ManagerMessageInit> {
    while (!this.ended && !signal.aborted) {
      const next = this.outbox.shift();
      if (next) {
        yield next;
        continue;
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal.removeEventListener("abort", done);
          this.wake = undefined;
          resolve();
        };
        this.wake = done;
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }
}

/** FakeDispatcher serves DispatcherService.Session for tests. */
export class FakeDispatcher {
  readonly sessions: FakeSession[] = [];
  /** Tasks sent as the full assignment set of every new session. */
  readonly tasks = new Map<string, Task>();
  heartbeatPeriodMs = 1000;
  private clients: grpc.Client[] = [];

  private constructor(
    private readonly server: grpc.Server,
    private readonly dir: string,
    readonly target: string,
  ) {}

  static async start(): Promise<FakeDispatcher> {
    const dir = await mkdtemp(join(tmpdir(), "tsctl-agent-"));
    const target = `unix://${join(dir, "dispatcher.sock")}`;
    const server = new grpc.Server();
    const fake = new FakeDispatcher(server, dir, target);
    addService(server, DispatcherService, { session: (reqs, ctx) => fake.serve(reqs, ctx.signal) });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    return fake;
  }

  /** connect opens a session stream to this server, as tsd's connect function would. */
  connect = (): SessionCall => {
    const raw = dial(this.target);
    this.clients.push(raw);
    return createClient(DispatcherService, raw).session();
  };

  /** current is the newest session. */
  get current(): FakeSession | undefined {
    return this.sessions.at(-1);
  }

  /** assign adds or changes a task and sends it incrementally to the current session. */
  assign(...tasks: Task[]): void {
    for (const t of tasks) this.tasks.set(t.id, t);
    this.current?.send({ msg: { case: "assignments", value: { full: false, tasks } } });
  }

  /** unassign removes tasks and tells the current session to forget them. */
  unassign(...taskIds: string[]): void {
    for (const id of taskIds) this.tasks.delete(id);
    this.current?.send({ msg: { case: "assignments", value: { full: false, removedTaskIds: taskIds } } });
  }

  /** received is every message of every session, in order. */
  received(): AgentMessage[] {
    return this.sessions.flatMap((s) => s.received);
  }

  async stop(): Promise<void> {
    for (const s of this.sessions) s.end();
    for (const c of this.clients) c.close();
    this.server.forceShutdown();
    await rm(this.dir, { recursive: true, force: true });
  }

  private async *serve(reqs: AsyncIterable<AgentMessage>, signal: AbortSignal): AsyncGenerator<ManagerMessageInit> {
    const session = new FakeSession(`s${this.sessions.length + 1}`);
    this.sessions.push(session);
    const reading = (async () => {
      try {
        for await (const m of reqs) {
          session.received.push(m);
          if (session.received.length === 1 && m.msg.case === "register") this.welcome(session);
        }
      } catch {
        // The stream was cancelled.
      }
      session.end();
    })();
    yield* session.outgoing(signal);
    session.end();
    void reading;
  }

  private welcome(session: FakeSession): void {
    session.send({ msg: { case: "sessionStarted", value: { sessionId: session.id, heartbeatPeriodMs: this.heartbeatPeriodMs } } });
    session.send({ msg: { case: "assignments", value: { full: true, tasks: [...this.tasks.values()] } } });
  }
}

/** waitUntil polls cond every few milliseconds until it holds, or throws after timeoutMs. */
export async function waitUntil(cond: () => boolean, timeoutMs = 3000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
