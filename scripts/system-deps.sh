#!/usr/bin/env bash
# The Debian packages MoE Lens needs beyond Node.js, in one list per purpose, installed when missing.
#
#   scripts/system-deps.sh test    # fixtures and llama.cpp tools: numpy for gguf-py, CMake + ninja, xz, git
#   scripts/system-deps.sh e2e     # real VS Code in the browser: chromium (Playwright), libkrb5-dev (code-server)
#   scripts/system-deps.sh all     # both
#
# As root it runs apt-get for what is missing; otherwise it prints the one command to run and fails, so a
# newcomer's `npm run test:all` / `npm start` never stops later on a missing module. Idempotent and quick when
# everything is present (dpkg queries only). Build tools for the native addon (python3, make, g++) are checked too.
set -euo pipefail

purpose="${1:-all}"
declare -a wanted=()
case "$purpose" in
  test) wanted=(python3 make g++ git python3-numpy cmake ninja-build xz-utils) ;;
  e2e) wanted=(chromium libkrb5-dev) ;;
  all) wanted=(python3 make g++ git python3-numpy cmake ninja-build xz-utils chromium libkrb5-dev) ;;
  *) echo "usage: $0 test|e2e|all" >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "[system-deps] missing ${missing[*]} (Debian package names); install them with your package manager" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "[system-deps] missing packages; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "[system-deps] apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -qq
apt-get -o DPkg::Lock::Timeout=900 install -y -qq "${missing[@]}" >/dev/null
