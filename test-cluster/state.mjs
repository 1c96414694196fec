// state: the cluster's state file (hosts, addresses, tsd pids, partitions), written atomically so
// separate `tc` invocations cooperate through it. Commands that change it while others may run
// (`tc start m1 & tc start m2`) do so through patchHosts, a read-modify-write under a lock file, so
// no update is lost; `up` owns the file until it is done.
import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { dir, fail, sleep, stateFile } from "./context.mjs";

const lockFile = `${stateFile}.lock`;

/**
 * A host: its role in the swarm ("spare": runs tsd but `up` does not join it), whether it is in the
 * swarm (set once its init or join succeeded), its address, its tsd's pid, whether it is cut off.
 * @typedef {{ name: string, role: "manager" | "worker" | "spare", addr: string, inSwarm?: boolean, pid?: number, partitioned?: boolean }} Host
 */
/**
 * tsdArgs: extra tsd flags given to `up` with --tsd-arg, used again by `start`.
 * @typedef {{ dir: string, prefix: string, underlay: string, hosts: Host[], tsdArgs?: string[], swarm?: { manager: string, addr: string } }} State
 */

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

/** lockHolderAlive: the pid written in the lock file still runs (a crashed tc leaves its lock behind). */
function lockHolderAlive() {
  let pid;
  try {
    pid = Number(readFileSync(lockFile, "utf8").trim());
  } catch {
    return true; // Being written or just released: look again.
  }
  if (!pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

/** withStateLock runs fn while holding the state lock (a file created exclusively, holding our pid). */
async function withStateLock(fn) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const fd = openSync(lockFile, "wx");
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if (err.code !== "EEXIST") fail(`cannot lock ${stateFile}: ${err.message}`);
      if (!lockHolderAlive()) {
        try {
          unlinkSync(lockFile);
        } catch {
          // Another tc took it over first.
        }
        continue;
      }
      if (Date.now() > deadline) fail(`cannot lock ${stateFile}: ${lockFile} is held by another tc`);
      await sleep(10 + Math.random() * 20);
    }
  }
  try {
    return fn();
  } finally {
    unlinkSync(lockFile);
  }
}

/**
 * patchHosts merges field changes into hosts by name (read, change, write under the lock) and
 * returns the new state. @param {Record<string, Partial<Host>>} patches @returns {Promise<State>}
 */
export function patchHosts(patches) {
  return withStateLock(() => {
    const state = requireState();
    for (const [name, patch] of Object.entries(patches)) Object.assign(requireHost(state, name), patch);
    saveState(state);
    return state;
  });
}
