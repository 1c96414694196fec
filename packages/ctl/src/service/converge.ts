/**
 * waitForConvergence polls a service's tasks until every slot runs, drawing progress as it goes:
 * redrawn in place on a terminal, and as plain lines (only those that changed) otherwise.
 * Ctrl-C simply ends the CLI; the service is left as it is, as with Docker.
 */
import { NotFoundError, TaskState, isTsctlError, type Service } from "@tsctl/api";
import type { ControlClient, Io } from "../session.js";
import { computeProgress, type ProgressTarget } from "./progress.js";

// Short poll interval: convergence latency as seen by users (and the benchmark) depends on it.
const pollMs = 50;

/** ProgressPrinter writes successive frames of progress lines. */
export class ProgressPrinter {
  private shown: string[] = [];

  constructor(private readonly io: Io) {}

  /** draw replaces the previous frame (TTY) or prints the lines that changed (pipes, files). */
  draw(lines: readonly string[]): void {
    if (this.io.isTty) {
      let text = this.shown.length > 0 ? `\x1b[${this.shown.length}A` : "";
      for (const line of lines) text += `\x1b[2K\r${line}\n`;
      this.io.out(text);
    } else {
      const changed = lines.filter((line, i) => this.shown[i] !== line);
      if (changed.length > 0) this.io.out(changed.map((l) => l + "\n").join(""));
    }
    this.shown = [...lines];
  }
}

/** progressIo is io itself, or for -q an io that still waits but prints no progress. */
export function progressIo(io: Io, quiet: boolean | undefined): Io {
  if (!quiet) return io;
  return { ...io, out: () => undefined, isTty: false, outBytes: () => undefined } as Io;
}

/** targetOf derives the convergence target from a service as stored. */
export function targetOf(service: Service, sinceSpecChange: boolean): ProgressTarget {
  const mode = service.spec?.mode;
  return {
    replicas: mode?.case === "replicated" ? Number(mode.value.replicas) : undefined,
    minSpecVersion: sinceSpecChange ? service.specVersion : undefined,
    minCreatedMs: sinceSpecChange ? Number(service.meta?.updatedAtMs ?? 0) : undefined,
  };
}

/** waitForConvergence resolves once the service converged; it throws only on daemon errors. */
export async function waitForConvergence(
  control: ControlClient,
  service: Service,
  io: Io,
  target: ProgressTarget,
  signal?: AbortSignal,
): Promise<void> {
  const printer = new ProgressPrinter(io);
  for (;;) {
    if (signal?.aborted) return;
    let tasks;
    try {
      ({ tasks } = await control.listTasks({ serviceIds: [service.id], desiredStates: [], omitSpec: true }));
    } catch (err) {
      if (isTsctlError(err, "NotFound")) {
        throw new NotFoundError(`service ${service.spec?.annotations?.name ?? service.id} was removed before it converged`);
      }
      throw err;
    }
    const progress = computeProgress(target, tasks.filter((t) => t.desiredState !== TaskState.REMOVE));
    printer.draw(progress.lines);
    if (progress.converged) {
      io.out(`verify: Service ${service.id} converged\n`);
      return;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
