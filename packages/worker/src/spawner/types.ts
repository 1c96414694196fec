/** SpawnResult is a finished child's exit and its captured output (decoded as UTF-8). */
export interface SpawnResult {
  /** Exit code, or null when a signal ended the child. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** RunOptions tune Spawner.run; aborting kills the child (SIGTERM) and rejects with an AbortError. */
export interface RunOptions {
  signal?: AbortSignal;
}

/** DetachedOptions tune Spawner.startDetached. */
export interface DetachedOptions {
  /** Added to the environment the child inherits. */
  env: Record<string, string>;
  /** The child's stdout and stderr go here (truncated first): a pipe would be held by a daemon. */
  outPath: string;
  /** Aborting stops waiting (rejecting with signal.reason); the child is left alone. */
  signal: AbortSignal;
}

/**
 * Spawner starts processes for the runc executor. The helper-backed one does the forking in a
 * small separate process, so tsd's size and event loop stay out of it; the direct one forks tsd.
 * Spawn failures reject with an Error carrying the errno code (ENOENT when the file is missing).
 */
export interface Spawner {
  /** run runs file to completion and captures its output. It never rejects for a non-zero exit. */
  run(file: string, args: readonly string[], opts?: RunOptions): Promise<SpawnResult>;
  /**
   * startDetached starts file in a new session with fd 3 a pipe (an OCI sync pipe) and resolves
   * with what it wrote there up to its first newline, or everything before EOF ("" for nothing).
   * Our end of the pipe is then closed; the child keeps running.
   */
  startDetached(file: string, args: readonly string[], opts: DetachedOptions): Promise<string>;
  /** dispose ends any helper process; later calls still work (directly). */
  dispose(): Promise<void>;
}

/** abortError is what run rejects with on abort, shaped like Node's own (name AbortError). */
export function abortError(signal: AbortSignal): Error {
  const e = new Error("The operation was aborted", { cause: signal.reason });
  e.name = "AbortError";
  return Object.assign(e, { code: "ABORT_ERR" });
}

/** spawnError rebuilds a spawn failure reported by errno code, so callers can test e.code. */
export function spawnError(message: string, code?: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(message);
  if (code !== undefined) e.code = code;
  return e;
}
