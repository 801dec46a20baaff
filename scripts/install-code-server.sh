#!/bin/sh
# Installs code-server 4.100.3 (VS Code 1.100.3 server, the last release for Node 20) into DEST, offline
# from GitHub: only the npm registry is reachable. Needs node 20, npm, g++, make, python3, libkrb5-dev.
# usage: sh scripts/install-code-server.sh [DEST]   (default: ~/.cache/pixel-sail/code-server-4.100.3)
set -eu
CS_VERSION=4.100.3
RG_PKG_VERSION=1.15.11   # @vscode/ripgrep version code-server 4.100.3 pins
RG_TAG=v13.0.0-10        # the release its postinstall would download
DEST=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/pixel-sail/code-server-$CS_VERSION}
if [ -x "$DEST/node_modules/.bin/code-server" ]; then
  "$DEST/node_modules/.bin/code-server" --version >/dev/null 2>&1 && { echo "code-server already in $DEST"; exit 0; }
fi
mkdir -p "$DEST"; DEST=$(cd "$DEST" && pwd)
# @vscode/ripgrep downloads rg from GitHub; seed its cache with the static rg from the npm package instead.
CACHE="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$RG_PKG_VERSION"
ASSET="$CACHE/ripgrep-$RG_TAG-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$ASSET" ]; then
  W=$(mktemp -d)
  (cd "$W" && npm pack --silent @vscode/ripgrep-linux-x64@1.18.0 >/dev/null && tar xzf vscode-ripgrep-linux-x64-*.tgz)
  mkdir -p "$CACHE"; tar czf "$ASSET" -C "$W/package/bin" rg; rm -rf "$W"
fi
cd "$DEST"
[ -f package.json ] || npm init -y >/dev/null
# unsafe_perm: code-server's postinstall refuses to run as root without it; yes: node-pty runs `npx node-gyp`.
npm_config_unsafe_perm=true npm_config_yes=true npm install --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION"
"$DEST/node_modules/.bin/code-server" --version
