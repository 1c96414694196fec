// processes: a host's tsd (start, wait until it answers, stop, kill) and its etcd members, found
// through /proc. A pid is only ever signalled after its command line ties it to the host's dir,
// so a recycled pid is never hit.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cgroupOf, dataRoot, execRoot, fail, hostDir, nsPath, sleep, sockOf, tsdBin, waitUntil } from "./context.mjs";
import { logTail, tsctl } from "./tsctl.mjs";

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

/** isZombieOrGone: pid no longer runs anything (exited, or a zombie nobody reaped yet). */
export function isZombieOrGone(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}

/** tsdAlive: pid is (still) this host's tsd, not a recycled pid. */
export function tsdAlive(host, pid) {
  if (!pid || isZombieOrGone(pid)) return false;
  const args = cmdline(pid);
  return args.includes(tsdBin) && args.some((a) => a.startsWith(hostDir(host) + "/"));
}

/** findTsd: the recorded pid if it is still the host's tsd, else whatever tsd runs with the host's dirs. */
export function findTsd(host, recorded) {
  if (tsdAlive(host, recorded)) return recorded;
  return readdirSync("/proc").map(Number).find((p) => p && tsdAlive(host, p));
}

/** etcdPids: the host's etcd members (they die with tsd through the parent-death signal). */
export function etcdPids(host) {
  const etcdDir = join(dataRoot(host), "etcd");
  const pids = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p) || isZombieOrGone(Number(p))) continue;
    if (cmdline(p).some((a) => a.includes(etcdDir))) pids.push(Number(p));
  }
  return pids;
}

/** signal sends sig to pid, ignoring a pid that is already gone. */
export function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/**
 * startTsd starts the host's tsd inside its namespace, detached (own session) so it outlives this
 * process, and returns its pid. `nsenter --net` switches only the network namespace: tsd keeps the
 * machine's mount namespace, so its overlay mounts and cgroups are visible to `down` and to the
 * cleanup helper (`ip netns exec` would give it a private mount namespace and a remounted /sys).
 * extraArgs (`tc up --tsd-arg`) follow tc's own flags.
 */
export async function startTsd(host, extraArgs = []) {
  mkdirSync(dataRoot(host), { recursive: true });
  mkdirSync(execRoot(host), { recursive: true });
  const fd = openSync(join(hostDir(host), "tsd.log"), "a");
  const args = [
    `--net=${nsPath(host)}`,
    "--",
    process.execPath,
    tsdBin,
    "--data-root", dataRoot(host),
    "--exec-root", execRoot(host),
    "--cgroup-parent", cgroupOf(host),
    "--hostname", host,
    ...extraArgs,
  ];
  const child = spawn("nsenter", args, { detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  await new Promise((res, rej) => {
    child.once("spawn", res);
    child.once("error", rej);
  }).catch((err) => fail(`${host}: cannot start tsd: ${err.message}`));
  child.unref();
  return child.pid;
}

/** waitReady waits until the host's tsd answers `tsctl info` on its socket. */
export async function waitReady(host, pid, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // Right after the spawn the pid is still a fork of this script, then nsenter, and becomes tsd
    // only at the second exec: judge it by whether it lives, not by what it runs yet.
    if (isZombieOrGone(pid)) {
      fail(`${host}: tsd exited early; log tail:\n${logTail(host)}`);
    }
    if (existsSync(sockOf(host)) && (await tsctl(host, "info")).code === 0) return;
    await sleep(100);
  }
  fail(`${host}: tsd did not answer on ${sockOf(host)} within ${timeoutMs / 1000} s; log tail:\n${logTail(host)}`);
}

/** killTsd sends SIGKILL and waits until tsd and its etcd are gone. */
export async function killTsd(host, pid) {
  signal(pid, "SIGKILL");
  await waitUntil(() => !tsdAlive(host, pid), 5_000);
  // etcd goes with it (setpriv --pdeathsig KILL); wait so a `start` right after finds its ports free.
  await waitUntil(() => etcdPids(host).length === 0, 5_000);
}

/** stopTsd sends SIGTERM and waits; SIGKILL after graceMs. */
export async function stopTsd(host, pid, graceMs) {
  if (!tsdAlive(host, pid)) return;
  signal(pid, "SIGTERM");
  if (!(await waitUntil(() => !tsdAlive(host, pid), graceMs, 100))) {
    process.stderr.write(`${host}: tsd (pid ${pid}) did not stop within ${graceMs / 1000} s; sending SIGKILL\n`);
    signal(pid, "SIGKILL");
    await waitUntil(() => !tsdAlive(host, pid), 5_000);
  }
  await waitUntil(() => etcdPids(host).length === 0, 5_000);
}
