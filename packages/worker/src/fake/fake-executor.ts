/**
 * FakeExecutor: containers that "run" in memory, for agent tests and for simulating hundreds of
 * nodes in one process. A container costs a few objects; a timer exists only while a container
 * is scheduled to exit on its own or is being killed after a grace period.
 */
import { create } from "@bufbuild/protobuf";
import { NotFoundError, NodeDescriptionSchema, type NodeDescription, type Task } from "@tsctl/api";
import type { ContainerInfo, ExecIO, ExecRequest, Executor, ExitStatus, LogLine } from "../executor/types.js";
import { behaviourFromLabels, type FakeBehaviour } from "./fake-behaviour.js";
import { FakeController } from "./fake-controller.js";

/** FakeTimers is the slice of a clock the fake needs; tests may pass fake timers. */
export interface FakeTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: FakeTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export type FakeMethod = "prepare" | "start" | "wait" | "shutdown" | "remove" | "inspect";

export interface FakeExecutorOptions {
  /** Merged into the default description (hostname "fake", linux/x86_64, 4 CPUs, 8 GiB). */
  description?: Partial<Pick<NodeDescription, "hostname" | "engineVersion">> & { nanoCpus?: number; memoryBytes?: number };
  /** Decides each container's behaviour; defaults to behaviourFromLabels. */
  behaviour?: (task: Task) => FakeBehaviour;
  timers?: FakeTimers;
}

/** FakeContainer is the executor's in-memory record of one container. */
export interface FakeContainer {
  info: ContainerInfo;
  behaviour: FakeBehaviour;
  lines: LogLine[];
  /** Called on exit and on every new log line; empty unless someone waits or follows. */
  listeners: Set<() => void>;
  timer?: unknown;
}

const encoder = new TextEncoder();

/** FakeExecutor implements Executor without processes; see FakeBehaviour for what it can simulate. */
export class FakeExecutor implements Executor {
  readonly containers = new Map<string, FakeContainer>();
  readonly timers: FakeTimers;
  behaviour: (task: Task) => FakeBehaviour;
  private readonly totals = new Map<FakeMethod, number>();
  private readonly perTask = new Map<string, Map<FakeMethod, number>>();
  private readonly description: NodeDescription;
  private nextPid = 1000;

  constructor(opts: FakeExecutorOptions = {}) {
    this.timers = opts.timers ?? realTimers;
    this.behaviour = opts.behaviour ?? behaviourFromLabels;
    const d = opts.description ?? {};
    this.description = create(NodeDescriptionSchema, {
      hostname: d.hostname ?? "fake",
      engineVersion: d.engineVersion ?? "fake",
      platform: { os: "linux", architecture: "x86_64" },
      resources: { nanoCpus: d.nanoCpus ?? 4e9, memoryBytes: d.memoryBytes ?? 8 * 2 ** 30 },
    });
  }

  async describe(): Promise<NodeDescription> {
    return this.description;
  }

  controller(task: Task): FakeController {
    return new FakeController(this, task);
  }

  async list(): Promise<ContainerInfo[]> {
    return [...this.containers.values()].map((c) => ({ ...c.info }));
  }

  async exec(containerId: string, req: ExecRequest, io: ExecIO, signal: AbortSignal): Promise<number> {
    signal.throwIfAborted();
    const c = this.mustGet(containerId);
    if (c.info.state !== "running") throw new Error(`container ${containerId} is not running`);
    io.onStdout(encoder.encode(req.cmd.join(" ") + "\n"));
    return 0;
  }

  /** logs yields the stored lines (tail > 0: the last tail lines; otherwise all), then follows. */
  async *logs(containerId: string, opts: { follow: boolean; tail: number }, signal: AbortSignal): AsyncIterable<LogLine> {
    const c = this.mustGet(containerId);
    let next = opts.tail > 0 ? Math.max(0, c.lines.length - opts.tail) : 0;
    for (;;) {
      while (next < c.lines.length && !signal.aborted) yield c.lines[next++]!;
      if (!opts.follow || signal.aborted || c.info.state === "exited") return;
      await this.changed(c, signal).catch(() => undefined);
    }
  }

