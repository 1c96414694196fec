// test-cluster/tc: simulated hosts on one machine, each a network namespace on an isolated underlay,
// each running its own tsd. Node built-ins and iproute2 only. See README.md for usage and the
// isolation rules; in short: every interface, address and route lives inside namespaces tc creates,
// nothing is added to the root namespace, and `down` removes everything by where it lives.
//
// Modules, one job each:
//   context.mjs     names and paths derived from TC_DIR; TcError; waiting helpers
//   state.mjs       the state file
//   netns.mjs       underlay, host namespaces, links (iproute2)
//   processes.mjs   tsd start/stop/kill, etcd pids, liveness through /proc
//   tsctl.mjs       the CLI against a host's socket; log tails
//   membership.mjs  swarm init/join and waiting for nodes
//   up.mjs, down.mjs, commands.mjs   the commands
import { prefix, TcError } from "./context.mjs";
import { cmdExec, cmdHeal, cmdIp, cmdKill, cmdLeader, cmdLs, cmdPartition, cmdStart, cmdStop } from "./commands.mjs";
import { cmdDown } from "./down.mjs";
import { cmdUp } from "./up.mjs";

const usage = `usage: tc <command>
  up --managers N --workers M [--spares K] [--tsd-arg ARG]...
                                create the hosts m1..mN w1..wM s1..sK, start their tsd, swarm init on
                                m1, join the other managers and the workers (spares stay outside);
                                each --tsd-arg goes to every tsd (also on \`start\`)
  up --bare --managers N --workers M
                                only the hosts (namespaces, addresses, dirs): no tsd, no swarm
  exec <host> -- <cmd...>       run a command inside a host (TSCTL_HOST set, bin/ on PATH)
  ip <host>                     the host's underlay address
  kill <host> | stop <host> | start <host>
                                SIGKILL / SIGTERM / start again the host's tsd (and its etcd)
  partition <host> | heal       cut a host off the underlay / reconnect every host
  ls                            hosts, roles, addresses, tsd pids, swarm membership
  leader                        the host whose node is the swarm's Leader
  down                          remove every process, mount, cgroup, veth, namespace and TC_DIR
state: $TC_DIR (default /tmp/tsctl-tc); namespaces ${prefix}*`;

const commands = {
  up: cmdUp,
  exec: cmdExec,
  ip: cmdIp,
  kill: cmdKill,
  stop: cmdStop,
  start: cmdStart,
  partition: cmdPartition,
  heal: cmdHeal,
  ls: cmdLs,
  leader: cmdLeader,
  down: cmdDown,
};

async function main(argv) {
  const [cmd, ...args] = argv;
  if (cmd === undefined || cmd === "help" || cmd === "-h" || cmd === "--help") {
    console.log(usage);
    return;
  }
  if (!Object.hasOwn(commands, cmd)) throw new TcError(`unknown command "${cmd}" (see \`tc help\`)`);
  return commands[cmd](args);
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`tc: ${err instanceof TcError ? err.message : err?.stack ?? String(err)}\n`);
  process.exit(1);
});
