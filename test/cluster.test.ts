/**
 * A real multi-host swarm in test-cluster: 3 managers, 2 workers and a spare host, each its own tsd
 * in its own network namespace. Formation, spreading, refused joins, Control API authorization by
 * certificate, leader failover, worker loss, a partitioned manager, and a full cluster restart.
 * The tests run in order and share one cluster (forming it costs more than any one test); each
 * polls for real outcomes with deadlines and prints what it measured.
 */
import { execFile, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forceCleanup } from "./harness/cleanup.mjs";

const repoRoot = resolve(import.meta.dirname, "..");
const tcBin = join(repoRoot, "test-cluster/tc");
const probe = join(repoRoot, "test-cluster/control-probe.mjs");
const busyboxTar = join(repoRoot, ".cache/busybox.tar");

const managers = ["m1", "m2", "m3"];
const workers = ["w1", "w2"];
const members = [...managers, ...workers];
const spare = "s1";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
interface NodeRow {
  ID: string;
  Hostname: string;
  Status: string;
  Availability: string;
  ManagerStatus: string;
}
interface TaskRow {
  ID: string;
  Name: string;
  Node: string;
  DesiredState: string;
  CurrentState: string;
  Error: string;
}
interface ServiceRow {
  Name: string;
  Replicas: string;
}

let dir = "";
let hash = "";
let prefix = "";
/** What the tests measured, printed again at the end. */
const timings: string[] = [];

function tc(args: string[], timeoutMs = 90_000): Promise<Result> {
  return new Promise((res) => {
    execFile(tcBin, args, { env: { ...process.env, TC_DIR: dir }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : err.killed ? 124 : 1) : 0;
      res({ code, stdout, stderr: err?.killed ? `${stderr}(killed after ${timeoutMs / 1000} s)` : stderr });
    });
  });
}

async function tcOk(args: string[], timeoutMs?: number): Promise<string> {
  const r = await tc(args, timeoutMs);
  if (r.code !== 0) throw new Error(`tc ${args.join(" ")} failed (${r.code}):\n${r.stderr}${r.stdout}${await logTails(members)}`);
  return r.stdout;
}

/** ctl runs tsctl inside a host (its own tsd's socket). */
function ctl(host: string, args: string[], timeoutMs?: number): Promise<Result> {
  return tc(["exec", host, "--", "tsctl", ...args], timeoutMs);
}

