#!/usr/bin/env bash
# One-time setup on a fresh Debian/Ubuntu machine (run as root or with sudo available):
# system packages, npm dependencies (without onnxruntime-node's CUDA download), the build, and the
# code-server test host. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
export ONNXRUNTIME_NODE_INSTALL=skip   # the CPU build ships in the npm tarball; CUDA libraries would be downloaded

# Python tooling (training/) runs on Debian's PyTorch; libopenblas0-pthread keeps its matmuls fast.
# python3-nltk + wordnet-base: METEOR with synonym matching for the evaluation.
# chromium + libkrb5-dev: the real VS Code test host (code-server) and the browser that drives it.
APT_PACKAGES=(python3 python3-torch python3-numpy python3-pil python3-pytest python3-nltk wordnet-base libopenblas0-pthread chromium libkrb5-dev g++ make)
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

npm ci --no-audit --no-fund
npm run build
sh scripts/install-code-server.sh
echo "setup: done"
