#!/usr/bin/env bash
# One-time setup on a fresh Debian/Ubuntu machine (run as root or with sudo available): the Debian
# packages in scripts/apt-packages.txt (each with the reason it is there), the npm dependencies, the
# build, and the code-server test host. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
# package.json's allowScripts denies onnxruntime-node's install script (it downloads CUDA libraries;
# the CPU build ships in the npm tarball) on npm >= 11.16; this covers older npm releases too.
export ONNXRUNTIME_NODE_INSTALL=skip

mapfile -t APT_PACKAGES < <(sed -e 's/#.*//' scripts/apt-packages.txt | awk 'NF { print $1 }')
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
"${PYTHON:-/usr/bin/python3}" scripts/check_python_deps.py

npm ci --no-audit --no-fund
npm run build
sh scripts/install-code-server.sh
echo "setup: done"
