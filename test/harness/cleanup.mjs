// Forced cleanup for integration tests and benches: whatever a test node's tsd left behind
// (processes, conmon, etcd, mounts, cgroups) is found by where it lives (the node's temp dir and
// cgroup parent) and removed, so a failed run leaves nothing on the machine. Plain JS so benches
// (bench/*.mjs) use it without a build.
import { execFile } from "node:child_process";
import { readdir, readFile, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const cgroupRoot = "/sys/fs/cgroup";

/** mountsUnder lists mount points below dir, deepest first. */
export async function mountsUnder(dir) {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  return info
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === dir || m.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
}

/** cgroupDirs lists every cgroup directory named cgroupParent or below it, deepest first. */
export async function cgroupDirs(cgroupParent) {
  const found = [];
  const controllers = await readdir(cgroupRoot).catch(() => []);
  const walk = async (dir) => {
    found.push(dir);
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) await walk(join(dir, e.name));
  };
  for (const c of controllers) {
    const base = join(cgroupRoot, c, cgroupParent);
    if (await readdir(base).then(() => true, () => false)) await walk(base);
  }
  return found.sort((a, b) => b.length - a.length);
}

/** pidsInCgroups lists the processes in the given cgroup dirs. */
export async function pidsInCgroups(dirs) {
  const pids = new Set();
  for (const d of dirs) {
    const procs = await readFile(join(d, "cgroup.procs"), "utf8").catch(() => "");
    for (const p of procs.split("\n")) if (p.trim()) pids.add(Number(p));
  }
  return [...pids];
}

/**
 * pidsMentioning finds processes whose command line names a path below dir: the node's tsd, its
 * etcd and the conmons of its containers all do.
 */
export async function pidsMentioning(dir) {
  const pids = [];
  for (const p of await readdir("/proc")) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    const cmd = await readFile(`/proc/${p}/cmdline`, "utf8").catch(() => "");
    if (cmd.split("\0").some((arg) => arg.includes(dir + "/") || arg === dir)) pids.push(Number(p));
  }
  return pids;
}

function kill(pid) {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/** forceCleanup removes every trace of a node rooted at dir with the given cgroup parent. */
export async function forceCleanup(dir, cgroupParent) {
  for (const pid of await pidsMentioning(dir)) kill(pid);
  for (let i = 0; i < 20; i++) {
    const pids = await pidsInCgroups(await cgroupDirs(cgroupParent));
    if (pids.length === 0) break;
    for (const pid of pids) kill(pid);
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const m of await mountsUnder(dir)) await run("umount", ["-l", m]).catch(() => undefined);
  for (const d of await cgroupDirs(cgroupParent)) await rmdir(d).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}
