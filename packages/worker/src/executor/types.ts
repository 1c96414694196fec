/**
 * Executor contracts: the agent drives every task through one state machine that calls a
 * Controller; the runc executor and the fake executor (for simulated nodes) both implement them.
 */
import type { NodeDescription, Task } from "@tsctl/api";

/** ExitStatus is how a container's main process ended. */
export interface ExitStatus {
  exitCode: number;
  /** Set when the process was killed by a signal (e.g. "SIGKILL"). */
  signal?: string;
  /** True when the executor itself stopped it (shutdown), not the process on its own. */
  stoppedByUs?: boolean;
  finishedAtMs: number;
}

/** ContainerInfo is what the executor knows of one container it manages. */
export interface ContainerInfo {
  id: string;
  taskId: string;
  name: string;
  image: string;
  command: string[];
  createdAtMs: number;
  state: "created" | "running" | "exited";
  pid: number;
  exit?: ExitStatus;
  labels: Record<string, string>;
}

/**
 * Controller runs one task's container. Methods are idempotent: calling prepare or start again
 * after a crash of tsd finds the existing container and carries on.
 */
export interface Controller {
  /** Makes the container ready to start (image present, rootfs mounted, bundle written). */
  prepare(signal: AbortSignal): Promise<void>;
  /** Starts the main process; resolves once it runs (pid known). */
  start(signal: AbortSignal): Promise<{ pid: number }>;
  /** Resolves when the main process exits, or rejects with AbortError when signal fires. */
  wait(signal: AbortSignal): Promise<ExitStatus>;
  /** Stops the process: SIGTERM, then SIGKILL after graceMs. No-op if not running. */
  shutdown(graceMs: number): Promise<void>;
  /** Removes container, mounts, cgroup and directories. Safe to call on a half-made container. */
  remove(): Promise<void>;
  /** Current knowledge of the container, or undefined when it does not exist. */
  inspect(): Promise<ContainerInfo | undefined>;
}

export interface ExecRequest {
  cmd: string[];
  env?: string[];
  user?: string;
  workdir?: string;
}

export interface ExecIO {
  onStdout(chunk: Uint8Array): void;
  onStderr(chunk: Uint8Array): void;
}

/** LogLine is one line of container output as stored by the supervisor. */
export interface LogLine {
  timestampMs: number;
  stream: "stdout" | "stderr";
  data: Uint8Array;
}

export interface Executor {
  /** Describes this node: hostname, platform, resources. */
  describe(): Promise<NodeDescription>;
  /** Returns the controller for a task (same task → equivalent controller). */
  controller(task: Task): Controller;
  /** Containers this executor manages, including ones left by a previous tsd process. */
  list(): Promise<ContainerInfo[]>;
  /** Runs a command inside a running container; resolves to its exit code. */
  exec(containerId: string, req: ExecRequest, io: ExecIO, signal: AbortSignal): Promise<number>;
  /** Reads a container's log; with follow, keeps yielding until signal aborts or it exits. */
  logs(containerId: string, opts: { follow: boolean; tail: number }, signal: AbortSignal): AsyncIterable<LogLine>;
  /** Ends helper processes the executor owns. Containers keep running. */
  dispose?(): Promise<void> | void;
}
