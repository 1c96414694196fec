import { spawn, type ChildProcessByStdio } from "node:child_process";
import { existsSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import type { HelperAnswer, HelperRequest, RequestBody } from "./protocol.js";

const SETPRIV = "/usr/bin/setpriv";
/** HEAP_MB caps the helper's heap: it holds a few requests' output at a time, nothing more. */
const HEAP_MB = 32;
/** CLOSE_WAIT_MS is how long close() lets the helper exit on stdin EOF before SIGKILL. */
const CLOSE_WAIT_MS = 2000;

/** HelperGoneError fails a request whose helper exited; ready says whether it had come up. */
export class HelperGoneError extends Error {
  constructor(
    message: string,
    readonly ready: boolean,
  ) {
    super(message);
    this.name = "HelperGoneError";
  }
}

interface Pending {
  resolve(a: HelperAnswer): void;
  reject(e: Error): void;
  what: string;
}

// ref/unref exist on the pipes' sockets but not in the Writable/Readable types.
function setRef(handle: unknown, on: boolean): void {
  const h = handle as { ref?: () => void; unref?: () => void };
  if (on) h.ref?.();
  else h.unref?.();
}

/**
 * HelperProcess is one run of spawner-main.mjs and the requests in flight to it. Its handles are
 * referenced only while requests are pending, so an idle helper never keeps tsd (or a test) alive.
 * It dies with us: stdin EOF ends it, and setpriv's parent-death signal covers a SIGKILLed tsd.
 */
export class HelperProcess {
  ready = false;
  gone = false;
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly pending = new Map<number, Pending>();
  private readonly exited: Promise<void>;
  private nextId = 1;
  private partial = "";
  private closing = false;
  private referenced = true;

  constructor(
    script: string,
    private readonly onGone: (wasReady: boolean) => void,
  ) {
    const node = [process.execPath, `--max-old-space-size=${HEAP_MB}`, script];
    const [file, ...args] = existsSync(SETPRIV) ? [SETPRIV, "--pdeathsig", "KILL", "--", ...node] : node;
    // NODE_OPTIONS may load test loaders or inspectors into the helper; it needs none of them.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    this.child = spawn(file as string, args, { stdio: ["pipe", "pipe", "inherit"], env });
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (s: string) => this.onData(s));
    // EPIPE once the helper died; the close event reports that.
    this.child.stdin.on("error", () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.on("error", (e) => {
        this.fail(`spawner helper failed: ${e.message}`);
        resolve();
      });
      this.child.on("close", (code, sig) => {
        this.fail(this.closing ? "spawner closed" : `spawner helper exited (${sig ?? `code ${code}`})`);
        resolve();
      });
    });
    this.refresh();
  }

  /** pid is the helper's process id (setpriv execs node in place, so it is node's). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * request sends one request and resolves with its answer. On abort it asks the helper to cancel,
   * forgets the request and rejects with aborted(signal) without waiting for the child.
   */
  request(body: RequestBody, signal: AbortSignal | undefined, aborted: (s: AbortSignal) => unknown): Promise<HelperAnswer> {
    if (this.gone) return Promise.reject(new HelperGoneError("spawner helper is gone", this.ready));
    if (signal?.aborted === true) return Promise.reject(aborted(signal));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.forget(id)) return;
        this.write({ id, op: "cancel" });
        reject(aborted(signal as AbortSignal));
      };
      const done = (): void => signal?.removeEventListener("abort", onAbort);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, {
        resolve: (a) => (done(), resolve(a)),
        reject: (e) => (done(), reject(e)),
        what: `${body.file} ${body.args.slice(0, 4).join(" ")}`,
      });
      this.refresh();
      this.write({ ...body, id });
    });
  }

  /** close ends the helper through stdin EOF, killing it if it lingers, and waits for it. */
  async close(): Promise<void> {
    this.closing = true;
    if (!this.gone) this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), CLOSE_WAIT_MS);
    timer.unref();
    await this.exited;
    clearTimeout(timer);
  }

  private write(req: HelperRequest): void {
    if (!this.gone) this.child.stdin.write(JSON.stringify(req) + "\n");
  }

  private onData(chunk: string): void {
    this.partial += chunk;
    let nl;
    while ((nl = this.partial.indexOf("\n")) >= 0) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      let a: HelperAnswer;
      try {
        a = JSON.parse(line) as HelperAnswer;
      } catch {
        continue;
      }
      if ("ready" in a) {
        this.ready = true;
        continue;
      }
      const p = this.pending.get(a.id);
      if (p !== undefined && this.forget(a.id)) p.resolve(a);
    }
  }

  /** forget drops a pending request; false when it was already settled. */
  private forget(id: number): boolean {
    const had = this.pending.delete(id);
    this.refresh();
    return had;
  }

  /** refresh references the helper's handles while requests are pending, and only then. */
  private refresh(): void {
    const on = this.pending.size > 0 && !this.gone;
    // Toggle on transitions only: this runs twice per request.
    if (on === this.referenced) return;
    this.referenced = on;
    for (const h of [this.child, this.child.stdin, this.child.stdout]) setRef(h, on);
  }

  /** fail marks the helper gone and fails what was in flight; it runs once however it ended. */
  private fail(why: string): void {
    if (this.gone) return;
    this.gone = true;
    for (const p of this.pending.values()) p.reject(new HelperGoneError(`${why} while running ${p.what}`, this.ready));
    this.pending.clear();
    this.refresh();
    this.onGone(this.ready);
  }
}
