// membership: the swarm across the hosts: init on m1, joins (managers one at a time, workers in
// parallel), waiting until `node ls` shows the cluster formed, and finding the leader.
import { fail, waitUntil } from "./context.mjs";
import { tsdAlive } from "./processes.mjs";
import { saveState } from "./state.mjs";
import { logTail, tsctl, tsctlWith } from "./tsctl.mjs";

/** @typedef {import("./state.mjs").State} State @typedef {import("./state.mjs").Host} Host */
/** @typedef {{ ID: string, Hostname: string, Status: string, Availability: string, ManagerStatus: string }} NodeRow */

/** managerPort is where `swarm init` and `swarm join` make managers listen (Docker's 2377). */
export const managerPort = 2377;

/** Joins can take a while (certificate, etcd member add, etcd start); the CLI itself waits. */
const joinTimeoutMs = 120_000;

const firstLine = (r) => (r.stderr || r.stdout).trim().split("\n")[0] ?? "";

/** nodeLs runs `node ls --format json` on a host; undefined when it does not answer. @returns {Promise<NodeRow[] | undefined>} */
export async function nodeLs(host) {
  const r = await tsctl(host, "node", "ls", "--format", "json");
  if (r.code !== 0) return undefined;
  try {
    return JSON.parse(r.stdout);
  } catch {
    return undefined;
  }
}

/** initSwarm runs `swarm init` on the first manager and records it as the swarm's entry point. @param {State} state @param {Host} m1 */
export async function initSwarm(state, m1) {
  const init = await tsctl(m1.name, "swarm", "init", "--advertise-addr", m1.addr);
  if (init.code !== 0) fail(`${m1.name}: swarm init failed: ${firstLine(init)}; log tail:\n${logTail(m1.name)}`);
  state.swarm = { manager: m1.name, addr: m1.addr };
  m1.inSwarm = true;
  saveState(state);
  await waitNodeReady(m1.name);
}

/**
 * joinHost makes a host a member of the swarm initialized on state.swarm.manager: asks that
 * manager for the token of the host's role, runs `swarm join` on the host, and waits until the
 * manager's `node ls` shows the host Ready (and Reachable, for a manager).
 * @param {State} state @param {Host} host
 */
export async function joinHost(state, host) {
  const via = state.swarm?.manager;
  if (!via) fail(`${host.name}: no swarm to join (swarm init has not run)`);
  const t = await tsctl(via, "swarm", "join-token", "-q", host.role);
  if (t.code !== 0) fail(`${via}: swarm join-token ${host.role} failed: ${firstLine(t)}`);
  const token = t.stdout.trim();
  const r = await tsctlWith({ timeout: joinTimeoutMs }, host.name, "swarm", "join", "--token", token, "--advertise-addr", host.addr, `${state.swarm.addr}:${managerPort}`);
  if (r.code !== 0) fail(`${host.name}: swarm join failed: ${firstLine(r)}; log tail:\n${logTail(host.name)}`);
  host.inSwarm = true;
  saveState(state);
  await waitMember(via, host);
}

/** memberProblem says what keeps one host from being a formed member in rows, or undefined. @param {NodeRow[]} rows @param {Host} h */
function memberProblem(rows, h) {
  const n = rows.filter((r) => r.Hostname === h.name);
  if (n.length === 0) return `${h.name} not listed`;
  if (n.length > 1) return `${h.name} listed ${n.length} times`;
  if (n[0].Status !== "Ready") return `${h.name} is ${n[0].Status}`;
  if (h.role === "manager" && n[0].ManagerStatus !== "Leader" && n[0].ManagerStatus !== "Reachable") return `${h.name} manager status "${n[0].ManagerStatus}"`;
  if (h.role === "worker" && n[0].ManagerStatus !== "") return `${h.name} is a manager ("${n[0].ManagerStatus}")`;
  return undefined;
}

/** waitMember waits until host shows up as a formed member in `node ls` on via. @param {Host} host */
async function waitMember(via, host, timeoutMs = 60_000) {
  let why = "";
  const ok = await waitUntil(async () => {
    const rows = await nodeLs(via);
    why = rows ? memberProblem(rows, host) ?? "" : `${via}: node ls does not answer`;
    return rows !== undefined && why === "";
  }, timeoutMs, 200);
  if (!ok) fail(`${host.name}: not a Ready member within ${timeoutMs / 1000} s (${why}); log tail:\n${logTail(host.name)}`);
}

/**
 * waitFormed waits until `node ls` on via lists every host in the swarm exactly once, all Ready,
 * the managers Leader or Reachable with exactly one Leader, and nothing else.
 * @param {State} state
 */
export async function waitFormed(state, via, timeoutMs = 60_000) {
  const members = state.hosts.filter((h) => h.inSwarm);
  let why = "";
  const ok = await waitUntil(async () => {
    const rows = await nodeLs(via);
    if (!rows) {
      why = `${via}: node ls does not answer`;
      return false;
    }
    const problems = members.map((h) => memberProblem(rows, h)).filter(Boolean);
    const leaders = rows.filter((r) => r.ManagerStatus === "Leader").length;
    if (leaders !== 1) problems.push(`${leaders} leaders`);
    const strangers = rows.filter((r) => !members.some((h) => h.name === r.Hostname)).map((r) => r.Hostname);
    if (strangers.length > 0) problems.push(`unexpected nodes ${strangers.join(", ")}`);
    why = problems.join("; ");
    return problems.length === 0;
  }, timeoutMs, 250);
  if (!ok) fail(`swarm not formed within ${timeoutMs / 1000} s: ${why}`);
}

/** waitNodeReady waits until the host's own `node ls` shows its node Ready. */
export async function waitNodeReady(host, timeoutMs = 30_000) {
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

/**
 * findLeader asks the managers that answer, connected ones first, which node is the Leader, and
 * returns its hostname; undefined when no manager names one. A partitioned manager is asked last:
 * its view may be stale.
 * @param {State} state @returns {Promise<string | undefined>}
 */
export async function findLeader(state) {
  const managers = state.hosts.filter((h) => h.role === "manager" && h.inSwarm && tsdAlive(h.name, h.pid));
  managers.sort((a, b) => Number(Boolean(a.partitioned)) - Number(Boolean(b.partitioned)));
  for (const m of managers) {
    const rows = await nodeLs(m.name);
    const leaders = rows?.filter((r) => r.ManagerStatus === "Leader") ?? [];
    if (leaders.length === 1) return leaders[0].Hostname;
  }
  return undefined;
}
