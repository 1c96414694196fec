import { existsSync } from "node:fs";
import { FailedPreconditionError, TsctlError, type Task } from "@tsctl/api";
import type { ContainerInfo, Controller, ExitStatus } from "../executor/types.js";
import { DEFAULT_STOP_GRACE_MS, prepareBundle } from "./bundle.js";
import { removeContainer } from "./cleanup.js";
import { startConmon } from "./conmon.js";
import { detachedRuntime } from "./detached-runtime.js";
import { conmonPid, exitStatus, inspectContainer } from "./container-info.js";
import type { RuncContext } from "./context.js";
import { waitForExit } from "./exit-file.js";
import { containerPaths, runcRootDir, type ContainerPaths } from "./layout.js";
import { readMeta, writeMeta } from "./metadata.js";

/** KILL_WAIT_MS bounds how long shutdown waits for the exit after SIGKILL. */
const KILL_WAIT_MS = 10_000;

/**
 * RuncController runs one task's container through conmon and runc. It keeps no state in
 * memory: every method reads the files and runc's state, so any instance (including one in a
 * restarted tsd) can carry on where another left off.
 */
export class RuncController implements Controller {
  private readonly paths: ContainerPaths;

  constructor(
    private readonly ctx: RuncContext,
    private readonly task: Task,
  ) {
    this.paths = containerPaths(ctx.roots, task.id);
  }

  private get id(): string {
    return this.task.id;
  }

  async prepare(signal: AbortSignal): Promise<void> {
    await prepareBundle(this.ctx, this.task, signal);
  }

  async start(signal: AbortSignal): Promise<{ pid: number }> {
    // Fast path for a first start: no conmon ever ran, so runc cannot know the container and
    // asking it (twice) would cost ~10ms per call.
    if (!existsSync(this.paths.conmonPidFile) && !existsSync(this.paths.exitFile)) {
      const meta = await readMeta(this.paths.metaFile);
      if (meta === undefined) throw new FailedPreconditionError(`container ${this.id} is not prepared`);
      // Through the adapter, conmon's runtime call creates and starts the container in one go.
      const runtime = await detachedRuntime(this.ctx.roots.execRoot, this.ctx.runc.path);
      const pid = await startConmon(
        { conmonPath: this.ctx.conmonPath, runcPath: runtime, runcRoot: runcRootDir(this.ctx.roots), id: this.id, name: meta.name, paths: this.paths },
        this.ctx.spawner,
        signal,
      );
      return { pid };
    }
    const state = await this.ctx.runc.state(this.id, signal);
    if (state === undefined) throw new FailedPreconditionError(`container ${this.id} was started before and is gone; remove it`);
    if (state.status === "stopped") throw new FailedPreconditionError(`container ${this.id} has already exited`);
    // A tsd that died between create and start left it created; finish the job.
    if (state.status === "created") await this.ctx.runc.start(this.id, signal);
    return { pid: state.pid };
  }

  async wait(signal: AbortSignal): Promise<ExitStatus> {
    await waitForExit(this.paths.exitDir, this.paths.exitFile, signal, { orphaned: () => this.orphaned() });
    const status = await exitStatus(this.paths, await readMeta(this.paths.metaFile));
    // Orphaned: conmon died without a word, so the real code is lost.
    return status ?? { exitCode: 255, finishedAtMs: Date.now() };
  }

  /** orphaned: conmon once ran but is gone, and runc has no live process; no exit file will come. */
  private async orphaned(): Promise<boolean> {
    if (!existsSync(this.paths.conmonPidFile) || (await conmonPid(this.paths, this.id)) !== undefined) return false;
    const state = await this.ctx.runc.state(this.id);
    return state === undefined || state.status === "stopped";
  }

  async shutdown(graceMs: number): Promise<void> {
    // conmon writes the exit file once the process is gone: nothing to stop, and no runc call.
    if (existsSync(this.paths.exitFile)) return;
    const state = await this.ctx.runc.state(this.id);
    if (state === undefined || state.status === "stopped") return;
    const meta = await readMeta(this.paths.metaFile);
    if (meta !== undefined && meta.stoppedByUs !== true) await writeMeta(this.paths.metaFile, { ...meta, stoppedByUs: true });
    const grace = Number.isFinite(graceMs) && graceMs >= 0 ? graceMs : (meta?.stopGraceMs ?? DEFAULT_STOP_GRACE_MS);
    // A created-but-never-started container has only runc init waiting; nothing to be graceful to.
    if (state.status !== "created" && grace > 0 && (await this.ctx.runc.kill(this.id, meta?.stopSignal ?? "SIGTERM"))) {
      if (await this.exitedWithin(grace)) return;
    }
    await this.ctx.runc.kill(this.id, "SIGKILL");
    if (state.status === "created") return;
    if (!(await this.exitedWithin(KILL_WAIT_MS))) {
      throw new TsctlError("Internal", `container ${this.id} did not exit within ${KILL_WAIT_MS}ms of SIGKILL`);
    }
  }

  private async exitedWithin(ms: number): Promise<boolean> {
    try {
      await waitForExit(this.paths.exitDir, this.paths.exitFile, AbortSignal.timeout(ms), { orphaned: () => this.orphaned() });
      return true;
    } catch (e) {
      if ((e as Error).name === "TimeoutError" || (e as Error).name === "AbortError") return false;
      throw e;
    }
  }

  async remove(): Promise<void> {
    await removeContainer(this.ctx, this.id);
  }

  async inspect(): Promise<ContainerInfo | undefined> {
    return inspectContainer(this.ctx, this.id);
  }
}
