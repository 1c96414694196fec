// A private, single-node Docker Swarm for benchmarks: its own dockerd (and the containerd that dockerd
// manages) with every path under one temp dir, swarm bound to 127.0.0.1 only, torn down completely by
// stop(). Node built-ins only, so it runs without the repo being built.
//
// What the daemon is kept away from, and why:
// - the network: no registry look-ups at all. `service create --no-resolve-image` stops the CLI asking
//   a registry for the tag's digest, and DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 stops the swarm
//   executor trying `docker pull` before every task (it would do DNS look-ups against the host's
//   resolver otherwise). Swarm listens and advertises on 127.0.0.1 only.
// - host state: --iptables=false/--ip-forward=false/--ip-masq=false leave the host's netfilter and
//   sysctls alone; --bridge=none makes no docker0 (tasks get a network namespace with only lo, as
//   tsctl's tasks do); a private --config-file (setting deprecated-key-path) keeps /etc/docker untouched;
//   a per-run --cgroup-parent keeps container cgroups apart and removable. Swarm still creates
//   docker_gwbridge (and a veth) for its ingress sandbox: stop() deletes links that were not there
//   before, and the few directories dockerd/containerd make outside the temp dir (/run/docker,
//   /run/containerd) if they did not exist before.
import { execFile, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from "node:fs";
import { mkdtemp, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const DOCKERD = "/usr/sbin/dockerd";
export const DOCKER_CLIENTS = ["/usr/bin/docker", "/usr/local/bin/docker"];
/** Convergence poll interval: the same as tsctl's CLI uses when it waits for a service. */
const POLL_MS = 100;

/** The reason the last startDockerSwarm() returned null, for the bench's table. */
export let dockerSkipReason = "";

function skip(reason) {
  dockerSkipReason = reason;
  console.log(`docker swarm: skipped: ${reason}`);
  return null;
}

/** linkNames lists the host's network interface names. */
async function linkNames() {
  const { stdout } = await run("ip", ["-o", "link", "show"]);
  return new Set(
    stdout
      .split("\n")
      .map((l) => l.split(": ")[1]?.split("@")[0])
      .filter(Boolean),
  );
}

/** mountsUnder lists mount points at or below dir, deepest first. */
function mountsUnder(dir) {
  const unescape = (s) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter(Boolean)
    .map(unescape)
    .filter((m) => m === dir || m.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
}

/** cgroupRoots lists the mount points of the cgroup hierarchies (v1 controllers and the v2 one). */
function cgroupRoots() {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => l.split(" ")[4]);
}

/** rmdirTree removes the empty directories of a tree, deepest first (in cgroupfs only dirs count). */
async function rmdirTree(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) await rmdirTree(join(dir, e.name));
  await rmdir(dir).catch(() => undefined);
}

/** pidAlive says whether pid still runs and its command line mentions marker (guards against reuse). */
export function pidAlive(pid, marker) {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (/\) Z /.test(stat)) return false;
    return marker === undefined || cmd.includes(marker);
  } catch {
    return false;
  }
}

/** pidsMentioning lists processes whose command line contains marker (our temp dir). */
function pidsMentioning(marker) {
  const pids = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").includes(marker)) pids.push(Number(name));
    } catch {
      // gone
    }
  }
  return pids;
}

