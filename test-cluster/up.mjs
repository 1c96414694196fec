// up: create the underlay and the hosts, start a tsd in each, form the swarm.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { dir, fail, prefix, repoRoot, subnet, TcError, underlayNs } from "./context.mjs";
import { joinHost, waitNodeReady } from "./membership.mjs";
import { createHostNetwork, createUnderlay, ourNamespaces } from "./netns.mjs";
import { startTsd, waitReady } from "./processes.mjs";
import { loadState, saveState } from "./state.mjs";
import { logTail, tsctl } from "./tsctl.mjs";

function parseCount(args, flag, dflt) {
  const i = args.indexOf(flag);
  if (i < 0) return dflt;
  const v = args[i + 1];
  if (!v || !/^\d+$/.test(v)) fail(`${flag} needs a number`);
  return Number(v);
}

/** cmdUp: `tc up --managers N --workers M`. On failure it leaves what it made for `down`. */
export async function cmdUp(args) {
  for (const a of args) if (a.startsWith("-") && a !== "--managers" && a !== "--workers") fail(`up: unknown option ${a}`);
  const managers = parseCount(args, "--managers", 1);
  const workers = parseCount(args, "--workers", 0);
  if (managers < 1) fail("up: need at least one manager");
  if (managers + workers > 250) fail("up: at most 250 hosts (one /24 underlay)");
  if (process.getuid?.() !== 0) fail("up: must run as root (network namespaces, cgroups, runc)");
  if (!existsSync(join(repoRoot, "packages/tsd/dist/main.js"))) fail("up: tsd is not built (run `npm run build`)");
  if (loadState()) fail(`already up: ${dir} holds a cluster (run \`tc down\` first)`);
  if (ourNamespaces().length > 0) fail(`already up: namespaces ${ourNamespaces().join(", ")} exist (run \`tc down\` first)`);

  mkdirSync(dir, { recursive: true });
  /** @type {import("./state.mjs").State} */
  const state = { dir, prefix, underlay: underlayNs, hosts: [] };
  let k = 0;
  for (let i = 1; i <= managers; i++) state.hosts.push({ name: `m${i}`, role: "manager", addr: `${subnet}.${++k}` });
  for (let i = 1; i <= workers; i++) state.hosts.push({ name: `w${i}`, role: "worker", addr: `${subnet}.${++k}` });
  // Saved first, so `down` finds everything even when `up` fails half-way.
  saveState(state);

  try {
    createUnderlay();
    for (const h of state.hosts) createHostNetwork(h.name, h.addr);

    await Promise.all(
      state.hosts.map(async (h) => {
        h.pid = await startTsd(h.name);
        saveState(state);
        await waitReady(h.name, h.pid);
        console.log(`${h.name}  ${h.addr}  tsd pid ${h.pid}`);
      }),
    );

    const m1 = state.hosts[0];
    const init = await tsctl(m1.name, "swarm", "init", "--advertise-addr", m1.addr);
    if (init.code !== 0) fail(`m1: swarm init failed: ${(init.stderr || init.stdout).trim()}; log tail:\n${logTail(m1.name)}`);
    state.swarm = { manager: m1.name, addr: m1.addr };
    saveState(state);
    await waitNodeReady(m1.name);
    console.log(`${m1.name}: swarm initialized (advertise ${m1.addr}), node Ready`);

    for (const h of state.hosts.slice(1)) {
      const r = await joinHost(state, h);
      if (!r.joined) console.log(`${h.name}: runs standalone until \`swarm join\` lands (${r.notice})`);
    }
  } catch (err) {
    if (err instanceof TcError) {
      const [first, ...rest] = err.message.split("\n");
      fail([`${first} (cluster left half-made in ${dir}: run \`tc down\`)`, ...rest].join("\n"));
    }
    throw err;
  }
}
