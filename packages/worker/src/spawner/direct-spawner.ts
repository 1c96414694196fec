import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { abortError, type DetachedOptions, type RunOptions, type SpawnResult, type Spawner } from "./types.js";

/**
 * DirectSpawner forks tsd itself, on its event loop. It is the fallback when the helper cannot
 * run, and what tools and tests use where fork cost does not matter.
 */
export class DirectSpawner implements Spawner {
  run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<SpawnResult> {
    const { signal } = opts;
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) return reject(abortError(signal));
      const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], signal });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.on("error", reject);
      child.on("close", (code, sig) =>
        resolve({ code, signal: sig, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }),
      );
    });
  }

  async startDetached(file: string, args: readonly string[], opts: DetachedOptions): Promise<string> {
    const { signal } = opts;
    signal.throwIfAborted();
    const out = openSync(opts.outPath, "w");
    let child;
    try {
      child = spawn(file, args, { stdio: ["ignore", out, out, "pipe"], env: { ...process.env, ...opts.env }, detached: true });
    } finally {
      closeSync(out);
    }
    child.unref();
    const sync = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
    let onAbort: (() => void) | undefined;
    try {
      return await new Promise<string>((resolve, reject) => {
        let buf = "";
        onAbort = (): void => reject(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
        child.on("error", reject);
        sync.on("data", (d: Buffer) => {
          buf += d.toString("utf8");
          if (buf.includes("\n")) resolve(buf);
        });
        sync.on("end", () => resolve(buf));
        sync.on("error", reject);
      });
    } finally {
      if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
      sync.destroy();
    }
  }

  async dispose(): Promise<void> {
    // Nothing of its own to end: every child was either waited for or meant to outlive us.
  }
}
