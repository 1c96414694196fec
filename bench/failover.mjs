// failover: on a test-cluster of 3 managers and 2 workers (network namespaces on one machine, real
// tsd, etcd, runc), time
//   leader failover   kill -9 of the leader's tsd (and its etcd) → a write accepted by another manager
//   node failure      kill -9 of a worker's tsd → every replica of a service running on other nodes
// against the targets (2 s and 5 s at default settings). Docker Swarm would need one dockerd
// per namespace host; the bench says so instead of guessing a number.
import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { ms, now, repoRoot, table } from "./lib.mjs";

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const replicas = 6;
const tcBin = join(repoRoot, "test-cluster/tc");

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

let tcDir = "";

/** tc runs test-cluster/tc with this bench's own cluster directory. */
function tc(...args) {
  return new Promise((resolve) => {
    execFile(tcBin, args, { env: { ...process.env, TC_DIR: tcDir }, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function tcOk(...args) {
  const r = await tc(...args);
  if (r.code !== 0) throw new Error(`tc ${args.join(" ")} failed: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

const tsctl = (host, ...args) => tc("exec", host, "--", "tsctl", ...args);

async function until(what, fn, timeoutMs = 60_000, stepMs = 50) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function nodes(host) {
  const r = await tsctl(host, "node", "ls", "--format", "json");
  return r.code === 0 ? JSON.parse(r.stdout) : undefined;
}

async function leaderHost() {
  for (const h of ["m1", "m2", "m3"]) {
    const list = await nodes(h).catch(() => undefined);
    const leader = list?.find((n) => n.ManagerStatus === "Leader");
    if (leader) return leader.Hostname;
  }
  throw new Error("no leader found");
}

/** leaderFailover kills the leader and times until another manager accepts a write. */
async function leaderFailover(round) {
  const leader = await leaderHost();
  const other = ["m1", "m2", "m3"].find((h) => h !== leader);
  await tcOk("kill", leader);
  const t0 = now();
  await until("a write on a surviving manager", async () => (await tsctl(other, "service", "update", "--detach", "--label-add", `round=${round}`, "web")).code === 0, 60_000, 20);
  const failoverMs = Math.round(ms(t0));
  await tcOk("start", leader);
  await until(`${leader} back as a reachable manager`, async () => {
    const list = await nodes(other).catch(() => undefined);
    return list?.find((n) => n.Hostname === leader && (n.ManagerStatus === "Reachable" || n.ManagerStatus === "Leader") && n.Status === "Ready");
  });
  return failoverMs;
}

/** runningOff counts running replicas of web on nodes other than host, as seen from a manager. */
async function runningElsewhere(manager, host) {
  const r = await tsctl(manager, "service", "ps", "web", "--filter", "desired-state=running", "--format", "json");
  if (r.code !== 0) return -1;
  const tasks = JSON.parse(r.stdout);
  return tasks.filter((t) => t.Node !== host && /^Running/.test(t.CurrentState)).length;
}

/** nodeFailure kills a worker that runs replicas and times until all run elsewhere. */
async function nodeFailure() {
  const manager = await leaderHost();
  const victim = "w2";
  await until("replicas on the victim", async () => (await runningElsewhere(manager, victim)) < replicas);
  await tcOk("kill", victim);
  const t0 = now();
  await until("all replicas running on other nodes", async () => (await runningElsewhere(manager, victim)) === replicas, 60_000, 50);
  const recoveryMs = Math.round(ms(t0));
  await tcOk("start", victim);
  await until(`${victim} Ready`, async () => (await nodes(manager))?.some((n) => n.Hostname === victim && n.Status === "Ready"));
  // Let the scheduler use the worker again before the next round.
  await tsctl(manager, "service", "update", "--force", "web");
  return recoveryMs;
}

export async function run() {
  tcDir = await mkdtemp("/tmp/bench-tc.");
  try {
    console.log("failover: building a test-cluster (3 managers, 2 workers)...");
    await tcOk("up", "--managers", "3", "--workers", "2");
    const busybox = join(repoRoot, ".cache/busybox.tar");
    for (const h of ["m1", "m2", "m3", "w1", "w2"]) {
      const l = await tsctl(h, "image", "load", "-i", busybox);
      if (l.code !== 0) throw new Error(`${h}: image load failed: ${(l.stderr || l.stdout).trim()}`);
    }
    const leader = await leaderHost();
    const c = await tsctl(leader, "service", "create", "--name", "web", "--replicas", String(replicas), "--stop-grace-period", "1s", "busybox:latest", "sleep", "3600");
    if (c.code !== 0) throw new Error(`service create failed: ${(c.stderr || c.stdout).trim()}`);
    const failovers = [];
    const recoveries = [];
    for (let i = 0; i < rounds; i++) {
      failovers.push(await leaderFailover(i));
      recoveries.push(await nodeFailure());
      console.log(`  round ${i + 1}: leader failover ${failovers.at(-1)} ms, node-failure recovery ${recoveries.at(-1)} ms`);
    }
    const f = median(failovers);
    const r = median(recoveries);
    table([
      ["scenario", "tsctl (median ms)", "spread (ms)", "target (ms)", "÷ target", "Docker Swarm"],
      ["leader failover (kill -9 → write accepted)", f, `${Math.min(...failovers)}–${Math.max(...failovers)}`, 2000, (f / 2000).toFixed(2), "not measured (needs one dockerd per netns host)"],
      ["node failure (kill -9 worker → replicas elsewhere)", r, `${Math.min(...recoveries)}–${Math.max(...recoveries)}`, 5000, (r / 5000).toFixed(2), "not measured (its 5 s heartbeat period alone exceeds the target)"],
    ]);
  } finally {
    await tc("down");
  }
}
