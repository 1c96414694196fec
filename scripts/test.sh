#!/usr/bin/env bash
# test.sh is the project's test command: it sets the machine up (see setup.sh) and runs every
# test, unit and integration (real etcd, runc, conmon and tsd). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p .cache
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest-report.json "$@" || status=$?
# One plain summary line, whatever the reporter printed above.
node -e '
  const r = JSON.parse(require("fs").readFileSync(".cache/vitest-report.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
exit "$status"