/** terminate sends SIGTERM, waits up to graceMs, then SIGKILL; resolves when the process is gone. */
export async function terminate(pid, marker, graceMs) {
  if (!pidAlive(pid, marker)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  for (let t = 0; t < graceMs && pidAlive(pid, marker); t += 100) await sleep(100);
  if (!pidAlive(pid, marker)) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  for (let i = 0; i < 50 && pidAlive(pid, marker); i++) await sleep(100);
}

/** freeLoopbackPort asks the kernel for a free TCP port on 127.0.0.1. */
function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** apiGet does GET path on the Docker API over a unix socket and returns the parsed JSON. */
export function apiGet(socketPath, path, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: "GET", timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode >= 400) return reject(new Error(`GET ${path}: ${res.statusCode} ${body.trim()}`));
        try {
          resolve(body ? JSON.parse(body) : null);
        } catch {
          resolve(body);
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path}: timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** tail returns the last lines of a file, for error messages. */
export async function tail(file, lines = 5) {
  try {
    return (await readFile(file, "utf8")).trim().split("\n").slice(-lines).join(" | ");
  } catch {
    return "";
  }
}

/** dockerdFlags is the command line for our private daemon. */
export function dockerdFlags(dir, storageDriver, cgroupParent) {
  return [
    "--data-root", join(dir, "data"),
    "--exec-root", join(dir, "x"),
    "--pidfile", join(dir, "dockerd.pid"),
    "-H", `unix://${join(dir, "docker.sock")}`,
    "--config-file", join(dir, "daemon.json"),
    "--storage-driver", storageDriver,
    "--iptables=false",
    "--ip6tables=false",
    "--ip-forward=false",
    "--ip-masq=false",
    "--bridge=none",
    "--userland-proxy=false",
    "--cgroup-parent", cgroupParent,
    "--shutdown-timeout", "2",
    "--log-level", process.env.BENCH_DOCKERD_LOG_LEVEL ?? "warn",
  ];
}

/**
 * startDockerSwarm starts a private dockerd in swarm mode. It returns null (after printing one line
 * why, also left in dockerSkipReason) when dockerd is not installed or cannot run here.
 */
export async function startDockerSwarm() {
  dockerSkipReason = "";
  if (!existsSync(DOCKERD)) return skip(`${DOCKERD} not installed (Debian package docker.io)`);
  const client = DOCKER_CLIENTS.find((c) => existsSync(c));
  if (!client) return skip("no docker client (/usr/bin/docker) installed");
  if (process.getuid?.() !== 0) return skip("dockerd needs root");

  const linksBefore = await linkNames().catch(() => new Set());
  // Directories made outside the temp dir: dockerd's plugin dir, the containerd shims' socket dir, and
  // libmount's utab dir (made by umount -l).
  const preexisting = Object.fromEntries(["/run/docker", "/run/containerd", "/run/mount"].map((p) => [p, existsSync(p)]));
  const dir = await mkdtemp("/tmp/dswarm.");
  const cgroupParent = `/tsctl-bench-docker-${process.pid}`;
  const sock = join(dir, "docker.sock");
  const env = {
    ...process.env,
    DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: "1",
    DOCKER_CONFIG: join(dir, "client"),
    DOCKER_HOST: `unix://${sock}`,
  };
  delete env.DOCKER_CONTEXT;
  delete env.DOCKER_TLS_VERIFY;
  // The daemon's identity key would go to /etc/docker/key.json; 20.10 takes its path only from the
  // config file (the flag is gone, the key stayed).
  await writeFile(join(dir, "daemon.json"), JSON.stringify({ "deprecated-key-path": join(dir, "key.json") }) + "\n");

  let proc;
  let flags = [];
  let containerdPid;

  const docker = (...args) => run(client, ["-H", `unix://${sock}`, ...args], { env, maxBuffer: 64 << 20, timeout: 300_000 });

  /** cleanup ends every process and removes every trace; every call shares the one run. */
  let cleaning;
  const cleanup = () => (cleaning ??= doCleanup());
  async function doCleanup() {
    const dockerdPid = proc?.pid;
    if (dockerdPid && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once("exit", r));
      await terminate(dockerdPid, dir, 20_000);
      await Promise.race([exited, sleep(2000)]);
    }
    // dockerd ends its managed containerd on SIGTERM; make sure, by PID, and end any shim or
    // container process of ours that outlived it.
    if (containerdPid) await terminate(containerdPid, dir, 5000);
    const runcRoot = join(dir, "x", "runtime-runc");
    if (existsSync(runcRoot)) {
      for (const ns of readdirSync(runcRoot)) {
        const root = join(runcRoot, ns);
        const { stdout } = await run("runc", ["--root", root, "list", "-q"]).catch(() => ({ stdout: "" }));
        for (const id of stdout.split("\n").filter(Boolean)) {
          await run("runc", ["--root", root, "delete", "--force", id]).catch(() => undefined);
        }
      }
    }
    for (const pid of pidsMentioning(dir)) await terminate(pid, dir, 2000);

    for (const m of mountsUnder(dir)) await run("umount", ["-l", m]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true }).catch((err) => console.log(`docker swarm: could not remove ${dir}: ${err.message}`));

    const linksNow = await linkNames().catch(() => new Set());
    for (const name of linksNow) {
      if (linksBefore.has(name) || !/^(docker0|docker_gwbridge|veth|br-|vx-|ov-)/.test(name)) continue;
      await run("ip", ["link", "delete", name]).catch(() => undefined);
    }
    for (const root of cgroupRoots()) await rmdirTree(join(root, cgroupParent));
    // dockerd makes "docker" cgroups only when the default parent is used; we pass our own.
    for (const [p, existed] of Object.entries(preexisting)) {
      if (existed) continue;
      if (p === "/run/mount") await rmdirTree(p); // shared with every mount(8): only if empty
      else await rm(p, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** launch starts dockerd with a storage driver and waits until the API answers. */
  async function launch(storageDriver) {
    flags = dockerdFlags(dir, storageDriver, cgroupParent);
    const log = join(dir, `dockerd-${storageDriver}.log`);
    const fd = openSync(log, "a");
    proc = spawn(DOCKERD, flags, { env, stdio: ["ignore", fd, fd] });
    closeSync(fd);
    let exit = null;
    proc.once("exit", (code, signal) => (exit = { code, signal }));
    proc.once("error", (err) => (exit = { code: err.message }));
    for (let i = 0; i < 300; i++) {
      if (exit) return { ok: false, why: `dockerd exited (${exit.code ?? exit.signal}): ${await tail(log, 1)}` };
      if (existsSync(sock)) {
        try {
          const info = await apiGet(sock, "/info");
          return { ok: true, info };
        } catch {
          // not ready yet
        }
      }
      await sleep(100);
    }
    await terminate(proc.pid, dir, 10_000);
    return { ok: false, why: `dockerd did not answer within 30 s: ${await tail(log, 1)}` };
  }

  try {
    // overlay2 can fail on some filesystems (overlay on overlay, no d_type): vfs always works.
    // BENCH_DOCKER_STORAGE_DRIVER picks one driver instead.
    const drivers = process.env.BENCH_DOCKER_STORAGE_DRIVER ? [process.env.BENCH_DOCKER_STORAGE_DRIVER] : ["overlay2", "vfs"];
    const failures = [];
    let started;
    for (const driver of drivers) {
      started = await launch(driver);
      if (started.ok) break;
      failures.push(`${driver}: ${started.why}`);
      for (const pid of pidsMentioning(dir)) await terminate(pid, dir, 2000);
      for (const m of mountsUnder(dir)) await run("umount", ["-l", m]).catch(() => undefined);
      for (const p of ["data", "x", "docker.sock"]) await rm(join(dir, p), { recursive: true, force: true }).catch(() => undefined);
    }
    if (!started.ok) {
      await cleanup();
      return skip(`dockerd cannot start here (${failures.join("; ")})`);
    }
    const pidFile = join(dir, "x", "containerd", "containerd.pid");
    if (existsSync(pidFile)) containerdPid = Number((await readFile(pidFile, "utf8")).trim()) || undefined;

    const port = await freeLoopbackPort();
    try {
      await docker("swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", `127.0.0.1:${port}`, "--data-path-addr", "127.0.0.1");
    } catch (err) {
      await cleanup();
      return skip(`docker swarm init failed: ${(err.stderr || err.message).trim().split("\n").pop()}`);
    }
    // Ctrl-C or a kill while the bench runs must not leave a dockerd behind.
    const onSignal = (signal) => {
      console.log(`docker swarm: ${signal}: stopping the private dockerd`);
      cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const unhook = () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    };
    const version = started.info?.ServerVersion ?? "?";
    const driver = started.info?.Driver ?? "?";
    return {
      dir,
      version,
      storageDriver: driver,
      flags: () => [...flags],
      socket: sock,
      docker,
      api: (path) => apiGet(sock, path),
      loadImage: (tarPath) => docker("load", "-i", tarPath),
      async stop() {
        if (cleaning) return cleaning;
        try {
          const { stdout } = await docker("service", "ls", "-q");
          const ids = stdout.split("\n").filter(Boolean);
          if (ids.length) await docker("service", "rm", ...ids);
        } catch {
          // the daemon may be gone already
        }
        await docker("swarm", "leave", "--force").catch(() => undefined);
        await cleanup();
        unhook();
      },
    };
  } catch (err) {
    await cleanup();
    return skip(`dockerd setup failed: ${err.message}`);
  }
}

/** listTasks returns the service's tasks (all desired states). */
function listTasks(handle, service) {
  return handle.api(`/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service] }))}`);
}

/**
 * convergence mirrors the docker CLI's (and tsctl's) notion of a converged replicated service: n
 * slots whose newest task meant to run is running. Scaled-down tasks stop counting as soon as the
 * orchestrator marks them for removal, as in `docker service scale` without --detach.
 */
function convergence(tasks, n) {
  const newest = new Map();
  for (const t of tasks) {
    if (t.DesiredState !== "running") continue;
    const cur = newest.get(t.Slot);
    if (!cur || Date.parse(t.CreatedAt) > Date.parse(cur.CreatedAt)) newest.set(t.Slot, t);
  }
  const running = [...newest.values()].filter((t) => t.Status?.State === "running").length;
  return { running, slots: newest.size, converged: running === n && newest.size === n };
}

async function waitConverged(handle, service, n, what, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  let last = { running: 0, slots: 0 };
  for (;;) {
    last = convergence(await listTasks(handle, service), n);
    if (last.converged) return;
    if (Date.now() > deadline) throw new Error(`${what}: not converged after ${timeoutMs / 1000} s (${last.running}/${n} running, ${last.slots} slots)`);
    await sleep(POLL_MS);
  }
}

/**
 * measureSwarmCreate times `docker service create --replicas N` until N tasks run, then scaling to 10
 * and back to N (each until converged), then removes the service and waits until its containers are
 * gone. The CLI runs with --detach and convergence is polled every 100 ms, as tsctl's CLI does:
 * without --detach docker 20.10's CLI also waits for convergence but then adds its fixed 5 s
 * stability monitor ("verify: Waiting N seconds to verify that tasks are stable"), which is not
 * orchestration work.
 */
export async function measureSwarmCreate(handle, image, replicas) {
  const name = "bench";
  await handle.docker("service", "rm", name).catch(() => undefined);
  const elapsed = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

  const t0 = process.hrtime.bigint();
  // A short stop grace keeps the removal between rounds quick (sleep as PID 1 ignores SIGTERM).
  await handle.docker("service", "create", "--detach", "--no-resolve-image", "--stop-grace-period", "1s", "--name", name, "--replicas", String(replicas), image, "sleep", "3600");
  await waitConverged(handle, name, replicas, "service create");
  const createMs = elapsed(t0);

  const t1 = process.hrtime.bigint();
  await handle.docker("service", "scale", "--detach", `${name}=10`);
  await waitConverged(handle, name, 10, "scale down");
  const scaleDownMs = elapsed(t1);

  const t2 = process.hrtime.bigint();
  await handle.docker("service", "scale", "--detach", `${name}=${replicas}`);
  await waitConverged(handle, name, replicas, "scale up");
  const scaleUpMs = elapsed(t2);

  const t3 = process.hrtime.bigint();
  await handle.docker("service", "rm", name);
  for (let i = 0; ; i++) {
    const left = await handle.api("/containers/json?all=1");
    if (left.length === 0) break;
    if (i > 1200) throw new Error(`service rm: ${left.length} containers still there after 120 s`);
    await sleep(POLL_MS);
  }
  const removeMs = elapsed(t3);
  return { createMs, scaleUpMs, scaleDownMs, removeMs };
}
