#!/usr/bin/env bash
# install.sh installs tsctl on this host from a checkout: the Debian packages and build (via
# scripts/setup.sh), a copy under /opt/tsctl, the tsctl/tsd commands in /usr/local/bin, and the
# systemd unit. Run as root on each VM.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
bash "$src/scripts/setup.sh"
if [ "$src" != /opt/tsctl ]; then
  mkdir -p /opt/tsctl
  cp -a "$src/." /opt/tsctl/
fi
ln -sf /opt/tsctl/bin/tsctl /usr/local/bin/tsctl
ln -sf /opt/tsctl/bin/tsd /usr/local/bin/tsd
install -m 0644 /opt/tsctl/deploy/tsd.service /etc/systemd/system/tsd.service
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now tsd
  echo "tsd is running; next: tsctl swarm init"
else
  echo "no systemd here: start tsd by hand: tsd --data-root /var/lib/tsd --exec-root /run/tsd &"
fi
