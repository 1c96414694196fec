/**
 * FakeController drives one task's in-memory container. It holds no state of its own, so any
 * number of controllers for the same task are equivalent, as the Controller contract asks.
 */
import type { Task } from "@tsctl/api";
import type { ContainerInfo, Controller, ExitStatus } from "../executor/types.js";
import type { FakeExecutor } from "./fake-executor.js";

/** hang resolves never; it rejects with the signal's reason when the signal aborts. */
export function hang(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

// A function, so TypeScript does not keep a narrowing of state across the awaits that change it.
function exited(info: ContainerInfo): boolean {
  return info.state === "exited";
}

/** FakeController implements Controller over a FakeExecutor's container map. */
export class FakeController implements Controller {
  constructor(
    private readonly executor: FakeExecutor,
    readonly task: Task,
  ) {}

  private get id(): string {
    return this.task.id;
  }

  async prepare(signal: AbortSignal): Promise<void> {
    this.executor.count("prepare", this.id);
    const existing = this.executor.containers.get(this.id);
    if (existing) return;
    const b = this.executor.behaviour(this.task);
    if (b.hangPrepare) await hang(signal);
    signal.throwIfAborted();
    if (b.prepareError !== undefined) throw new Error(b.prepareError);
    this.executor.createContainer(this.task);
  }

  async start(signal: AbortSignal): Promise<{ pid: number }> {
    this.executor.count("start", this.id);
    const c = this.executor.mustGet(this.id);
    if (c.info.state === "running") return { pid: c.info.pid };
    if (c.info.state === "exited") throw new Error(`container ${this.id} has already exited`);
    if (c.behaviour.hangStart) await hang(signal);
    signal.throwIfAborted();
    if (c.behaviour.startError !== undefined) throw new Error(c.behaviour.startError);
    return { pid: this.executor.run(c) };
  }

  async wait(signal: AbortSignal): Promise<ExitStatus> {
    this.executor.count("wait", this.id);
    const c = this.executor.mustGet(this.id);
    while (!exited(c.info)) await this.executor.changed(c, signal);
    return c.info.exit!;
  }

  async shutdown(graceMs: number): Promise<void> {
    this.executor.count("shutdown", this.id);
    const c = this.executor.containers.get(this.id);
    if (c?.info.state !== "running") return;
    const ex = this.executor;
    if (!c.behaviour.ignoreSigterm) {
      ex.exit(c, { exitCode: 143, signal: "SIGTERM", stoppedByUs: true, finishedAtMs: ex.timers.now() });
      return;
    }
    // The process ignores SIGTERM: it dies only from the SIGKILL sent when the grace period ends.
    ex.clearTimer(c);
    c.timer = ex.timers.setTimeout(
      () => ex.exit(c, { exitCode: 137, signal: "SIGKILL", stoppedByUs: true, finishedAtMs: ex.timers.now() }),
      graceMs,
    );
    while (!exited(c.info)) await ex.changed(c, new AbortController().signal);
  }

  async remove(): Promise<void> {
    this.executor.count("remove", this.id);
    const c = this.executor.containers.get(this.id);
    if (!c) return;
    const now = this.executor.timers.now();
    this.executor.exit(c, { exitCode: 137, signal: "SIGKILL", stoppedByUs: true, finishedAtMs: now });
    this.executor.containers.delete(this.id);
  }

  async inspect(): Promise<ContainerInfo | undefined> {
    this.executor.count("inspect", this.id);
    const c = this.executor.containers.get(this.id);
    return c ? { ...c.info } : undefined;
  }
}
