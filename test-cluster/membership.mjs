// membership: the swarm across the hosts: init on m1, joins, and waiting for nodes in `node ls`.
import { fail, waitUntil } from "./context.mjs";
import { logTail, tsctl } from "./tsctl.mjs";

/** @typedef {import("./state.mjs").State} State @typedef {import("./state.mjs").Host} Host */

/**
 * joinHost is where `up` makes every host after m1 a member of the swarm initialized on m1: ask m1
 * for the manager or worker join token (`tsctl swarm join-token -q <role>`), then run
 * `tsctl swarm join --token <T> <m1 addr>:<port>` on the host and wait for it in `node ls`.
 * `swarm join` does not exist yet (issue 3), so for now it only says so and the host runs standalone.
 * @param {State} _state @param {Host} _host
 * @returns {Promise<{ joined: boolean, notice?: string }>}
 */
export async function joinHost(_state, _host) {
  return { joined: false, notice: "not implemented yet: swarm join (issue 3)" };
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
