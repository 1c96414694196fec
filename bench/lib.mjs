// Shared helpers for benchmarks: a scratch tsd node, command runners and table printing.
import { execFile, spawn } from "node:child_process";
import { existsSync, openSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { forceCleanup } from "../test/harness/cleanup.mjs";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const run = promisify(execFile);

/** runDetached runs a command whose children outlive it (runc run -d) and waits for it alone. */
export function runDetached(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}`))));
  });
}

export function ms(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export function now() {
  return process.hrtime.bigint();
}

/**
 * startNode runs a scratch tsd (swarm initialised, busybox loaded) and returns its handle; tsdArgs
 * are passed to tsd after the usual flags (e.g. ["--insecure-registry", "127.0.0.1:5000"]).
 */
export async function startNode({ tsdArgs = [] } = {}) {
  const dir = await mkdtemp("/tmp/tsd-bench.");
  const cgroupParent = `tsd-bench-${process.pid}`;
  const host = `unix://${dir}/run/tsd.sock`;
  const fd = openSync(join(dir, "tsd.log"), "a");
  const proc = spawn(join(repoRoot, "bin/tsd"), ["--data-root", `${dir}/data`, "--exec-root", `${dir}/run`, "--cgroup-parent", cgroupParent, "--hostname", "bench", ...tsdArgs], {
    stdio: ["ignore", fd, fd],
  });
  const cli = (...args) => run(join(repoRoot, "bin/tsctl"), ["-H", host, ...args], { maxBuffer: 64 << 20 });
  for (let i = 0; i < 200 && !existsSync(`${dir}/run/tsd.sock`); i++) await new Promise((r) => setTimeout(r, 100));
  await cli("swarm", "init");
  await cli("image", "load", "-i", join(repoRoot, ".cache/busybox.tar"));
  return {
    dir,
    cgroupParent,
    cli,
    async stop() {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    },
    log: () => readFile(join(dir, "tsd.log"), "utf8"),
    // Removes whatever the run left (containers, mounts, cgroups), even after a failure.
    cleanup: () => forceCleanup(dir, cgroupParent),
  };
}

/** table prints rows aligned, the first row being the header. */
export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(widths[i])).join("  "));
}
