// docker-cluster: a Docker Swarm of several real dockerds on simulated hosts, the baseline of
// bench/failover.mjs. The hosts are test-cluster's (`tc up --bare`): one network namespace each on the
// isolated 10.77.0.0/24 underlay, nothing running. Each host gets one dockerd (and the containerd that
// dockerd manages), every path under `<TC_DIR>/<host>/docker`, started through `tc exec` (nsenter
// --net: only the network namespace changes, so its mounts stay visible to the cleanup) inside a UTS
// namespace of its own, so the swarm node's hostname is the host's name as with tsd --hostname.
// Node built-ins only, so it runs without the repo being built.
//
// Kept away from the machine, and why: the same dockerd flags as docker-swarm.mjs (no iptables, no
// ip forwarding, no docker0, a private config file and identity key) and no registry look-up
// (DOCKER_SERVICE_PREFER_OFFLINE_IMAGE; services are created with --no-resolve-image). The swarm's
// interfaces (docker_gwbridge, the ingress sandbox, vxlan) are made inside the host's namespace and
// its sandbox namespaces are bind-mounted under the exec root. Container cgroups go under the host's
// cgroup parent as test-cluster names it (`tsctl-tc-<hash>-<host>`, absolute), so `tc down` alone
// removes them too. Outside the host dirs dockerd makes /run/docker/plugins and containerd's shims put
// their sockets in /run/containerd/s: stop() removes the sockets by name (sha256 of containerd's
// address, namespace and container id, as containerd names them) and the directories only when they
// did not exist before and are empty.
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { join, resolve } from "node:path";
import { cgroupDirs, forceCleanup, mountsUnder, pidsMentioning } from "../test/harness/cleanup.mjs";
import { apiGet, DOCKER_CLIENTS, DOCKERD, dockerdFlags, pidAlive, tail, terminate } from "./docker-swarm.mjs";
import { repoRoot } from "./lib.mjs";

const tcBin = join(repoRoot, "test-cluster/tc");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Directories outside the host dirs that dockerd and containerd create when missing. */
const sharedDirs = ["/run/docker/plugins", "/run/docker", "/run/containerd/s", "/run/containerd"];

/** DockerUnavailable: dockerd cannot run this way on this machine; the bench reports the reason. */
export class DockerUnavailable extends Error {}

/** @typedef {{ code: number, stdout: string, stderr: string }} Result */
/**
 * @typedef {{ name: string, role: "manager" | "worker", addr: string, dir: string, sock: string,
 *   cgroup: string, launcher?: import("node:child_process").ChildProcess, pid?: number }} Host
 */

/** exec runs a command and resolves with its exit code and output, never rejecting. @returns {Promise<Result>} */
function exec(cmd, args, options) {
  return new Promise((res) => {
    execFile(cmd, args, { maxBuffer: 16 << 20, ...options }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr || (err && !err.code ? err.message : "")) });
    });
  });
}

const lastLine = (r) => (r.stderr || r.stdout).trim().split("\n").pop() ?? "";

/**
 * dockerCluster returns an empty cluster after checking that dockerd can be tried here (it throws
 * DockerUnavailable otherwise). The caller owns it: `up()` builds it, `stop()` removes everything,
 * also after an `up()` that failed half-way.
 */
export function dockerCluster() {
  if (process.getuid?.() !== 0) throw new DockerUnavailable("dockerd needs root");
  if (!existsSync(DOCKERD)) throw new DockerUnavailable(`${DOCKERD} not installed (Debian package docker.io)`);
  const client = DOCKER_CLIENTS.find((c) => existsSync(c));
  if (!client) throw new DockerUnavailable("no docker client (/usr/bin/docker) installed");
  if (!["/usr/bin/unshare", "/bin/unshare"].some((p) => existsSync(p))) throw new DockerUnavailable("unshare (util-linux) not installed");
  return new DockerCluster(client);
}

