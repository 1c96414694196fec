// down: remove everything of one cluster, best effort over whatever exists.
import { existsSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { forceCleanup } from "../test/harness/cleanup.mjs";
import { cgroupOf, dir, fail, hostDir, hostRe, prefix } from "./context.mjs";
import { ourNamespaces, pidsInNamespace, removeNamespaces } from "./netns.mjs";
import { findTsd, signal, stopTsd } from "./processes.mjs";
import { loadState } from "./state.mjs";

/**
 * cmdDown removes everything, best effort over whatever exists: hosts from the state file, host
 * directories under TC_DIR, and namespaces with this cluster's prefix the state file never recorded.
 */
export async function cmdDown() {
  if (dir === "/") fail("down: refusing TC_DIR=/");
  let state;
  try {
    state = loadState();
  } catch {
    state = undefined; // A corrupt state file must not stop the cleanup.
  }
  const namespaces = ourNamespaces();
  const hosts = new Set(state?.hosts?.map((h) => h.name) ?? []);
  for (const ns of namespaces) {
    const h = ns.slice(prefix.length);
    if (hostRe.test(h)) hosts.add(h);
  }
  for (const e of existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []) {
    if (e.isDirectory() && hostRe.test(e.name)) hosts.add(e.name);
  }
  // The recorded pid, or (state lost or stale) whatever tsd runs with this host's dirs.
  const pidOf = (h) => findTsd(h, state?.hosts?.find((x) => x.name === h)?.pid);

  // 1. Every tsd: SIGTERM, SIGKILL after 10 s.
  await Promise.all([...hosts].map((h) => stopTsd(h, pidOf(h), 10_000)));

  // 2. Anything still running inside our namespaces (left over from `tc exec`, or a tsd whose pid
  //    the state file lost) is ours: kill it, so no process keeps a namespace alive.
  for (const ns of namespaces) for (const pid of pidsInNamespace(ns)) signal(pid, "SIGKILL");

  // 3. Per host, exactly what the test harness does: processes naming the host dir (tsd, etcd,
  //    conmon), container processes in the cgroup parent, mounts, cgroups, the dir.
  for (const h of hosts) await forceCleanup(hostDir(h), cgroupOf(h));

  // 4. Links and namespaces.
  await removeNamespaces(namespaces);
  const left = ourNamespaces();

  // 5. TC_DIR: only what tc made; anything else in it stays (and is reported).
  if (existsSync(dir)) {
    for (const e of readdirSync(dir)) if (e === "state.json" || e === "state.json.lock" || /^state\.json\.\d+\.tmp$/.test(e)) rmSync(join(dir, e), { force: true });
    try {
      rmdirSync(dir);
    } catch (err) {
      if (err.code !== "ENOENT") process.stderr.write(`tc: kept ${dir}: ${err.code === "ENOTEMPTY" ? "it holds files tc did not create" : err.message}\n`);
    }
  }
  if (left.length > 0) fail(`down: namespaces still present: ${left.join(", ")}`);
  console.log(hosts.size + namespaces.length > 0 ? `down: removed ${[...hosts].join(", ") || "no hosts"} and ${namespaces.length} namespace(s)` : "down: nothing to remove");
}
