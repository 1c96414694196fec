#!/usr/bin/env bash
# demo.sh sets the machine up, then runs a single-node cluster in a scratch directory: swarm init,
# image load, a 3-replica service, `service ps`, and a clean teardown. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

work=$(mktemp -d /tmp/tsd-demo.XXXXXX)
export TSCTL_HOST="unix://$work/run/tsd.sock"
tsd_pid=""
cleanup() {
  set +e
  if [ -n "$tsd_pid" ]; then
    bin/tsctl service rm web >/dev/null 2>&1
    # Give the agent a moment to stop and remove the containers before tsd goes.
    for _ in $(seq 1 50); do [ -z "$(bin/tsctl container ls -a -q 2>/dev/null)" ] && break; sleep 0.2; done
    kill "$tsd_pid" 2>/dev/null; wait "$tsd_pid" 2>/dev/null
  fi
  rm -rf "$work"
  for d in /sys/fs/cgroup/*/"tsd-demo-$$"; do rmdir "$d" 2>/dev/null; done
}
trap cleanup EXIT

run() { echo "+ tsctl $*"; bin/tsctl "$@"; }

bin/tsd --data-root "$work/data" --exec-root "$work/run" --cgroup-parent "tsd-demo-$$" --hostname demo-node \
  >"$work/tsd.log" 2>&1 &
tsd_pid=$!
for _ in $(seq 1 100); do [ -S "$work/run/tsd.sock" ] && break; sleep 0.1; done

run swarm init
run image load -i .cache/busybox.tar
run service create --name web --replicas 3 --stop-grace-period 2s busybox:latest sh -c 'echo hello from $(hostname); sleep 3600'
run service ls
run service ps web
run node ls
run container ls
run service logs web
echo "demo: done (cleaning up)"
