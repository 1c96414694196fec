#!/usr/bin/env bash
# setup.sh installs everything tsctl needs on a fresh Debian/Ubuntu machine (as root): the Debian
# packages, the npm dependencies, the build, and the busybox test image. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(etcd-server runc conmon nftables iproute2 busybox-static attr tar tini openssl
  docker-registry skopeo apache2-utils)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install` rather than `npm ci`: with this machine's npm settings the lock file leaves out
  # other platforms' optional packages, which `npm ci` then reports as "missing from lock file".
  # install still installs exactly the locked versions.
  echo "setup: npm install"
  npm install --no-audit --no-fund --loglevel=error
fi

echo "setup: build"
npm run --silent build

mkdir -p .cache
if [ ! -s .cache/busybox.tar ] || [ scripts/build-busybox-image.mjs -nt .cache/busybox.tar ]; then
  echo "setup: building the busybox image"
  node scripts/build-busybox-image.mjs -o .cache/busybox.tar
fi
echo "setup: done"
