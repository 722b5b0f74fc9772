#!/usr/bin/env bash
# Installs what the tests need beyond Python packages. Idempotent; each section owns its tool.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- Browser tests (tests/ui): Debian's chromium, driven by Python Playwright (a pip package of the dev extra) ---
# Playwright never downloads a browser here: the tests launch /usr/bin/chromium. Idempotent; runs as root in CI.
install_chromium() {
    if [ -x /usr/bin/chromium ]; then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-test-tools: /usr/bin/chromium is missing; run as root: apt-get update && apt-get install -y chromium" >&2
        return 0
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
}
install_chromium

# --- Azurite (Azure Storage emulator) and FUSE, for the datastore tests (owner: data/) ---
# Azurite is pinned in package.json/package-lock.json and lands in ./node_modules.
[ -x node_modules/.bin/azurite-blob ] || npm ci --no-audit --no-fund
# FUSE lets blob datasets mount instead of downloading (fusepy needs libfuse2 and fusermount); the tests also run
# without it (then mounts fall back to cached downloads), so a machine without apt or root just skips this.
if ! { [ -e /usr/lib/x86_64-linux-gnu/libfuse.so.2 ] || ldconfig -p 2>/dev/null | grep -q 'libfuse.so.2'; } \
    || ! command -v fusermount >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get install -y -qq libfuse2 fuse >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq libfuse2 fuse >/dev/null 2>&1; }) \
      || echo "install-test-tools: libfuse2/fuse not installed; blob mounts will use cached downloads" >&2
  fi
fi