/** DockerCluster owns the hosts, their dockerds and everything they leave; stop() removes it all. */
export class DockerCluster {
  constructor(client) {
    this.client = client;
    /** @type {Host[]} */
    this.hosts = [];
    this.tcDir = "";
    this.storageDriver = process.env.BENCH_DOCKER_STORAGE_DRIVER || "overlay2";
    this.version = "?";
    this.sharedBefore = new Set(sharedDirs.filter((d) => existsSync(d)));
    this.stopping = undefined;
  }

  get managers() {
    return this.hosts.filter((h) => h.role === "manager").map((h) => h.name);
  }

  host(name) {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`docker cluster: unknown host ${name}`);
    return h;
  }

  /** tc runs test-cluster's tc on this cluster's TC_DIR. */
  tc(...args) {
    return exec(tcBin, args, { env: { ...process.env, TC_DIR: this.tcDir }, timeout: 120_000 });
  }

  /**
   * up builds `managers` + `workers` bare test-cluster hosts, one dockerd in each, and a swarm over
   * them: init on m1, the other managers joined one at a time, the workers in parallel; then loads
   * the image tar on every host. DockerUnavailable when dockerd cannot run in a host.
   */
  async up({ managers, workers, imageTar }) {
    // Short: containerd's sockets live below it (108 bytes at most).
    this.tcDir = resolve(await mkdtemp("/tmp/bench-dk."));
    const up = await this.tc("up", "--bare", "--managers", String(managers), "--workers", String(workers));
    if (up.code !== 0) throw new DockerUnavailable(`tc up --bare failed: ${lastLine(up)}`);
    // test-cluster/README.md: "<hash> is the first 6 hex digits of sha256(absolute TC_DIR)".
    const hash = createHash("sha256").update(this.tcDir).digest("hex").slice(0, 6);
    const names = [...Array.from({ length: managers }, (_, i) => `m${i + 1}`), ...Array.from({ length: workers }, (_, i) => `w${i + 1}`)];
    for (const name of names) {
      const addr = (await this.tc("ip", name)).stdout.trim();
      const dir = join(this.tcDir, name, "docker");
      mkdirSync(join(dir, "client"), { recursive: true });
      // 20.10 takes the identity key's path only from the config file; the default is /etc/docker.
      writeFileSync(join(dir, "daemon.json"), JSON.stringify({ "deprecated-key-path": join(dir, "key.json") }) + "\n");
      this.hosts.push({ name, role: name.startsWith("m") ? "manager" : "worker", addr, dir, sock: join(dir, "docker.sock"), cgroup: `tsctl-tc-${hash}-${name}` });
    }

    // The first daemon decides the storage driver: overlay2 fails on some filesystems, vfs works anywhere.
    const [m1, ...rest] = this.hosts;
    try {
      await this.start(m1.name);
    } catch (err) {
      if (process.env.BENCH_DOCKER_STORAGE_DRIVER) throw new DockerUnavailable(`dockerd cannot start in a host: ${err.message}`);
      await this.kill(m1.name).catch(() => undefined);
      for (const sub of ["data", "x"]) await forceCleanup(join(m1.dir, sub), m1.cgroup);
      this.storageDriver = "vfs";
      await this.start(m1.name).catch((err2) => {
        throw new DockerUnavailable(`dockerd cannot start in a host (overlay2: ${err.message}; vfs: ${err2.message})`);
      });
    }
    await Promise.all(rest.map((h) => this.start(h.name)));
    this.version = JSON.parse((await this.dockerOk(m1.name, "version", "--format", "{{json .Server.Version}}")).stdout);

    const init = await this.docker(m1.name, "swarm", "init", "--advertise-addr", m1.addr);
    if (init.code !== 0) throw new DockerUnavailable(`docker swarm init failed: ${lastLine(init)}`);
    for (const h of rest.filter((x) => x.role === "manager")) await this.join(h, "manager");
    await Promise.all(rest.filter((x) => x.role === "worker").map((h) => this.join(h, "worker")));
    await this.waitFormed(m1.name);
    await Promise.all(this.hosts.map((h) => this.dockerOk(h.name, "load", "-i", imageTar)));
  }

  async join(h, role) {
    const m1 = this.hosts[0];
    const token = (await this.dockerOk(m1.name, "swarm", "join-token", "-q", role)).stdout.trim();
    await this.dockerOk(h.name, "swarm", "join", "--token", token, "--advertise-addr", h.addr, `${m1.addr}:2377`);
  }

  /** waitFormed waits until `node ls` on a manager lists every host Ready, managers Leader or Reachable. */
  async waitFormed(manager, timeoutMs = 120_000) {
    const deadline = Date.now() + timeoutMs;
    let rows;
    while (Date.now() < deadline) {
      rows = await this.nodes(manager);
      const ok =
        rows?.length === this.hosts.length &&
        this.hosts.every((h) => rows.some((n) => n.Hostname === h.name && n.Status === "Ready" && (h.role === "worker" || ["Leader", "Reachable"].includes(n.ManagerStatus))));
      if (ok) return;
      await sleep(200);
    }
    throw new Error(`docker swarm not formed within ${timeoutMs / 1000} s: ${JSON.stringify(rows?.map((n) => `${n.Hostname} ${n.Status} ${n.ManagerStatus}`))}`);
  }

  /** docker runs the docker CLI against a host's daemon. @returns {Promise<Result>} */
  docker(host, ...args) {
    const h = this.host(host);
    const env = { ...process.env, DOCKER_CONFIG: join(h.dir, "client") };
    delete env.DOCKER_HOST;
    delete env.DOCKER_CONTEXT;
    delete env.DOCKER_TLS_VERIFY;
    return exec(this.client, ["-H", `unix://${h.sock}`, ...args], { env, timeout: 60_000 });
  }

  async dockerOk(host, ...args) {
    const r = await this.docker(host, ...args);
    if (r.code !== 0) throw new Error(`${host}: docker ${args.join(" ")}: ${lastLine(r)}`);
    return r;
  }

  /** nodes is `node ls` as a host's daemon sees it; undefined when it does not answer. */
  async nodes(host) {
    const r = await this.docker(host, "node", "ls", "--format", "{{json .}}");
    return r.code === 0 ? jsonLines(r.stdout) : undefined;
  }

  /**
   * start launches the host's dockerd and waits until its API answers. A host that was in the swarm
   * rejoins by itself from its data root.
   */
  async start(name) {
    const h = this.host(name);
    if (h.pid && pidAlive(h.pid, h.dir)) throw new Error(`${name}: dockerd already running (pid ${h.pid})`);
    const log = join(h.dir, "dockerd.log");
    const fd = openSync(log, "a");
    const cmd = ["unshare", "--uts", "--", "/bin/sh", "-c", 'hostname "$0" && exec "$@"', name, DOCKERD, ...dockerdFlags(h.dir, this.storageDriver, `/${h.cgroup}`)];
    const env = { ...process.env, TC_DIR: this.tcDir, DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: "1" };
    // Own session: a ^C to the bench reaches the bench alone, which then stops every daemon in order.
    const launcher = spawn(tcBin, ["exec", name, "--", ...cmd], { env, detached: true, stdio: ["ignore", fd, fd] });
    closeSync(fd);
    let exited = null;
    launcher.once("exit", (code, signal) => (exited = code ?? signal));
    launcher.once("error", (err) => (exited = err.message));
    h.launcher = launcher;
    h.pid = undefined;
    const pidFile = join(h.dir, "dockerd.pid");
    for (let i = 0; i < 600; i++) {
      if (exited !== null) throw new Error(`${name}: dockerd exited (${exited}): ${await tail(log, 2)}`);
      if (existsSync(h.sock) && existsSync(pidFile)) {
        const ok = await apiGet(h.sock, "/_ping", 2000).then(
          () => true,
          () => false,
        );
        const pid = Number(readFileSync(pidFile, "utf8").trim());
        if (ok && pidAlive(pid, h.dir)) {
          h.pid = pid;
          return;
        }
      }
      await sleep(100);
    }
    throw new Error(`${name}: dockerd did not answer within 60 s: ${await tail(log, 2)}`);
  }

  /** kill sends SIGKILL to the host's dockerd and waits until it and its containerd are gone. */
  async kill(name) {
    const h = this.host(name);
    if (!h.pid || !pidAlive(h.pid, h.dir)) throw new Error(`${name}: dockerd is not running`);
    const containerd = this.containerdPid(h);
    process.kill(h.pid, "SIGKILL");
    // containerd goes with it (dockerd starts it with a parent-death signal); the shims and the
    // containers stay, as on a real host whose daemon died.
    for (let i = 0; i < 100 && (pidAlive(h.pid, h.dir) || (containerd && pidAlive(containerd, h.dir))); i++) await sleep(50);
    if (pidAlive(h.pid, h.dir)) throw new Error(`${name}: dockerd (pid ${h.pid}) survived SIGKILL`);
  }

  containerdPid(h) {
    try {
      return Number(readFileSync(join(h.dir, "x/containerd/containerd.pid"), "utf8").trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  /** stop removes everything the cluster made; every call shares the one run. */
  stop() {
    return (this.stopping ??= this.doStop());
  }

  async doStop() {
    // 1. Every dockerd: SIGTERM (it stops its containers, then its containerd), SIGKILL after 20 s.
    await Promise.all(this.hosts.map((h) => (h.pid ? terminate(h.pid, h.dir, 20_000) : undefined)));
    // 2. Shim sockets of every container these daemons ever made (a killed shim leaves its socket).
    const shimSockets = this.hosts.flatMap((h) => {
      const address = join(h.dir, "x/containerd/containerd.sock");
      let ids = [];
      try {
        ids = readdirSync(join(h.dir, "data/containers"));
      } catch {
        // no containers
      }
      return ids.map((id) => `/run/containerd/s/${createHash("sha256").update(join(address, "moby", id)).digest("hex")}`);
    });
    // 3. Per host, what is left: processes naming the host's docker dir (a shim that outlived a
    //    kill -9), container processes in the cgroup parent, mounts, cgroups, the dir.
    for (const h of this.hosts) await forceCleanup(h.dir, h.cgroup);
    for (const s of shimSockets) rmSync(s, { force: true });
    for (const d of sharedDirs) {
      if (this.sharedBefore.has(d)) continue;
      try {
        rmdirSync(d); // only when empty: another daemon on the machine may use it now
      } catch {
        // not empty, or gone
      }
    }
    // 4. The hosts: namespaces, veths, TC_DIR.
    if (this.tcDir) {
      const down = await this.tc("down");
      if (down.code !== 0) console.log(`docker cluster: tc down failed: ${lastLine(down)}`);
      const left = await this.leftovers();
      if (left.length) console.log(`docker cluster: left behind: ${left.join("; ")}`);
    }
  }

  /** leftovers lists what a stop() should have removed and did not (processes, mounts, cgroups, dirs). */
  async leftovers() {
    const left = [];
    const pids = await pidsMentioning(this.tcDir);
    if (pids.length) left.push(`processes ${pids.join(", ")}`);
    const mounts = await mountsUnder(this.tcDir);
    if (mounts.length) left.push(`mounts ${mounts.join(", ")}`);
    for (const h of this.hosts) {
      const cg = await cgroupDirs(h.cgroup);
      if (cg.length) left.push(`cgroups ${cg.join(", ")}`);
    }
    if (existsSync(this.tcDir)) left.push(`directory ${this.tcDir}`);
    return left;
  }
}

/** jsonLines parses the docker CLI's `--format '{{json .}}'` output, one object a line. */
export function jsonLines(stdout) {
  return stdout
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}
