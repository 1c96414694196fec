// test-cluster/tc: simulated hosts on one machine, each a network namespace on an isolated underlay,
// each running its own tsd. Node built-ins and iproute2 only. See README.md for usage and the
// isolation rules; in short: every interface, address and route lives inside namespaces this script
// creates, nothing is added to the root namespace, and `down` removes everything by where it lives.
import { execFile, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { forceCleanup } from "../test/harness/cleanup.mjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const tsdBin = join(repoRoot, "bin/tsd");
const tsctlBin = join(repoRoot, "bin/tsctl");

const dir = resolve(process.env.TC_DIR || "/tmp/tsctl-tc");
const hash = createHash("sha256").update(dir).digest("hex").slice(0, 6);
/** Every namespace of this cluster is named `<prefix><host>`; the underlay is `<prefix>ul`. */
const prefix = `tc${hash}-`;
const underlayNs = `${prefix}ul`;
const bridge = "br0";
const subnet = "10.77.0";
const stateFile = join(dir, "state.json");
const hostRe = /^[mw][1-9]\d{0,2}$/;

class TcError extends Error {}
const fail = (msg) => {
  throw new TcError(msg);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const nsOf = (host) => `${prefix}${host}`;
const hostDir = (host) => join(dir, host);
const dataRoot = (host) => join(hostDir(host), "data");
const execRoot = (host) => join(hostDir(host), "run");
const sockOf = (host) => join(execRoot(host), "tsd.sock");
const cgroupOf = (host) => `tsctl-tc-${hash}-${host}`;
const ulVeth = (host) => `v-${host}`;

// ---------------------------------------------------------------------------------------------
// state

/** @typedef {{ name: string, role: "manager" | "worker", addr: string, pid?: number, partitioned?: boolean }} Host */
/** @typedef {{ dir: string, prefix: string, underlay: string, hosts: Host[], swarm?: { manager: string, addr: string } }} State */

/** @returns {State | undefined} */
function loadState() {
  try {
    return JSON.parse(readFileSync(stateFile, "utf8"));
  } catch (err) {
    if (err.code === "ENOENT") return undefined;
    fail(`cannot read ${stateFile}: ${err.message}`);
  }
}

/** @param {State} state */
function saveState(state) {
  const tmp = `${stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n");
  renameSync(tmp, stateFile);
}

function requireState() {
  const state = loadState();
  if (!state) fail(`not up: no cluster in ${dir} (run \`tc up\` first)`);
  return state;
}

/** @param {State} state */
function requireHost(state, name) {
  const host = state.hosts.find((h) => h.name === name);
  if (!host) fail(`unknown host "${name}" (hosts: ${state.hosts.map((h) => h.name).join(", ") || "none"})`);
  return host;
}

// ---------------------------------------------------------------------------------------------
// iproute2 and processes

/** ip runs iproute2 and fails with its stderr. */
function ip(...args) {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.error) fail(`ip ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) fail(`ip ${args.join(" ")}: ${(r.stderr || "").trim() || `exit ${r.status}`}`);
  return r.stdout;
}

/** ipQuiet runs iproute2 for cleanup and reports only whether it worked. */
function ipQuiet(...args) {
  return spawnSync("ip", args, { encoding: "utf8" }).status === 0;
}

/** ourNamespaces lists existing namespaces carrying this cluster's prefix. */
function ourNamespaces() {
  const r = spawnSync("ip", ["netns", "list"], { encoding: "utf8" });
  return (r.stdout || "")
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter((n) => n && n.startsWith(prefix));
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

function isZombieOrGone(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}

/** tsdAlive: pid is (still) this host's tsd, not a recycled pid. */
function tsdAlive(host, pid) {
  if (!pid || isZombieOrGone(pid)) return false;
  const args = cmdline(pid);
  return args.includes(tsdBin) && args.some((a) => a.startsWith(hostDir(host) + "/"));
}

/** etcdPids: the host's etcd members (they die with tsd through the parent-death signal). */
function etcdPids(host) {
  const etcdDir = join(dataRoot(host), "etcd");
  const pids = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p) || isZombieOrGone(Number(p))) continue;
    if (cmdline(p).some((a) => a.includes(etcdDir))) pids.push(Number(p));
  }
  return pids;
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

async function waitUntil(fn, timeoutMs, stepMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(stepMs);
  }
}

/** sameNetns: pid lives in the network namespace mounted at nsPath. */
function inNetns(pid, nsStat) {
  try {
    const s = statSync(`/proc/${pid}/ns/net`);
    return s.ino === nsStat.ino && s.dev === nsStat.dev;
  } catch {
    return false;
  }
}

/** pidsInNamespace: every process inside one of our namespaces (tsd, `tc exec` leftovers). */
function pidsInNamespace(ns) {
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

function run(file, args, opts = {}) {
  return new Promise((res) => {
    execFile(file, args, { timeout: 30_000, maxBuffer: 16 * 1024 * 1024, ...opts }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function tsctl(host, ...args) {
  return run(process.execPath, [tsctlBin, "-H", `unix://${sockOf(host)}`, ...args]);
}

function logTail(host, chars = 3000) {
  try {
    return readFileSync(join(hostDir(host), "tsd.log"), "utf8").slice(-chars);
  } catch {
    return "(no tsd.log)";
  }
}

// ---------------------------------------------------------------------------------------------
// tsd

/**
 * startTsd starts the host's tsd inside its namespace, detached (own session) so it outlives this
 * process, and returns its pid. `nsenter --net` switches only the network namespace: tsd keeps the
 * machine's mount namespace, so its overlay mounts and cgroups are visible to `down` and to the
 * cleanup helper (`ip netns exec` would give it a private mount namespace and a remounted /sys).
 */
async function startTsd(host) {
  mkdirSync(dataRoot(host), { recursive: true });
  mkdirSync(execRoot(host), { recursive: true });
  const fd = openSync(join(hostDir(host), "tsd.log"), "a");
  const args = [
    `--net=/run/netns/${nsOf(host)}`,
    "--",
    process.execPath,
    tsdBin,
    "--data-root", dataRoot(host),
    "--exec-root", execRoot(host),
    "--cgroup-parent", cgroupOf(host),
    "--hostname", host,
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
async function waitReady(host, pid, timeoutMs = 30_000) {
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

/** stopTsd sends SIGTERM and waits; SIGKILL after graceMs. */
async function stopTsd(host, pid, graceMs) {
  if (!tsdAlive(host, pid)) return;
  signal(pid, "SIGTERM");
  if (!(await waitUntil(() => !tsdAlive(host, pid), graceMs, 100))) {
    process.stderr.write(`${host}: tsd (pid ${pid}) did not stop within ${graceMs / 1000} s; sending SIGKILL\n`);
    signal(pid, "SIGKILL");
    await waitUntil(() => !tsdAlive(host, pid), 5_000);
  }
  await waitUntil(() => etcdPids(host).length === 0, 5_000);
}

// ---------------------------------------------------------------------------------------------
// membership

/**
 * joinHost is where `up` makes every host after m1 a member of the swarm initialized on m1: ask m1
 * for the manager or worker join token (`tsctl swarm join-token -q <role>`), then run
 * `tsctl swarm join --token <T> <m1 addr>:<port>` on the host and wait for it in `node ls`.
 * `swarm join` does not exist yet (issue 3), so for now it only says so and the host runs standalone.
 * @param {State} _state @param {Host} _host
 * @returns {Promise<{ joined: boolean, notice?: string }>}
 */
async function joinHost(_state, _host) {
  return { joined: false, notice: "not implemented yet: swarm join (issue 3)" };
}

async function waitNodeReady(host, timeoutMs = 30_000) {
  let last = "";
  const ok = await waitUntil(async () => {
    const r = await tsctl(host, "node", "ls", "--format", "json");
    last = r.stderr || r.stdout;
    if (r.code !== 0) return false;
    try {
      return JSON.parse(r.stdout).some((n) => n.Hostname === host && n.Status === "Ready");
    } catch {
      return false;
    }
  }, timeoutMs, 200);
  if (!ok) fail(`${host}: node not Ready within ${timeoutMs / 1000} s (${last.trim()}); log tail:\n${logTail(host)}`);
}

// ---------------------------------------------------------------------------------------------
// commands

function parseCount(args, flag, dflt) {
  const i = args.indexOf(flag);
  if (i < 0) return dflt;
  const v = args[i + 1];
  if (!v || !/^\d+$/.test(v)) fail(`${flag} needs a number`);
  return Number(v);
}

async function cmdUp(args) {
  for (const a of args) if (a.startsWith("-") && a !== "--managers" && a !== "--workers") fail(`up: unknown option ${a}`);
  const managers = parseCount(args, "--managers", 1);
  const workers = parseCount(args, "--workers", 0);
  if (managers < 1) fail("up: need at least one manager");
  if (managers + workers > 250) fail("up: at most 250 hosts (one /24 underlay)");
  if (process.getuid?.() !== 0) fail("up: must run as root (network namespaces, cgroups, runc)");
  if (!existsSync(join(repoRoot, "packages/tsd/dist/main.js"))) fail("up: tsd is not built (run `npm run build`)");
  if (loadState()) fail(`already up: ${dir} holds a cluster (run \`tc down\` first)`);
  if (ourNamespaces().length > 0) fail(`already up: namespaces ${ourNamespaces().join(", ")} exist (run \`tc down\` first)`);

  mkdirSync(dir, { recursive: true });
  /** @type {State} */
  const state = { dir, prefix, underlay: underlayNs, hosts: [] };
  let k = 0;
  for (let i = 1; i <= managers; i++) state.hosts.push({ name: `m${i}`, role: "manager", addr: `${subnet}.${++k}` });
  for (let i = 1; i <= workers; i++) state.hosts.push({ name: `w${i}`, role: "worker", addr: `${subnet}.${++k}` });
  // Saved first, so `down` finds everything even when `up` fails half-way.
  saveState(state);

  try {
    // The underlay: a bridge in a namespace of its own; no addresses, no routes, no uplink.
    ip("netns", "add", underlayNs);
    ip("-n", underlayNs, "link", "set", "lo", "up");
    ip("-n", underlayNs, "link", "add", bridge, "type", "bridge");
    ip("-n", underlayNs, "link", "set", bridge, "up");
    for (const h of state.hosts) {
      const ns = nsOf(h.name);
      ip("netns", "add", ns);
      ip("-n", ns, "link", "set", "lo", "up");
      // Created inside the underlay namespace with the peer placed straight into the host's:
      // no end of the pair ever exists in the root namespace.
      ip("-n", underlayNs, "link", "add", ulVeth(h.name), "type", "veth", "peer", "name", "eth0", "netns", ns);
      ip("-n", underlayNs, "link", "set", ulVeth(h.name), "master", bridge);
      ip("-n", underlayNs, "link", "set", ulVeth(h.name), "up");
      ip("-n", ns, "addr", "add", `${h.addr}/24`, "dev", "eth0");
      ip("-n", ns, "link", "set", "eth0", "up");
    }

    await Promise.all(
      state.hosts.map(async (h) => {
        h.pid = await startTsd(h.name);
        saveState(state);
        await waitReady(h.name, h.pid);
        console.log(`${h.name}  ${h.addr}  tsd pid ${h.pid}`);
      }),
    );

    const m1 = state.hosts[0];
    const init = await tsctl(m1.name, "swarm", "init", "--advertise-addr", m1.addr);
    if (init.code !== 0) fail(`m1: swarm init failed: ${(init.stderr || init.stdout).trim()}; log tail:\n${logTail(m1.name)}`);
    state.swarm = { manager: m1.name, addr: m1.addr };
    saveState(state);
    await waitNodeReady(m1.name);
    console.log(`${m1.name}: swarm initialized (advertise ${m1.addr}), node Ready`);

    for (const h of state.hosts.slice(1)) {
      const r = await joinHost(state, h);
      if (!r.joined) console.log(`${h.name}: runs standalone until \`swarm join\` lands (${r.notice})`);
    }
  } catch (err) {
    if (err instanceof TcError) {
      const [first, ...rest] = err.message.split("\n");
      fail([`${first} (cluster left half-made in ${dir}: run \`tc down\`)`, ...rest].join("\n"));
    }
    throw err;
  }
}

async function cmdExec(args) {
  const [name, ...rest] = args;
  if (!name) fail("usage: tc exec <host> -- <cmd...>");
  const state = requireState();
  requireHost(state, name);
  const cmd = rest[0] === "--" ? rest.slice(1) : rest;
  if (cmd.length === 0) fail("usage: tc exec <host> -- <cmd...>");
  const env = { ...process.env, TSCTL_HOST: `unix://${sockOf(name)}`, PATH: `${join(repoRoot, "bin")}:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}` };
  const child = spawn("nsenter", [`--net=/run/netns/${nsOf(name)}`, "--", ...cmd], { stdio: "inherit", env });
  // The terminal's ^C reaches the command itself (same process group): tc only waits for it.
  // Signals sent to tc alone are passed on.
  process.on("SIGINT", () => undefined);
  for (const sig of ["SIGTERM", "SIGHUP"]) process.on(sig, () => signal(child.pid, sig));
  const code = await new Promise((res) => {
    child.once("error", (err) => {
      process.stderr.write(`tc: exec: ${err.message}\n`);
      res(1);
    });
    child.once("exit", (c, sig) => res(c ?? 128 + (sig ? ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[sig] ?? 1) : 1)));
  });
  process.exitCode = code;
}

function cmdIp([name]) {
  if (!name) fail("usage: tc ip <host>");
  console.log(requireHost(requireState(), name).addr);
}

async function cmdKill([name]) {
  if (!name) fail("usage: tc kill <host>");
  const state = requireState();
  const h = requireHost(state, name);
  if (!tsdAlive(name, h.pid)) fail(`${name}: tsd is not running`);
  signal(h.pid, "SIGKILL");
  await waitUntil(() => !tsdAlive(name, h.pid), 5_000);
  // etcd goes with it (setpriv --pdeathsig KILL); wait so a `start` right after finds its ports free.
  await waitUntil(() => etcdPids(name).length === 0, 5_000);
  console.log(`${name}: tsd (pid ${h.pid}) killed`);
}

async function cmdStop([name]) {
  if (!name) fail("usage: tc stop <host>");
  const state = requireState();
  const h = requireHost(state, name);
  if (!tsdAlive(name, h.pid)) fail(`${name}: tsd is not running`);
  await stopTsd(name, h.pid, 20_000);
  console.log(`${name}: tsd (pid ${h.pid}) stopped`);
}

async function cmdStart([name]) {
  if (!name) fail("usage: tc start <host>");
  const state = requireState();
  const h = requireHost(state, name);
  if (tsdAlive(name, h.pid)) fail(`${name}: tsd is already running (pid ${h.pid})`);
  if (!existsSync(`/run/netns/${nsOf(name)}`)) fail(`${name}: namespace ${nsOf(name)} is gone (run \`tc down\` and \`tc up\`)`);
  h.pid = await startTsd(name);
  saveState(state);
  await waitReady(name, h.pid);
  console.log(`${name}: tsd started (pid ${h.pid})`);
}

function cmdPartition([name]) {
  if (!name) fail("usage: tc partition <host>");
  const state = requireState();
  const h = requireHost(state, name);
  ip("-n", underlayNs, "link", "set", ulVeth(name), "down");
  h.partitioned = true;
  saveState(state);
  console.log(`${name}: cut off the underlay`);
}

function cmdHeal() {
  const state = requireState();
  for (const h of state.hosts) {
    ip("-n", underlayNs, "link", "set", ulVeth(h.name), "up");
    h.partitioned = false;
  }
  // Neighbor entries that failed during the partition would hold back the first packets after it
  // for up to a few seconds of ARP retries; a healed underlay answers at once.
  for (const h of state.hosts) ipQuiet("-n", nsOf(h.name), "neigh", "flush", "dev", "eth0");
  saveState(state);
  console.log("underlay healed");
}

function cmdLs() {
  const state = requireState();
  const rows = [["HOST", "ROLE", "ADDRESS", "TSD PID", "TSD", "UNDERLAY"]];
  for (const h of state.hosts) {
    rows.push([h.name, h.role, h.addr, String(h.pid ?? "-"), tsdAlive(h.name, h.pid) ? "running" : "stopped", h.partitioned ? "partitioned" : "connected"]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] + 2))).join(""));
}

/**
 * cmdDown removes everything, best effort over whatever exists: hosts from the state file, host
 * directories under TC_DIR, and namespaces with this cluster's prefix the state file never recorded.
 */
async function cmdDown() {
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
  const pidOf = (h) => {
    const recorded = state?.hosts?.find((x) => x.name === h)?.pid;
    if (tsdAlive(h, recorded)) return recorded;
    return readdirSync("/proc").map(Number).find((p) => p && tsdAlive(h, p));
  };

  // 1. Every tsd: SIGTERM, SIGKILL after 10 s.
  await Promise.all([...hosts].map((h) => stopTsd(h, pidOf(h), 10_000)));

  // 2. Anything still running inside our namespaces (left over from `tc exec`, or a tsd whose pid
  //    the state file lost) is ours: kill it, so no process keeps a namespace alive.
  for (const ns of namespaces) for (const pid of pidsInNamespace(ns)) signal(pid, "SIGKILL");

  // 3. Per host, exactly what the test harness does: processes naming the host dir (tsd, etcd,
  //    conmon), container processes in the cgroup parent, mounts, cgroups, the dir.
  for (const h of hosts) await forceCleanup(hostDir(h), cgroupOf(h));

  // 4. Links and namespaces. Deleting a host's eth0 deletes its veth peer on the bridge.
  for (const ns of namespaces) {
    if (ns !== underlayNs) ipQuiet("-n", ns, "link", "del", "eth0");
  }
  for (const ns of [...namespaces.filter((n) => n !== underlayNs), ...namespaces.filter((n) => n === underlayNs)]) {
    await waitUntil(() => ipQuiet("netns", "del", ns) || !ourNamespaces().includes(ns), 3_000, 200);
  }
  const left = ourNamespaces();

  // 5. TC_DIR: only what tc made; anything else in it stays (and is reported).
  if (existsSync(dir)) {
    for (const e of readdirSync(dir)) if (e === "state.json" || /^state\.json\.\d+\.tmp$/.test(e)) rmSync(join(dir, e), { force: true });
    try {
      rmdirSync(dir);
    } catch (err) {
      if (err.code !== "ENOENT") process.stderr.write(`tc: kept ${dir}: ${err.code === "ENOTEMPTY" ? "it holds files tc did not create" : err.message}\n`);
    }
  }
  if (left.length > 0) fail(`down: namespaces still present: ${left.join(", ")}`);
  console.log(hosts.size + namespaces.length > 0 ? `down: removed ${[...hosts].join(", ") || "no hosts"} and ${namespaces.length} namespace(s)` : "down: nothing to remove");
}

const usage = `usage: tc <command>
  up --managers N --workers M   create the hosts m1..mN w1..wM, start their tsd, swarm init on m1
  exec <host> -- <cmd...>       run a command inside a host (TSCTL_HOST set, bin/ on PATH)
  ip <host>                     the host's underlay address
  kill <host> | stop <host> | start <host>
                                SIGKILL / SIGTERM / start again the host's tsd (and its etcd)
  partition <host> | heal       cut a host off the underlay / reconnect every host
  ls                            hosts, addresses, tsd pids
  down                          remove every process, mount, cgroup, veth, namespace and TC_DIR
state: $TC_DIR (default /tmp/tsctl-tc); namespaces ${prefix}*`;

async function main(argv) {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case "up":
      return cmdUp(args);
    case "exec":
      return cmdExec(args);
    case "ip":
      return cmdIp(args);
    case "kill":
      return cmdKill(args);
    case "stop":
      return cmdStop(args);
    case "start":
      return cmdStart(args);
    case "partition":
      return cmdPartition(args);
    case "heal":
      return cmdHeal();
    case "ls":
      return cmdLs();
    case "down":
      return cmdDown();
    case undefined:
    case "help":
    case "-h":
    case "--help":
      console.log(usage);
      return;
    default:
      fail(`unknown command "${cmd}" (see \`tc help\`)`);
  }
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`tc: ${err instanceof TcError ? err.message : err?.stack ?? String(err)}\n`);
  process.exit(1);
});
