#!/usr/bin/env bash
# What the test suite needs outside npm, installed or started if missing, so that the README's
# test line and CI (.ci/run) behave the same on a fresh machine. Idempotent and quick when all is there.
set -euo pipefail

# A real Redis on 127.0.0.1:6379 (shared cache and limits). It keeps nothing on disk.
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  if ! command -v redis-server >/dev/null; then
    echo "test prerequisites: installing redis-server" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  echo "test prerequisites: starting redis-server on 127.0.0.1:6379" >&2
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
fi

# Debian's Chromium for the browser tests (driven by playwright-core; no browser download).
# A CJK font, so screenshots show Polyv's Chinese labels as a user's browser would.
if ! [ -x /usr/bin/chromium ] || ! [ -d /usr/share/fonts/truetype/wqy ]; then
  echo "test prerequisites: installing Debian's chromium and a CJK font" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null
fi
