// context: where one cluster lives and how its pieces are named, derived from TC_DIR alone, so
// separate `tc` invocations (and `down` after a lost state file) agree on every name. Also the
// one error class tc reports as a one-line message, and the small waiting helpers.
import { createHash } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const tsdBin = join(repoRoot, "bin/tsd");
export const tsctlBin = join(repoRoot, "bin/tsctl");

export const dir = resolve(process.env.TC_DIR || "/tmp/tsctl-tc");
export const hash = createHash("sha256").update(dir).digest("hex").slice(0, 6);
/** Every namespace of this cluster is named `<prefix><host>`; the underlay is `<prefix>ul`. */
export const prefix = `tc${hash}-`;
export const underlayNs = `${prefix}ul`;
export const bridge = "br0";
export const subnet = "10.77.0";
export const stateFile = join(dir, "state.json");
/** Host names: m1.. managers, w1.. workers, s1.. spares (tsd running, in no swarm). */
export const hostRe = /^[mws][1-9]\d{0,2}$/;

export const nsOf = (host) => `${prefix}${host}`;
export const nsPath = (host) => `/run/netns/${nsOf(host)}`;
export const hostDir = (host) => join(dir, host);
export const dataRoot = (host) => join(hostDir(host), "data");
export const execRoot = (host) => join(hostDir(host), "run");
export const sockOf = (host) => join(execRoot(host), "tsd.sock");
export const cgroupOf = (host) => `tsctl-tc-${hash}-${host}`;
export const ulVeth = (host) => `v-${host}`;

/** TcError is a failure tc reports as `tc: <message>` and exit status 1, without a stack. */
export class TcError extends Error {}

export const fail = (msg) => {
  throw new TcError(msg);
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** waitUntil polls fn every stepMs until it returns truthy (true) or timeoutMs passed (false). */
export async function waitUntil(fn, timeoutMs, stepMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(stepMs);
  }
}