  /** count records a call; FakeController calls it on every method. */
  count(method: FakeMethod, taskId: string): void {
    this.totals.set(method, (this.totals.get(method) ?? 0) + 1);
    let m = this.perTask.get(taskId);
    if (!m) this.perTask.set(taskId, (m = new Map()));
    m.set(method, (m.get(method) ?? 0) + 1);
  }

  /** calls returns how often a method was called, for one task or in total. */
  calls(method: FakeMethod, taskId?: string): number {
    return (taskId === undefined ? this.totals : this.perTask.get(taskId))?.get(method) ?? 0;
  }

  /** crash makes a running container die on its own with exitCode (137 reads as SIGKILL). */
  crash(taskId: string, exitCode: number): void {
    const c = this.containers.get(taskId);
    if (c?.info.state !== "running") throw new Error(`container ${taskId} is not running`);
    this.exit(c, { exitCode, ...(exitCode === 137 ? { signal: "SIGKILL" } : {}), finishedAtMs: this.timers.now() });
  }

  /** appendLog adds a line to a container's log, waking followers. */
  appendLog(taskId: string, text: string, stream: LogLine["stream"] = "stdout"): void {
    const c = this.mustGet(taskId);
    c.lines.push({ timestampMs: this.timers.now(), stream, data: encoder.encode(text) });
    this.notify(c);
  }

  /** seed puts a container in place as if a previous tsd process had left it (re-adoption tests). */
  seed(task: Task, state: ContainerInfo["state"], exitCode = 0): FakeContainer {
    const c = this.createContainer(task);
    if (state !== "created") this.run(c);
    if (state === "exited") this.exit(c, { exitCode, finishedAtMs: this.timers.now() });
    return c;
  }

  /** dispose clears every pending timer (containers stay in memory). */
  dispose(): void {
    for (const c of this.containers.values()) this.clearTimer(c);
  }

  mustGet(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new NotFoundError(`No such container: ${id}`);
    return c;
  }

  createContainer(task: Task): FakeContainer {
    const existing = this.containers.get(task.id);
    if (existing) return existing;
    const spec = task.spec?.container;
    const c: FakeContainer = {
      info: {
        id: task.id,
        taskId: task.id,
        name: `${task.serviceName || "task"}.${task.slot || task.nodeId}.${task.id}`,
        image: spec?.image ?? "",
        command: [...(spec?.command ?? []), ...(spec?.args ?? [])],
        createdAtMs: this.timers.now(),
        state: "created",
        pid: 0,
        labels: { ...(spec?.labels ?? {}) },
      },
      behaviour: this.behaviour(task),
      lines: [],
      listeners: new Set(),
    };
    this.containers.set(task.id, c);
    return c;
  }

  /** run moves a created container to running, prints its lines and arms its exit timer. */
  run(c: FakeContainer): number {
    c.info.state = "running";
    c.info.pid = this.nextPid++;
    const now = this.timers.now();
    const lines = c.behaviour.logLines ?? [`task ${c.info.taskId} started`];
    for (const text of lines) c.lines.push({ timestampMs: now, stream: "stdout", data: encoder.encode(text) });
    const { exitAfterMs } = c.behaviour;
    if (exitAfterMs !== undefined) {
      const exitCode = c.behaviour.exitCode ?? 0;
      c.timer = this.timers.setTimeout(() => this.exit(c, { exitCode, finishedAtMs: this.timers.now() }), exitAfterMs);
    }
    this.notify(c);
    return c.info.pid;
  }

  /** exit records the end of a running container and wakes waiters and followers. */
  exit(c: FakeContainer, status: ExitStatus): void {
    if (c.info.state === "exited") return;
    this.clearTimer(c);
    c.info.state = "exited";
    c.info.exit = status;
    this.notify(c);
  }

  clearTimer(c: FakeContainer): void {
    if (c.timer !== undefined) this.timers.clearTimeout(c.timer);
    delete c.timer;
  }

  /** changed resolves at the container's next exit or log line; rejects when signal aborts. */
  changed(c: FakeContainer, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        c.listeners.delete(done);
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = (): void => {
        c.listeners.delete(done);
        reject(signal.reason);
      };
      if (signal.aborted) return reject(signal.reason);
      c.listeners.add(done);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  private notify(c: FakeContainer): void {
    for (const l of [...c.listeners]) l();
  }
}
