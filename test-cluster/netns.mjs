// netns: the underlay and the hosts' network namespaces, through iproute2. Every interface,
// address and route lives inside namespaces made here; nothing is ever added to the root namespace.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { bridge, fail, nsOf, prefix, ulVeth, underlayNs, waitUntil } from "./context.mjs";

/** ip runs iproute2 and fails with its stderr. */
export function ip(...args) {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.error) fail(`ip ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) fail(`ip ${args.join(" ")}: ${(r.stderr || "").trim() || `exit ${r.status}`}`);
  return r.stdout;
}

/** ipQuiet runs iproute2 for cleanup and reports only whether it worked. */
export function ipQuiet(...args) {
  return spawnSync("ip", args, { encoding: "utf8" }).status === 0;
}

/** ourNamespaces lists existing namespaces carrying this cluster's prefix. */
export function ourNamespaces() {
  const r = spawnSync("ip", ["netns", "list"], { encoding: "utf8" });
  return (r.stdout || "")
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter((n) => n && n.startsWith(prefix));
}

/** createUnderlay makes the underlay: a bridge in a namespace of its own; no addresses, no routes, no uplink. */
export function createUnderlay() {
  ip("netns", "add", underlayNs);
  ip("-n", underlayNs, "link", "set", "lo", "up");
  ip("-n", underlayNs, "link", "add", bridge, "type", "bridge");
  ip("-n", underlayNs, "link", "set", bridge, "up");
}

/** createHostNetwork makes a host's namespace with `lo` and an `eth0` at addr/24 on the underlay bridge. */
export function createHostNetwork(name, addr) {
  const ns = nsOf(name);
  ip("netns", "add", ns);
  ip("-n", ns, "link", "set", "lo", "up");
  // Created inside the underlay namespace with the peer placed straight into the host's:
  // no end of the pair ever exists in the root namespace.
  ip("-n", underlayNs, "link", "add", ulVeth(name), "type", "veth", "peer", "name", "eth0", "netns", ns);
  ip("-n", underlayNs, "link", "set", ulVeth(name), "master", bridge);
  ip("-n", underlayNs, "link", "set", ulVeth(name), "up");
  ip("-n", ns, "addr", "add", `${addr}/24`, "dev", "eth0");
  ip("-n", ns, "link", "set", "eth0", "up");
}

/** setUnderlayLink sets a host's bridge-side veth up or down: down cuts the host off, keeping its address. */
export function setUnderlayLink(name, up) {
  ip("-n", underlayNs, "link", "set", ulVeth(name), up ? "up" : "down");
}

/**
 * flushNeighbors forgets a host's neighbor entries: those that failed during a partition would hold
 * back the first packets after it for up to a few seconds of ARP retries.
 */
export function flushNeighbors(name) {
  ipQuiet("-n", nsOf(name), "neigh", "flush", "dev", "eth0");
}

/** removeNamespaces deletes the given namespaces of this cluster, hosts first, the underlay last. */
export async function removeNamespaces(namespaces) {
  // Deleting a host's eth0 deletes its veth peer on the bridge.
  for (const ns of namespaces) {
    if (ns !== underlayNs) ipQuiet("-n", ns, "link", "del", "eth0");
  }
  for (const ns of [...namespaces.filter((n) => n !== underlayNs), ...namespaces.filter((n) => n === underlayNs)]) {
    await waitUntil(() => ipQuiet("netns", "del", ns) || !ourNamespaces().includes(ns), 3_000, 200);
  }
}

/** inNetns: pid lives in the network namespace whose mount point has stat nsStat. */
function inNetns(pid, nsStat) {
  try {
    const s = statSync(`/proc/${pid}/ns/net`);
    return s.ino === nsStat.ino && s.dev === nsStat.dev;
  } catch {
    return false;
  }
}

/** pidsInNamespace: every process inside one of our namespaces (tsd, `tc exec` leftovers). */
export function pidsInNamespace(ns) {
  let nsStat;
  try {
    nsStat = statSync(`/run/netns/${ns}`);
  } catch {
    return [];
  }
  const pids = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    if (inNetns(p, nsStat)) pids.push(Number(p));
  }
  return pids;
}
