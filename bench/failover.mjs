// failover: on 5 simulated hosts (3 managers, 2 workers: network namespaces on one machine's isolated
// underlay), time
//   leader failover   kill -9 of the leader's daemon → a write accepted by another manager
//   node failure      kill -9 of a worker's daemon → every replica of a 6-replica service running on
//                     other nodes
// for tsctl (test-cluster: real tsd, etcd, runc) against the targets (2 s and 5 s at default
// settings), then for Docker Swarm on the same kind of hosts (docker-cluster.mjs: one dockerd per
// host), both at default settings and measured by the same code below through one small interface
// per system. The killed daemon is started again after each scenario.
import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { dockerCluster, DockerUnavailable, jsonLines } from "./docker-cluster.mjs";
import { ms, now, repoRoot, table } from "./lib.mjs";

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const replicas = 6;
/** A scenario that has not converged after this long is reported as "> cap". */
const capMs = 90_000;
const tcBin = join(repoRoot, "test-cluster/tc");
const busybox = join(repoRoot, ".cache/busybox.tar");
const sleep = (t) => new Promise((r) => setTimeout(r, t));

/**
 * System is what the scenarios need from an orchestrator on the 5 hosts m1 m2 m3 w1 w2; `cli` runs
 * its CLI against one host's daemon and never rejects.
 * @typedef {{
 *   name: string,
 *   managers: string[],
 *   cli: (host: string, ...args: string[]) => Promise<{ code: number, stdout: string, stderr: string }>,
 *   list: (stdout: string) => any[],
 *   jsonFormat: string,
 *   kill: (host: string) => Promise<void>,
 *   start: (host: string) => Promise<void>,
 *   rebalance: (manager: string) => Promise<void>,
 * }} System
 */

/** sorted orders times ascending; null (did not converge within the cap) counts as the largest. */
const sorted = (values) => [...values].sort((a, b) => (a ?? Infinity) - (b ?? Infinity));
const median = (values) => sorted(values)[Math.floor(values.length / 2)];
const show = (v) => (v === null ? `>${capMs}` : String(v));
const spread = (values) => `${show(sorted(values)[0])}–${show(sorted(values).at(-1))}`;

