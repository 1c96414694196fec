/**
 * TsdNode runs one real `tsd` for an integration test, in its own temp dir and cgroup parent,
 * and runs the real `tsctl` against it. dispose() stops tsd and removes everything it made.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { forceCleanup } from "./cleanup.mjs";

export const repoRoot = resolve(import.meta.dirname, "../..");
export const tsdBin = join(repoRoot, "bin/tsd");
export const tsctlBin = join(repoRoot, "bin/tsctl");
export const busyboxTar = join(repoRoot, ".cache/busybox.tar");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class TsdNode {
  private proc: ChildProcess | undefined;
  readonly cgroupParent: string;

  private constructor(
    readonly dir: string,
    readonly hostname: string,
  ) {
    this.cgroupParent = `tsd-test-${process.pid}-${dir.split(".").pop()}`;
  }

  /** Extra tsd flags (e.g. --insecure-registry), set before start(). */
  extraArgs: string[] = [];

  static async create(hostname = "test-node"): Promise<TsdNode> {
    // Short path: the unix socket path must stay under 108 bytes.
    const dir = await mkdtemp("/tmp/tsd.");
    return new TsdNode(dir, hostname);
  }

  get dataRoot(): string {
    return join(this.dir, "data");
  }
  get execRoot(): string {
    return join(this.dir, "run");
  }
  get host(): string {
    return `unix://${join(this.execRoot, "tsd.sock")}`;
  }
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** start launches tsd and waits until its socket answers. */
  async start(): Promise<void> {
    const log = join(this.dir, "tsd.log");
    const { openSync } = await import("node:fs");
    const fd = openSync(log, "a");
    this.proc = spawn(
      tsdBin,
      ["--data-root", this.dataRoot, "--exec-root", this.execRoot, "--cgroup-parent", this.cgroupParent, "--hostname", this.hostname, "--log-level", "debug", ...this.extraArgs],
      { stdio: ["ignore", fd, fd] },
    );
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`tsd exited early:\n${await this.log()}`);
      if (existsSync(join(this.execRoot, "tsd.sock"))) {
        const r = await this.cli("info");
        if (r.code === 0) return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`tsd did not come up:\n${await this.log()}`);
  }

  async log(): Promise<string> {
    return readFile(join(this.dir, "tsd.log"), "utf8").catch(() => "");
  }

  /** cli runs bin/tsctl against this node. */
  cli(...args: string[]): Promise<CliResult> {
    return new Promise((resolvePromise) => {
      const child = execFile(tsctlBin, ["-H", this.host, ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      });
      // As in a script: stdin at end of file, so a prompt reads "no answer".
      child.stdin?.end();
    });
  }

  /** cliOk runs a command that must succeed and returns its stdout. */
  async cliOk(...args: string[]): Promise<string> {
    const r = await this.cli(...args);
    if (r.code !== 0) throw new Error(`tsctl ${args.join(" ")} failed (${r.code}): ${r.stderr}\n--- tsd log tail ---\n${(await this.log()).slice(-4000)}`);
    return r.stdout;
  }

  /** kill9 kills tsd with SIGKILL (containers and etcd? etcd is tsd's child and is killed by us too). */
  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await exited;
  }

  /** stop asks tsd to stop cleanly. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    const timer = setTimeout(() => p.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  }

  /** waitFor polls fn until it returns a truthy value. */
  async waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const v = await fn();
        if (v) return v;
      } catch (err) {
        last = err;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}\n--- tsd log tail ---\n${(await this.log()).slice(-4000)}`);
  }

  /** dispose stops tsd and removes every process, mount, cgroup and file it made. */
  async dispose(): Promise<void> {
    await this.stop().catch(() => undefined);
    await forceCleanup(this.dir, this.cgroupParent);
  }
}
