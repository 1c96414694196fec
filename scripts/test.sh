#!/usr/bin/env bash
# test.sh is the project's test command: it sets the machine up (see setup.sh) and runs every
# test, unit and integration (real etcd, runc, conmon and tsd). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx vitest run "$@"