async function ctlOk(host: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await ctl(host, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${host}: tsctl ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}${await logTails([host])}`);
  return r.stdout;
}

async function logTails(hosts: string[], chars = 1500): Promise<string> {
  let out = "";
  for (const h of hosts) out += `\n--- ${h} tsd.log tail ---\n${(await readFile(join(dir, h, "tsd.log"), "utf8").catch(() => "")).slice(-chars)}`;
  return out;
}

async function json<T>(host: string, args: string[]): Promise<T | undefined> {
  const r = await ctl(host, [...args, "--format", "json"], 30_000);
  if (r.code !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    return undefined;
  }
}

const nodes = (host: string) => json<NodeRow[]>(host, ["node", "ls"]);
const tasks = (host: string, service: string) => json<TaskRow[]>(host, ["service", "ps", service]);
const services = (host: string) => json<ServiceRow[]>(host, ["service", "ls"]);

const isRunning = (t: TaskRow) => t.CurrentState.startsWith("Running");
/** live: tasks meant to run and running. */
const live = (rows: TaskRow[]) => rows.filter((t) => t.DesiredState === "Running" && isRunning(t));
/** stale: tasks still running although they were told to stop. */
const stale = (rows: TaskRow[]) => rows.filter((t) => t.DesiredState !== "Running" && isRunning(t));
const desiredOf = (s: ServiceRow) => Number(s.Replicas.split("/")[1]);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

type Step<T> = { done: T } | { why: string };

/** poll calls fn until it is done or the deadline passes; the error says what it saw last. */
async function poll<T>(what: string, timeoutMs: number, fn: () => Promise<Step<T>>, logsOf: string[] = managers): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let why = "";
  for (;;) {
    const step = await fn();
    if ("done" in step) return step.done;
    why = step.why;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds(timeoutMs)} waiting for ${what}; last seen: ${why}${await logTails(logsOf)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** formedProblems lists what keeps rows from showing every host Ready with one leader. */
function formedProblems(rows: NodeRow[] | undefined, hosts = members): string[] {
  if (!rows) return ["node ls does not answer"];
  const problems: string[] = [];
  for (const h of hosts) {
    const n = rows.filter((r) => r.Hostname === h);
    if (n.length !== 1) problems.push(`${h} listed ${n.length} times`);
    else if (n[0]!.Status !== "Ready") problems.push(`${h} ${n[0]!.Status}`);
    else if (managers.includes(h) && !["Leader", "Reachable"].includes(n[0]!.ManagerStatus)) problems.push(`${h} "${n[0]!.ManagerStatus}"`);
  }
  const leaders = rows.filter((r) => r.ManagerStatus === "Leader").length;
  if (leaders !== 1) problems.push(`${leaders} leaders`);
  return problems;
}

/** leaderSeenBy: the Leader's hostname in `node ls` on host, when exactly one is named. */
async function leaderSeenBy(host: string): Promise<string | undefined> {
  const leaders = (await nodes(host))?.filter((r) => r.ManagerStatus === "Leader") ?? [];
  return leaders.length === 1 ? leaders[0]!.Hostname : undefined;
}

/**
 * converged waits until exactly `desired` tasks of service are meant to run and run, and no task
 * told to stop still runs. With `avoid` (a node that is down), those tasks must run elsewhere, and
 * the down node's tasks are not counted: it cannot report that they stopped.
 */
function converged(host: string, service: string, desired: number, timeoutMs = 90_000, avoid?: string): Promise<TaskRow[]> {
  return poll<TaskRow[]>(`${desired} running tasks of ${service}${avoid ? ` off ${avoid}` : ""}`, timeoutMs, async () => {
    const all = await tasks(host, service);
    if (!all) return { why: `${host}: service ps does not answer` };
    const rows = all.filter((t) => t.Node !== avoid);
    const ok = live(rows);
    const old = stale(rows);
    if (ok.length === desired && old.length === 0) return { done: ok };
    return { why: `${ok.length}/${desired} running${avoid ? ` off ${avoid}` : ""}, ${old.length} stale: ${JSON.stringify(rows.filter(isRunning).map((t) => [t.Name, t.Node, t.DesiredState]))}` };
  }, [host, ...workers]);
}

describe("a 3-manager, 2-worker swarm in test-cluster", () => {
  let leader = "m1";

  beforeAll(async () => {
    // Short path: the unix socket path (<dir>/<host>/run/tsd.sock) must stay under 108 bytes.
    dir = await mkdtemp("/tmp/tc.");
    hash = createHash("sha256").update(dir).digest("hex").slice(0, 6);
    prefix = `tc${hash}-`;
    const t0 = Date.now();
    const up = await tc(["up", "--managers", "3", "--workers", "2", "--spares", "1"], 300_000);
    if (up.code !== 0) throw new Error(`tc up failed (${up.code}):\n${up.stderr}${up.stdout}${await logTails([...members, spare])}`);
    timings.push(`tc up (3 managers, 2 workers, 1 spare): ${seconds(Date.now() - t0)}`);
    console.log(up.stdout);
    await Promise.all(members.map((h) => ctlOk(h, ["image", "load", "-i", busyboxTar], 120_000)));
  }, 420_000);

  afterAll(async () => {
    console.log(`measured:\n  ${timings.join("\n  ")}`);
    if (!dir) return;
    // `down` is idempotent and is the real cleanup after a failed test. If it throws, remove what
    // it may have left by name: the hosts' dirs and cgroups, then every namespace with our prefix.
    const r = await tc(["down"], 180_000);
    if (r.code === 0) return;
    console.error(`tc down failed: ${r.stderr}${r.stdout}`);
    for (const host of await readdir(dir).catch(() => [] as string[])) {
      if (/^[mws]\d+$/.test(host)) await forceCleanup(join(dir, host), `tsctl-tc-${hash}-${host}`);
    }
    const out = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
    for (const ns of out.split("\n").map((l) => l.split(" ")[0] ?? "")) if (ns.startsWith(prefix)) spawnSync("ip", ["netns", "del", ns]);
    spawnSync("rm", ["-rf", dir]);
  }, 240_000);

  it("forms: five nodes Ready, one Leader, two Reachable managers", async () => {
    const rows = await nodes("m1");
    expect(rows, "node ls on m1").toBeDefined();
    expect(rows!.map((r) => r.Hostname).sort()).toEqual(members);
    expect(formedProblems(rows)).toEqual([]);
    expect(rows!.filter((r) => r.ManagerStatus === "Leader")).toHaveLength(1);
    expect(rows!.filter((r) => r.ManagerStatus === "Reachable").map((r) => r.Hostname).sort()).toHaveLength(2);
    for (const w of workers) expect(rows!.find((r) => r.Hostname === w)?.ManagerStatus).toBe("");
    leader = rows!.find((r) => r.ManagerStatus === "Leader")!.Hostname;
    expect(managers).toContain(leader);
    expect((await tcOk(["leader"])).trim()).toBe(leader);
    // Every manager sees the same cluster.
    for (const m of managers) expect((await nodes(m))?.map((r) => r.ID).sort()).toEqual(rows!.map((r) => r.ID).sort());
    const ls = await tcOk(["ls"]);
    expect(ls).toMatch(/^m2\s+manager\s+10\.77\.0\.2\s/m);
    expect(ls).toMatch(/^w1\s+worker\s+10\.77\.0\.4\s/m);
    expect(ls).toMatch(/^s1\s+spare\s+10\.77\.0\.6\s/m);
    expect(await ctlOk(spare, ["info"])).toMatch(/Swarm: inactive/);
  }, 60_000);

  it("spreads 6 replicas over at least 4 nodes, all Running", async () => {
    await ctlOk(leader, ["service", "create", "--name", "spread", "--replicas", "6", "busybox:latest", "sleep", "3600"], 180_000);
    const running = await converged(leader, "spread", 6);
    const spreadOver = new Set(running.map((t) => t.Node));
    console.log(`spread: ${[...spreadOver].sort().join(", ")}`);
    expect(spreadOver.size).toBeGreaterThanOrEqual(4);
    for (const n of spreadOver) expect(members).toContain(n);
  }, 200_000);

  it("places by node role, hostname and label constraints and spread preferences across hosts, and drains a worker", async () => {
    await ctlOk(leader, ["node", "update", "--label-add", "zone=blue", "w1"]);
    await ctlOk(leader, ["service", "create", "--name", "workers-only", "--replicas", "4", "--constraint", "node.role==worker", "busybox:latest", "sleep", "3600"], 180_000);
    const onWorkers = await converged(leader, "workers-only", 4);
    expect(new Set(onWorkers.map((t) => t.Node))).toEqual(new Set(workers));
    await ctlOk(leader, ["service", "create", "--name", "blue", "--replicas", "2", "--constraint", "node.labels.zone==blue", "busybox:latest", "sleep", "3600"], 180_000);
    expect((await converged(leader, "blue", 2)).map((t) => t.Node)).toEqual(["w1", "w1"]);
    // A task that fits nowhere stays pending and says why.
    await ctlOk(leader, ["service", "create", "-d", "--name", "nowhere", "--constraint", "node.hostname==no-such-host", "busybox:latest", "sleep", "3600"]);
    await poll("the unschedulable task's reason", 30_000, async () => {
      const t = (await tasks(leader, "nowhere"))?.[0];
      return t && /no suitable node/.test(t.Error) && t.CurrentState.startsWith("Pending") ? { done: true } : { why: JSON.stringify(t) };
    });
    // Drain w1: its tasks move to w2 (workers-only) or stay pending (blue: only w1 is blue).
    await ctlOk(leader, ["node", "update", "--availability", "drain", "w1"]);
    const moved = await converged(leader, "workers-only", 4);
    expect(moved.every((t) => t.Node === "w2")).toBe(true);
    await ctlOk(leader, ["node", "update", "--availability", "active", "w1"]);
    await converged(leader, "blue", 2);
    // spread=node.labels.zone: w1 (blue), w2 (red) and the unlabelled managers get a third each.
    await ctlOk(leader, ["node", "update", "--label-add", "zone=red", "w2"]);
    await ctlOk(leader, ["service", "create", "--name", "zoned", "--replicas", "6", "--placement-pref", "spread=node.labels.zone", "busybox:latest", "sleep", "3600"], 180_000);
    const zoned = await converged(leader, "zoned", 6);
    const count = (pred: (n: string) => boolean) => zoned.filter((t) => pred(t.Node)).length;
    expect([count((n) => n === "w1"), count((n) => n === "w2"), count((n) => managers.includes(n))]).toEqual([2, 2, 2]);
    for (const name of ["workers-only", "blue", "nowhere", "zoned"]) await ctlOk(leader, ["service", "rm", name]);
    await ctlOk(leader, ["node", "update", "--label-rm", "zone", "w1"]);
    await ctlOk(leader, ["node", "update", "--label-rm", "zone", "w2"]);
  }, 300_000);

  it("streams the logs of tasks on every node through any manager", async () => {
    await ctlOk(leader, ["service", "create", "--name", "talker", "--mode", "global", "busybox:latest", "sh", "-c", "echo hello from $(hostname); sleep 3600"], 180_000);
    await converged(leader, "talker", members.length);
    const follower = managers.find((m) => m !== leader)!;
    const lines = await poll<string[]>("a log line from every node", 30_000, async () => {
      const r = await ctl(follower, ["service", "logs", "talker"], 30_000);
      const got = r.stdout.split("\n").filter((l) => l.includes("hello from"));
      const nodesSeen = new Set(got.map((l) => /@(\S+)\s*\|/.exec(l)?.[1]));
      return members.every((h) => nodesSeen.has(h)) ? { done: got } : { why: `exit ${r.code}: ${r.stdout}${r.stderr}` };
    });
    expect(lines).toHaveLength(members.length);
    await ctlOk(leader, ["service", "rm", "talker"]);
  }, 240_000);

  it("promotes a worker to manager and demotes it again; a spare joins, leaves and is removed", async () => {
    await ctlOk(leader, ["node", "promote", "w1"]);
    await poll("w1 a Reachable manager", 60_000, async () => {
      const w1 = (await nodes(leader))?.find((r) => r.Hostname === "w1");
      return w1?.ManagerStatus === "Reachable" ? { done: true } : { why: JSON.stringify(w1) };
    }, ["w1", leader]);
    // w1 now answers the Control API itself (it forwards to the leader).
    expect((await nodes("w1"))?.length).toBeGreaterThanOrEqual(members.length);
    // Four managers: demoting one keeps a majority of three.
    await ctlOk(leader, ["node", "demote", "w1"]);
    await poll("w1 a worker again", 60_000, async () => {
      const w1 = (await nodes(leader))?.find((r) => r.Hostname === "w1");
      const r = await ctl("w1", ["node", "ls"]);
      return w1?.ManagerStatus === "" && r.code !== 0 && /not a swarm manager/.test(r.stderr) ? { done: true } : { why: `${JSON.stringify(w1)} / w1 node ls: ${r.code}` };
    }, ["w1", leader]);
    expect(formedProblems(await nodes(leader))).toEqual([]);

    const token = (await ctlOk(leader, ["swarm", "join-token", "-q", "worker"])).trim();
    const leaderIp = (await tcOk(["ip", leader])).trim();
    await ctlOk(spare, ["swarm", "join", "--token", token, `${leaderIp}:2377`], 60_000);
    await poll("the spare Ready", 30_000, async () => ((await nodes(leader))?.find((r) => r.Hostname === spare)?.Status === "Ready" ? { done: true } : { why: "not yet" }));
    const refused = await ctl(leader, ["node", "rm", spare]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/not down/);
    expect(await ctlOk(spare, ["swarm", "leave"])).toMatch(/left the swarm/);
    expect(await ctlOk(spare, ["info"])).toMatch(/Swarm: inactive/);
    await poll("the spare Down", 30_000, async () => ((await nodes(leader))?.find((r) => r.Hostname === spare)?.Status === "Down" ? { done: true } : { why: "not yet" }));
    await ctlOk(leader, ["node", "rm", spare]);
    expect((await nodes(leader))?.some((r) => r.Hostname === spare)).toBe(false);
  }, 240_000);

  it("refuses bad joins with one clear line and leaves the node list as it was", async () => {
    const snapshot = async () => (await nodes(leader))?.map((r) => `${r.ID} ${r.Hostname}`).sort();
    const before = await snapshot();
    expect(before).toHaveLength(members.length);
    const token = (await ctlOk(leader, ["swarm", "join-token", "-q", "worker"])).trim();
    const parts = /^TSWMTKN-1-([0-9a-z]{50})-([0-9a-z]{25})$/.exec(token);
    expect(parts, `token format: ${token}`).not.toBeNull();
    const [, digest, secret] = parts as unknown as [string, string, string];
    // A valid-looking secret: 128 random bits in base36, as the product makes them.
    let randomSecret = secret;
    while (randomSecret === secret) randomSecret = BigInt(`0x${randomBytes(16).toString("hex")}`).toString(36).padStart(25, "0");
    // Lowering the last digit keeps the digest in range, so only the CA check can refuse it.
    const tamperedDigest = digest.slice(0, -1) + (digest.endsWith("0") ? "1" : "0");
    const m1 = `${(await tcOk(["ip", "m1"])).trim()}:2377`;
    const w1 = `${(await tcOk(["ip", "w1"])).trim()}:2377`;
    const spareAddr = (await tcOk(["ip", spare])).trim();

    const badJoin = async (what: string, tok: string, remote: string, expected: RegExp) => {
      const t0 = Date.now();
      const r = await ctl(spare, ["swarm", "join", "--token", tok, "--advertise-addr", spareAddr, remote], 90_000);
      const msg = r.stderr.trim();
      console.log(`bad join (${what}): exit ${r.code} after ${seconds(Date.now() - t0)}: ${msg}`);
      expect(r.code, `${what}: exit code (stdout ${r.stdout.trim()})`).not.toBe(0);
      expect(msg.split("\n"), `${what}: one line`).toHaveLength(1);
      expect(msg, what).toMatch(expected);
      expect(await snapshot(), `${what}: node ls unchanged`).toEqual(before);
      expect(await ctlOk(spare, ["info"]), `${what}: ${spare} in no swarm`).toMatch(/Swarm: inactive/);
    };

    await badJoin("wrong secret", `TSWMTKN-1-${digest}-${randomSecret}`, m1, /token/i);
    await badJoin("tampered CA digest", `TSWMTKN-1-${tamperedDigest}-${secret}`, m1, /\bCA\b|fingerprint|digest/i);
    await badJoin("malformed token", "TSWMTKN-1-nonsense", m1, /invalid join token/i);
    await badJoin("through a worker", token, w1, /cannot reach a (swarm )?manager/i);
    const rotated = (await ctlOk(leader, ["swarm", "join-token", "--rotate", "-q", "worker"])).trim();
    expect(rotated).not.toBe(token);
    expect(rotated.slice(0, 61)).toBe(token.slice(0, 61)); // same CA, new secret
    await badJoin("rotated-out token", token, m1, /token/i);
  }, 300_000);

  it("lets a manager certificate call the Control API over TCP and refuses a worker certificate", async () => {
    const target = `${(await tcOk(["ip", leader])).trim()}:2377`;
    const call = async (host: string) => {
      const r = await tc(["exec", host, "--", process.execPath, probe, join(dir, host, "data"), target], 60_000);
      try {
        return JSON.parse(r.stdout) as { ok: boolean; status?: string; message?: string; nodes?: number };
      } catch {
        throw new Error(`${host}: control-probe printed no JSON (exit ${r.code}): ${r.stderr}${r.stdout}`);
      }
    };
    const asWorker = await call("w1");
    console.log(`worker certificate: ${JSON.stringify(asWorker)}`);
    expect(asWorker).toMatchObject({ ok: false, status: "PERMISSION_DENIED" });
    const asManager = await call(managers.find((m) => m !== leader)!);
    expect(asManager).toMatchObject({ ok: true, nodes: members.length });
  }, 120_000);

  it("fails over when the leader's tsd is killed: a new leader takes writes, the old one comes back Reachable", async () => {
    const old = (await tcOk(["leader"])).trim();
    const survivors = managers.filter((m) => m !== old);
    const t0 = Date.now();
    await tcOk(["kill", old]);
    let attempt = 0;
    const writer = await poll("a write accepted by a surviving manager", 120_000, async () => {
      const via = survivors[attempt++ % survivors.length]!;
      const r = await ctl(via, ["service", "scale", "-d", "spread=7"], 30_000);
      return r.code === 0 ? { done: via } : { why: `${via}: ${r.stderr.trim()}` };
    }, survivors);
    const writeMs = Date.now() - t0;
    const next = await poll<string>("a new leader", 60_000, async () => {
      const seen = await leaderSeenBy(survivors[0]!);
      return seen && seen !== old ? { done: seen } : { why: `${survivors[0]} sees leader ${seen}` };
    }, survivors);
    const leaderMs = Date.now() - t0;
    timings.push(`leader ${old} killed -> first write accepted (via ${writer}): ${seconds(writeMs)}; new leader ${next} seen: ${seconds(leaderMs)}`);
    console.log(timings.at(-1));
    expect(survivors).toContain(next);
    leader = next;

    await tcOk(["start", old]);
    await poll(`${old} back as Reachable`, 90_000, async () => {
      const rows = await nodes(leader);
      const problems = formedProblems(rows);
      const oldRow = rows?.find((r) => r.Hostname === old);
      if (problems.length === 0 && oldRow?.ManagerStatus === "Reachable") return { done: true };
      return { why: [...problems, `${old} "${oldRow?.ManagerStatus}"`].join("; ") };
    });
    await converged(leader, "spread", 7);
  }, 300_000);

  it("replaces a lost worker's tasks, and the worker's stale tasks stop when it returns", async () => {
    const t0 = Date.now();
    await tcOk(["kill", "w2"]);
    await poll("w2 Down", 60_000, async () => {
      const w2 = (await nodes(leader))?.find((r) => r.Hostname === "w2");
      return w2?.Status === "Down" ? { done: true } : { why: `w2 ${w2?.Status}` };
    });
    const downMs = Date.now() - t0;
    await converged(leader, "spread", 7, 90_000, "w2");
    const recoveryMs = Date.now() - t0;
    timings.push(`worker w2 killed -> node Down: ${seconds(downMs)}; all 7 replicas running elsewhere: ${seconds(recoveryMs)}`);
    console.log(timings.at(-1));

    await tcOk(["start", "w2"]);
    await poll("w2 Ready again", 60_000, async () => {
      const w2 = (await nodes(leader))?.find((r) => r.Hostname === "w2");
      return w2?.Status === "Ready" ? { done: true } : { why: `w2 ${w2?.Status}` };
    });
    // Settled: the swarm runs exactly the desired tasks, and w2 runs containers only for tasks it
    // is meant to run (the ones from before the kill were replaced and must be gone).
    await poll("w2's containers to match its tasks", 60_000, async () => {
      const rows = await tasks(leader, "spread");
      const containers = await json<{ ID: string }[]>("w2", ["container", "ls"]);
      if (!rows || !containers) return { why: "service ps or container ls does not answer" };
      const onW2 = live(rows).filter((t) => t.Node === "w2").length;
      const running = live(rows).length;
      if (running === 7 && stale(rows).length === 0 && containers.length === onW2) return { done: true };
      return { why: `${running} running, ${stale(rows).length} stale, w2 runs ${containers.length} containers for ${onW2} tasks` };
    }, ["w2", leader]);
  }, 300_000);

  it("keeps the majority working while a manager is partitioned, and the manager catches up after heal", async () => {
    leader = (await tcOk(["leader"])).trim();
    const cut = leader === "m3" ? "m2" : "m3";
    // A read through the manager first, as an operator would have done: it forwards to the leader,
    // so the write below meets an established connection, not a fresh dial.
    await ctlOk(cut, ["service", "ls"]);
    await tcOk(["partition", cut]);
    let firstRefusal = "";
    try {
      await ctlOk(leader, ["service", "create", "-d", "--name", "during-partition", "--replicas", "2", "busybox:latest", "sleep", "3600"], 60_000);
      // With one manager cut off, demoting the third would leave one reachable member of two.
      const third = managers.find((m) => m !== leader && m !== cut)!;
      await poll(`${cut} Unreachable`, 30_000, async () => ((await nodes(leader))?.find((r) => r.Hostname === cut)?.ManagerStatus === "Unreachable" ? { done: true } : { why: "not yet" }));
      const demote = await ctl(leader, ["node", "demote", third]);
      expect(demote.code, demote.stdout).not.toBe(0);
      expect(demote.stderr.trim()).toMatch(/quorum/);
      const t0 = Date.now();
      const refused = await ctl(cut, ["service", "create", "-d", "--name", "minority", "busybox:latest", "sleep", "3600"], 120_000);
      const msg = refused.stderr.trim();
      firstRefusal = msg;
      timings.push(`write on partitioned ${cut} refused after ${seconds(Date.now() - t0)}: ${msg}`);
      console.log(timings.at(-1));
      expect(refused.code, `minority write: ${refused.stdout}`).not.toBe(0);
      // Soft: the wording is checked, and the test goes on to check the write was not applied later.
      expect.soft(msg.split("\n"), "one line").toHaveLength(1);
      expect.soft(msg, "the refusal names the missing or unreachable leader").toMatch(/leader|quorum/i);
      // Once the cut-off manager has noticed (its reads say so), a write is refused at once.
      await poll(`${cut} to notice it has no leader`, 30_000, async () => {
        const r = await ctl(cut, ["service", "ls"], 30_000);
        return r.code !== 0 && /no leader|quorum/i.test(r.stderr) ? { done: true } : { why: `exit ${r.code}: ${r.stderr.trim()}` };
      }, [cut]);
      const late = await ctl(cut, ["service", "create", "-d", "--name", "minority-late", "busybox:latest", "sleep", "3600"], 60_000);
      expect(late.code).not.toBe(0);
      expect(late.stderr.trim()).toMatch(/no leader|quorum/i);
      timings.push(`partition of ${cut} lasted ${seconds(Date.now() - t0)} after the first refused write`);
    } finally {
      await tcOk(["heal"]);
    }
    // The majority's leader should not notice the heal: watch it answer for a few seconds. (A member
    // coming back from a partition with a higher raft term can depose the leader unless it must
    // pre-vote first.)
    const healedAt = Date.now();
    const outages: string[] = [];
    while (Date.now() - healedAt < 6_000) {
      const r = await ctl(leader, ["service", "ls", "-q"], 30_000);
      if (r.code !== 0) outages.push(`+${seconds(Date.now() - healedAt)}: ${r.stderr.trim()}`);
    }
    if (outages.length > 0) timings.push(`after heal, leader ${leader} refused ${outages.length} calls between ${outages[0]!.split(":")[0]} and ${outages.at(-1)!.split(":")[0]}`);
    expect.soft(outages, `calls to leader ${leader} refused right after the heal`).toEqual([]);
    await poll(`${cut} to see the service created during the partition`, 60_000, async () => {
      const names = (await services(cut))?.map((s) => s.Name);
      return names?.includes("during-partition") ? { done: true } : { why: `${cut} lists ${JSON.stringify(names)}` };
    }, [cut, leader]);
    await poll(`${cut} Ready and Reachable`, 60_000, async () => {
      const problems = formedProblems(await nodes(leader));
      return problems.length === 0 ? { done: true } : { why: problems.join("; ") };
    }, [cut, leader]);
    await converged(leader, "during-partition", 2);
    // A refused write never surfaces after the heal. A write whose forwarding broke off is
    // reported as "may still be applied" (the request can sit in the partition and reach the
    // leader within its deadline), and then either outcome is honest.
    const after = (await services(leader))?.map((s) => s.Name).sort();
    if (/may still be applied/.test(firstRefusal)) expect(after?.filter((n) => n !== "minority"), "services after heal").toEqual(["during-partition", "spread"]);
    else expect(after, "services after heal").toEqual(["during-partition", "spread"]);
  }, 300_000);

  it("comes back whole after every host is stopped and started", async () => {
    const before = (await services(leader))!.map((s) => ({ name: s.Name, desired: desiredOf(s) })).sort((a, b) => a.name.localeCompare(b.name));
    expect(before.map((s) => s.name)).toContain("spread");
    // All at once, as a power cut would: tc stop sends SIGTERM and SIGKILLs after 20 s, saying so.
    const stops = await Promise.all(members.map(async (h) => ({ h, r: await tc(["stop", h], 60_000) })));
    for (const { h, r } of stops) expect(r.code, `tc stop ${h}: ${r.stderr}`).toBe(0);
    const killed = stops.filter(({ r }) => /did not stop/.test(r.stderr)).map(({ h }) => h);
    if (killed.length > 0) timings.push(`full stop: SIGTERM was not enough for ${killed.join(", ")} (SIGKILL after 20 s)`);
    expect.soft(killed, "tsd that did not stop within 20 s of SIGTERM").toEqual([]);
    const t0 = Date.now();
    // Power comes back in any order; workers first is the order that finds no manager to talk to.
    const startAll = (hosts: string[]) => Promise.all(hosts.map(async (h) => ({ h, r: await tc(["start", h], 60_000) })));
    const starts = [...(await startAll(workers)), ...(await startAll(managers))];
    const crashed = starts.filter(({ r }) => r.code !== 0).map(({ h, r }) => `${h}: ${r.stderr.split("\n").find((l) => /^Error: /.test(l)) ?? r.stderr.split("\n")[0]}`);
    if (crashed.length > 0) timings.push(`full start: tsd exited while starting on ${crashed.join("; ")}`);
    expect.soft(crashed, "tsd that exited while starting (a worker must wait for its managers, not die)").toEqual([]);
    // As a supervisor (systemd's Restart=) would: start them again, and check the rest still holds.
    for (const { h } of starts.filter(({ r }) => r.code !== 0)) await tcOk(["start", h], 60_000);
    const formed = await poll<string>("the swarm formed again", 120_000, async () => {
      for (const m of managers) {
        const problems = formedProblems(await nodes(m));
        if (problems.length === 0) return { done: m };
      }
      return { why: formedProblems(await nodes("m1")).join("; ") };
    }, members);
    leader = (await leaderSeenBy(formed))!;
    const after = (await services(leader))!.map((s) => ({ name: s.Name, desired: desiredOf(s) })).sort((a, b) => a.name.localeCompare(b.name));
    expect(after).toEqual(before);
    for (const s of after) await converged(leader, s.name, s.desired, 120_000);
    timings.push(`full restart: swarm formed and every replica running ${seconds(Date.now() - t0)} after the starts began`);
    console.log(timings.at(-1));
  }, 420_000);
});
