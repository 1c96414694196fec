// up: create the underlay and the hosts, start a tsd in each, form the swarm: init on m1, the
// other managers joined one at a time (etcd adds one member at a time), the workers in parallel.
// With --bare only the hosts are made (namespaces, addresses, host dirs): no tsd, no swarm, for
// whatever else is to run on them (the Docker Swarm baseline of bench/failover.mjs). Each
// --tsd-arg is passed to every host's tsd, now and on every `tc start`.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { dir, fail, hostDir, prefix, repoRoot, subnet, TcError, underlayNs } from "./context.mjs";
import { initSwarm, joinHost, waitFormed } from "./membership.mjs";
import { createHostNetwork, createUnderlay, ourNamespaces } from "./netns.mjs";
import { startTsd, waitReady } from "./processes.mjs";
import { loadState, saveState } from "./state.mjs";

const options = ["--managers", "--workers", "--spares", "--bare"];

/**
 * takeTsdArgs splits `--tsd-arg X` / `--tsd-arg=X` (repeatable; X may start with "-") off the
 * other options: returns the tsd args and the rest.
 */
function takeTsdArgs(args) {
  const tsdArgs = [];
  const rest = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--tsd-arg") {
      if (i + 1 >= args.length) fail("--tsd-arg needs a value");
      tsdArgs.push(args[++i]);
    } else if (args[i].startsWith("--tsd-arg=")) {
      tsdArgs.push(args[i].slice("--tsd-arg=".length));
    } else {
      rest.push(args[i]);
    }
  }
  return { tsdArgs, rest };
}

function parseCount(args, flag, dflt) {
  const i = args.indexOf(flag);
  if (i < 0) return dflt;
  const v = args[i + 1];
  if (!v || !/^\d+$/.test(v)) fail(`${flag} needs a number`);
  return Number(v);
}

/**
 * cmdUp: `tc up --managers N --workers M --spares K [--bare]`. On failure it leaves what it made for
 * `down`. Bare hosts get their namespace and an empty host dir, nothing else; `down` removes whatever
 * ran there by the same rules (processes in the namespace or naming the host dir, the cgroup parent
 * `tsctl-tc-<hash>-<host>`, mounts under the host dir). `--tsd-arg` values go to every tsd after
 * tc's own flags, and are kept in the state file for `tc start`.
 */
export async function cmdUp(argv) {
  const { tsdArgs, rest: args } = takeTsdArgs(argv);
  if (args.includes("--bare") && tsdArgs.length > 0) fail("up: --tsd-arg makes no sense with --bare (no tsd runs)");
  for (const a of args) if (a.startsWith("-") && !options.includes(a)) fail(`up: unknown option ${a}`);
  const bare = args.includes("--bare");
  const managers = parseCount(args, "--managers", 1);
  const workers = parseCount(args, "--workers", 0);
  const spares = parseCount(args, "--spares", 0);
  if (managers < 1) fail("up: need at least one manager");
  if (managers + workers + spares > 250) fail("up: at most 250 hosts (one /24 underlay)");
  if (process.getuid?.() !== 0) fail("up: must run as root (network namespaces, cgroups, runc)");
  if (!bare && !existsSync(join(repoRoot, "packages/tsd/dist/main.js"))) fail("up: tsd is not built (run `npm run build`)");
  if (loadState()) fail(`already up: ${dir} holds a cluster (run \`tc down\` first)`);
  if (ourNamespaces().length > 0) fail(`already up: namespaces ${ourNamespaces().join(", ")} exist (run \`tc down\` first)`);

  mkdirSync(dir, { recursive: true });
  /** @type {import("./state.mjs").State} */
  const state = { dir, prefix, underlay: underlayNs, hosts: [] };
  if (tsdArgs.length > 0) state.tsdArgs = tsdArgs;
  let k = 0;
  const add = (letter, role, n) => {
    for (let i = 1; i <= n; i++) state.hosts.push({ name: `${letter}${i}`, role, addr: `${subnet}.${++k}`, inSwarm: false });
  };
  add("m", "manager", managers);
  add("w", "worker", workers);
  add("s", "spare", spares);
  // Saved first, so `down` finds everything even when `up` fails half-way.
  saveState(state);

  try {
    createUnderlay();
    for (const h of state.hosts) createHostNetwork(h.name, h.addr);
    if (bare) {
      for (const h of state.hosts) {
        mkdirSync(hostDir(h.name), { recursive: true });
        console.log(`${h.name}  ${h.addr}  (bare: no tsd)`);
      }
      return;
    }

    await Promise.all(
      state.hosts.map(async (h) => {
        h.pid = await startTsd(h.name, tsdArgs);
        saveState(state);
        await waitReady(h.name, h.pid);
        console.log(`${h.name}  ${h.addr}  tsd pid ${h.pid}`);
      }),
    );

    const [m1, ...otherManagers] = state.hosts.filter((h) => h.role === "manager");
    await initSwarm(state, m1);
    console.log(`${m1.name}: swarm initialized (advertise ${m1.addr}), node Ready`);

    for (const h of otherManagers) {
      const t0 = Date.now();
      await joinHost(state, h);
      console.log(`${h.name}: joined as a manager, Reachable (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
    await Promise.all(
      state.hosts
        .filter((h) => h.role === "worker")
        .map(async (h) => {
          const t0 = Date.now();
          await joinHost(state, h);
          console.log(`${h.name}: joined as a worker, Ready (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
        }),
    );
    await waitFormed(state, m1.name);
    const members = state.hosts.filter((h) => h.inSwarm).length;
    console.log(`swarm formed: ${members} node(s) Ready on ${m1.name}${spares > 0 ? `; spares ${state.hosts.filter((h) => h.role === "spare").map((h) => h.name).join(", ")} run tsd outside the swarm` : ""}`);
  } catch (err) {
    if (err instanceof TcError) {
      const [first, ...rest] = err.message.split("\n");
      fail([`${first} (cluster left half-made in ${dir}: run \`tc down\`)`, ...rest].join("\n"));
    }
    throw err;
  }
}