async function until(what, fn, timeoutMs = 60_000, stepMs = 50) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await sleep(stepMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** within polls fn like until, but reports the elapsed ms since t0, or null after the cap. */
async function within(t0, fn, stepMs) {
  for (;;) {
    if (await fn()) return Math.round(ms(t0));
    if (ms(t0) > capMs) return null;
    await sleep(stepMs);
  }
}

async function nodes(sys, host) {
  const r = await sys.cli(host, "node", "ls", "--format", sys.jsonFormat);
  return r.code === 0 ? sys.list(r.stdout) : undefined;
}

async function leaderHost(sys) {
  for (const h of sys.managers) {
    const list = await nodes(sys, h).catch(() => undefined);
    const leader = list?.find((n) => n.ManagerStatus === "Leader");
    if (leader) return leader.Hostname;
  }
  throw new Error(`${sys.name}: no leader found`);
}

/** leaderFailover kills the leader and times until another manager accepts a write. */
async function leaderFailover(sys, round) {
  const leader = await leaderHost(sys);
  const other = sys.managers.find((h) => h !== leader);
  await sys.kill(leader);
  const t0 = now();
  const failoverMs = await within(t0, async () => (await sys.cli(other, "service", "update", "--detach", "--label-add", `round=${round}`, "web")).code === 0, 20);
  await sys.start(leader);
  await until(`${leader} back as a reachable manager`, async () => {
    const list = await nodes(sys, other).catch(() => undefined);
    return list?.find((n) => n.Hostname === leader && (n.ManagerStatus === "Reachable" || n.ManagerStatus === "Leader") && n.Status === "Ready");
  }, 120_000);
  return failoverMs;
}

/** placement counts the running replicas of web on host and elsewhere, as a manager sees them. */
async function placement(sys, manager, host) {
  const r = await sys.cli(manager, "service", "ps", "web", "--filter", "desired-state=running", "--format", sys.jsonFormat);
  if (r.code !== 0) return { on: -1, elsewhere: -1 };
  const running = sys.list(r.stdout).filter((t) => /^Running/.test(t.CurrentState));
  return { on: running.filter((t) => t.Node === host).length, elsewhere: running.filter((t) => t.Node !== host).length };
}

/** nodeFailure kills a worker that runs replicas and times until all run elsewhere. */
async function nodeFailure(sys) {
  const manager = await leaderHost(sys);
  const victim = "w2";
  await until("all replicas running, some on the victim", async () => {
    const p = await placement(sys, manager, victim);
    return p.on > 0 && p.on + p.elsewhere === replicas;
  }, 120_000);
  await sys.kill(victim);
  const t0 = now();
  const recoveryMs = await within(t0, async () => (await placement(sys, manager, victim)).elsewhere === replicas, 50);
  await sys.start(victim);
  await until(`${victim} Ready`, async () => (await nodes(sys, manager))?.some((n) => n.Hostname === victim && n.Status === "Ready"), 120_000);
  // Let the scheduler use the worker again before the next round.
  await sys.rebalance(manager);
  return recoveryMs;
}

/** measure runs both scenarios `rounds` times on a system whose service `web` runs. */
async function measure(sys) {
  const failovers = [];
  const recoveries = [];
  for (let i = 0; i < rounds; i++) {
    failovers.push(await leaderFailover(sys, i));
    recoveries.push(await nodeFailure(sys));
    console.log(`  ${sys.name} round ${i + 1}: leader failover ${show(failovers.at(-1))} ms, node-failure recovery ${show(recoveries.at(-1))} ms`);
  }
  return { failovers, recoveries };
}

/** tcRunner runs test-cluster/tc on one cluster directory; it never rejects. */
function tcRunner(dir) {
  return (...args) =>
    new Promise((resolve) => {
      execFile(tcBin, args, { env: { ...process.env, TC_DIR: dir }, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
      });
    });
}

/** measureTsctl builds a test-cluster (3 managers, 2 workers), runs the service and measures. */
async function measureTsctl(cleanups) {
  const tc = tcRunner(await mkdtemp("/tmp/bench-tc."));
  const down = () => tc("down");
  cleanups.add(down);
  const tcOk = async (...args) => {
    const r = await tc(...args);
    if (r.code !== 0) throw new Error(`tc ${args.join(" ")} failed: ${(r.stderr || r.stdout).trim()}`);
  };
  const tsctl = (host, ...args) => tc("exec", host, "--", "tsctl", ...args);
  /** @type {System} */
  const sys = {
    name: "tsctl",
    managers: ["m1", "m2", "m3"],
    cli: tsctl,
    list: (stdout) => JSON.parse(stdout),
    jsonFormat: "json",
    kill: (h) => tcOk("kill", h),
    start: (h) => tcOk("start", h),
    rebalance: async (manager) => void (await tsctl(manager, "service", "update", "--force", "web")),
  };
  try {
    console.log("failover: building a test-cluster (3 managers, 2 workers)...");
    await tcOk("up", "--managers", "3", "--workers", "2");
    for (const h of ["m1", "m2", "m3", "w1", "w2"]) {
      const l = await tsctl(h, "image", "load", "-i", busybox);
      if (l.code !== 0) throw new Error(`${h}: image load failed: ${(l.stderr || l.stdout).trim()}`);
    }
    const c = await tsctl(await leaderHost(sys), "service", "create", "--name", "web", "--replicas", String(replicas), "--stop-grace-period", "1s", "busybox:latest", "sleep", "3600");
    if (c.code !== 0) throw new Error(`service create failed: ${(c.stderr || c.stdout).trim()}`);
    return await measure(sys);
  } finally {
    await down();
    cleanups.delete(down);
  }
}

/**
 * measureDocker does the same on a Docker Swarm of 3 managers and 2 workers, one dockerd per host:
 * {result, about} or {reason} when it could not run.
 */
async function measureDocker(cleanups) {
  let cluster;
  try {
    console.log("failover: building a Docker Swarm (3 managers, 2 workers, one dockerd per host)...");
    const c = (cluster = dockerCluster());
    cleanups.add(() => c.stop());
    await c.up({ managers: 3, workers: 2, imageTar: busybox });
    /** @type {System} */
    const sys = {
      name: "docker",
      managers: c.managers,
      cli: (host, ...args) => c.docker(host, ...args),
      list: jsonLines,
      jsonFormat: "{{json .}}",
      kill: (h) => c.kill(h),
      start: (h) => c.start(h),
      // --detach: without it the 20.10 CLI adds a fixed 5 s stability wait after convergence.
      rebalance: async (manager) => {
        await c.dockerOk(manager, "service", "update", "--detach", "--force", "web");
        await until("the forced update to complete", async () => {
          const r = await c.docker(manager, "service", "inspect", "--format", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}", "web");
          return r.code === 0 && r.stdout.trim() === "completed";
        }, 120_000, 200);
      },
    };
    // Same service as tsctl's; --no-resolve-image so the CLI never asks a registry.
    await c.dockerOk(await leaderHost(sys), "service", "create", "--detach", "--no-resolve-image", "--name", "web", "--replicas", String(replicas), "--stop-grace-period", "1s", "busybox:latest", "sleep", "3600");
    const result = await measure(sys);
    return { result, about: `dockerd ${c.version} (${c.storageDriver}), 5 dockerds in test-cluster hosts` };
  } catch (err) {
    const why = String(err.message).trim().split("\n").pop();
    const reason = err instanceof DockerUnavailable ? `skipped: ${why}` : `failed: ${why}`;
    console.log(`docker swarm: ${reason}`);
    return { reason };
  } finally {
    await cluster?.stop();
  }
}

export async function run() {
  // ^C or a kill while a cluster runs must not leave it behind.
  const cleanups = new Set();
  const onSignal = (signal) => {
    console.log(`failover: ${signal}: removing the clusters`);
    Promise.allSettled([...cleanups].map((f) => f())).finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const ours = await measureTsctl(cleanups);
    const docker = await measureDocker(cleanups);
    /** row: ours (median, spread, against the target), Docker's (median, spread) and the ratio of the medians. */
    const row = (values, dockerValues, target) => {
      const m = median(values);
      const head = [show(m), spread(values), target, m === null ? "-" : (m / target).toFixed(2)];
      if (!dockerValues) return [...head, docker.reason, "-", "-"];
      const d = median(dockerValues);
      const ratio = m === null ? "-" : d === null ? `<${(m / capMs).toFixed(2)}` : (m / d).toFixed(2);
      return [...head, show(d), spread(dockerValues), ratio];
    };
    console.log(`\nbench failover: medians of ${rounds} rounds; spread is min–max; "tsctl ÷ Docker" below 1 means tsctl is faster`);
    if (docker.result) console.log(`Docker Swarm: ${docker.about}; default raft and heartbeat settings`);
    table([
      ["scenario", "tsctl (median ms)", "spread (ms)", "target (ms)", "÷ target", "Docker Swarm (median ms)", "spread (ms)", "tsctl ÷ Docker"],
      ["leader failover (kill -9 → write accepted)", ...row(ours.failovers, docker.result?.failovers, 2000)],
      ["node failure (kill -9 worker → replicas elsewhere)", ...row(ours.recoveries, docker.result?.recoveries, 5000)],
    ]);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
