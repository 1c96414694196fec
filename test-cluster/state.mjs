// state: the cluster's state file (hosts, addresses, tsd pids, partitions), written atomically so
// separate `tc` invocations cooperate through it.
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { dir, fail, stateFile } from "./context.mjs";

/** @typedef {{ name: string, role: "manager" | "worker", addr: string, pid?: number, partitioned?: boolean }} Host */
/** @typedef {{ dir: string, prefix: string, underlay: string, hosts: Host[], swarm?: { manager: string, addr: string } }} State */

/** loadState reads the state file; undefined when there is none. @returns {State | undefined} */
export function loadState() {
  try {
    return JSON.parse(readFileSync(stateFile, "utf8"));
  } catch (err) {
    if (err.code === "ENOENT") return undefined;
    fail(`cannot read ${stateFile}: ${err.message}`);
  }
}

/** saveState replaces the state file atomically. @param {State} state */
export function saveState(state) {
  const tmp = `${stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n");
  renameSync(tmp, stateFile);
}

/** requireState is loadState that fails with "not up" when there is no cluster. @returns {State} */
export function requireState() {
  const state = loadState();
  if (!state) fail(`not up: no cluster in ${dir} (run \`tc up\` first)`);
  return state;
}

/** requireHost finds a host by name or fails with the list of hosts. @param {State} state @returns {Host} */
export function requireHost(state, name) {
  const host = state.hosts.find((h) => h.name === name);
  if (!host) fail(`unknown host "${name}" (hosts: ${state.hosts.map((h) => h.name).join(", ") || "none"})`);
  return host;
}
