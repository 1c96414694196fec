import { DirectSpawner } from "./direct-spawner.js";
import { helperScriptPath } from "./helper-path.js";
import { HelperGoneError, HelperProcess } from "./helper-process.js";
import type { HelperAnswer, RequestBody } from "./protocol.js";
import { abortError, spawnError, type DetachedOptions, type RunOptions, type SpawnResult, type Spawner } from "./types.js";

/** MAX_START_FAILURES is how many helpers in a row may die before coming up until we give up on them. */
const MAX_START_FAILURES = 3;

/**
 * HelperSpawner does its forking in spawner-main.mjs, started on first use. A helper that dies
 * fails the requests it had in flight with a clear error and is replaced on the next request.
 * Requests it never got to (it died before it was ready) are run directly instead, and after a few
 * such helpers in a row, or without the script, everything is run directly: slower, never broken.
 */
export class HelperSpawner implements Spawner {
  private helper: HelperProcess | undefined;
  private startFailures = 0;
  private disposed = false;

  constructor(
    private readonly script: string | undefined = helperScriptPath(),
    private readonly direct: Spawner = new DirectSpawner(),
  ) {}

  /** usingHelper says whether requests currently go to a helper (false once we fell back). */
  get usingHelper(): boolean {
    return !this.disposed && this.script !== undefined && this.startFailures < MAX_START_FAILURES;
  }

  /** helperPid is the running helper's pid, if one is up (for tests and diagnostics). */
  get helperPid(): number | undefined {
    return this.helper?.gone === false ? this.helper.pid : undefined;
  }

  async run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<SpawnResult> {
    const a = await this.request({ op: "run", file, args }, opts.signal, abortError);
    if (a === undefined) return this.direct.run(file, args, opts);
    if ("code" in a) {
      const text = (b64: string): string => Buffer.from(b64, "base64").toString("utf8");
      return { code: a.code, signal: a.signal, stdout: text(a.stdout), stderr: text(a.stderr) };
    }
    throw this.unexpected(a, file);
  }

  async startDetached(file: string, args: readonly string[], opts: DetachedOptions): Promise<string> {
    const body = { op: "detached" as const, file, args, env: opts.env, outPath: opts.outPath };
    const a = await this.request(body, opts.signal, (s) => s.reason);
    if (a === undefined) return this.direct.startDetached(file, args, opts);
    if ("text" in a) return a.text;
    throw this.unexpected(a, file);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const h = this.helper;
    this.helper = undefined;
    await h?.close();
  }

  /** request asks the current helper; undefined means "run it directly instead". */
  private async request(body: RequestBody, signal: AbortSignal | undefined, aborted: (s: AbortSignal) => unknown): Promise<HelperAnswer | undefined> {
    const h = this.current();
    if (h === undefined) return undefined;
    try {
      return await h.request(body, signal, aborted);
    } catch (e) {
      // Sent before the helper was up, so never started: safe to run here instead.
      if (e instanceof HelperGoneError && !e.ready) return undefined;
      throw e;
    }
  }

  private current(): HelperProcess | undefined {
    if (!this.usingHelper) return undefined;
    if (this.helper === undefined || this.helper.gone) {
      this.helper = new HelperProcess(this.script as string, (wasReady) => {
        this.startFailures = wasReady ? 0 : this.startFailures + 1;
        if (this.startFailures === MAX_START_FAILURES) {
          process.emitWarning(`spawner helper ${this.script} would not start; forking directly from now on`);
        }
      });
    }
    return this.helper;
  }

  private unexpected(a: HelperAnswer, file: string): Error {
    if ("error" in a) return spawnError(a.error.message, a.error.code);
    return new Error(`spawner helper: unexpected answer for ${file}`);
  }
}
