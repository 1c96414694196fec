// commands: the per-host commands (exec, ip, kill, stop, start, partition, heal, ls, leader); `up`
// and `down` have modules of their own.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fail, nsOf, nsPath, repoRoot, sockOf } from "./context.mjs";
import { findLeader } from "./membership.mjs";
import { flushNeighbors, setUnderlayLink } from "./netns.mjs";
import { killTsd, signal, startTsd, stopTsd, tsdAlive, waitReady } from "./processes.mjs";
import { patchHosts, requireHost, requireState } from "./state.mjs";

/** cmdExec runs a command in the host's network namespace; its exit code passes through. */
export async function cmdExec(args) {
  const [name, ...rest] = args;
  if (!name) fail("usage: tc exec <host> -- <cmd...>");
  const state = requireState();
  requireHost(state, name);
  const cmd = rest[0] === "--" ? rest.slice(1) : rest;
  if (cmd.length === 0) fail("usage: tc exec <host> -- <cmd...>");
  const env = { ...process.env, TSCTL_HOST: `unix://${sockOf(name)}`, PATH: `${join(repoRoot, "bin")}:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}` };
  const child = spawn("nsenter", [`--net=${nsPath(name)}`, "--", ...cmd], { stdio: "inherit", env });
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

export function cmdIp([name]) {
  if (!name) fail("usage: tc ip <host>");
  console.log(requireHost(requireState(), name).addr);
}

export async function cmdKill([name]) {
  if (!name) fail("usage: tc kill <host>");
  const state = requireState();
  const h = requireHost(state, name);
  if (!tsdAlive(name, h.pid)) fail(`${name}: tsd is not running`);
  await killTsd(name, h.pid);
  console.log(`${name}: tsd (pid ${h.pid}) killed`);
}

export async function cmdStop([name]) {
  if (!name) fail("usage: tc stop <host>");
  const state = requireState();
  const h = requireHost(state, name);
  if (!tsdAlive(name, h.pid)) fail(`${name}: tsd is not running`);
  await stopTsd(name, h.pid, 20_000);
  console.log(`${name}: tsd (pid ${h.pid}) stopped`);
}

/**
 * cmdStart starts the host's tsd again. A host that was in the swarm rejoins by itself from its
 * data root (membership record and certificates), so nothing else is needed here. It gets the same
 * extra flags as at `up` (--tsd-arg, kept in the state file).
 */
export async function cmdStart([name]) {
  if (!name) fail("usage: tc start <host>");
  const state = requireState();
  const h = requireHost(state, name);
  if (tsdAlive(name, h.pid)) fail(`${name}: tsd is already running (pid ${h.pid})`);
  if (!existsSync(nsPath(name))) fail(`${name}: namespace ${nsOf(name)} is gone (run \`tc down\` and \`tc up\`)`);
  h.pid = await startTsd(name, state.tsdArgs ?? []);
  await patchHosts({ [name]: { pid: h.pid } });
  await waitReady(name, h.pid);
  console.log(`${name}: tsd started (pid ${h.pid})`);
}

export async function cmdPartition([name]) {
  if (!name) fail("usage: tc partition <host>");
  requireHost(requireState(), name);
  setUnderlayLink(name, false);
  await patchHosts({ [name]: { partitioned: true } });
  console.log(`${name}: cut off the underlay`);
}

export async function cmdHeal() {
  const state = requireState();
  for (const h of state.hosts) setUnderlayLink(h.name, true);
  // Neighbor entries that failed during the partition would hold back the first packets after it
  // for up to a few seconds of ARP retries; a healed underlay answers at once.
  for (const h of state.hosts) flushNeighbors(h.name);
  await patchHosts(Object.fromEntries(state.hosts.map((h) => [h.name, { partitioned: false }])));
  console.log("underlay healed");
}

export function cmdLs() {
  const state = requireState();
  const rows = [["HOST", "ROLE", "ADDRESS", "TSD PID", "TSD", "UNDERLAY", "SWARM"]];
  for (const h of state.hosts) {
    const tsd = tsdAlive(h.name, h.pid) ? "running" : "stopped";
    rows.push([h.name, h.role, h.addr, String(h.pid ?? "-"), tsd, h.partitioned ? "partitioned" : "connected", h.inSwarm ? "member" : "-"]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] + 2))).join(""));
}

/** cmdLeader prints the hostname of the Leader, as the first manager that answers sees it. */
export async function cmdLeader() {
  const leader = await findLeader(requireState());
  if (!leader) fail("leader: no manager answers with a leader");
  console.log(leader);
}
