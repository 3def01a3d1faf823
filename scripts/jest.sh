#!/usr/bin/env bash
# Runs jest (arguments passed on) on the Node the tests are meant for, whatever the system's:
#   TEST_NODE=24 (default)  Node 24, the Active LTS the image runs: the npm package `node`, a
#                           devDependency, installs its binary as node_modules/.bin/node.
#   TEST_NODE=system        the first `node` on PATH outside node_modules: e.g. Node 20, the
#                           oldest we support (package.json engines).
# Test files that start processes use process.execPath, so they run on the same Node.
set -euo pipefail
cd "$(dirname "$0")/.."

# PATH without node_modules/.bin (npm puts it first, and with it Node 24 as `node`).
system_path() {
  local dir kept=() IFS=:
  for dir in $PATH; do
    case "$dir" in */node_modules/.bin) ;; *) kept+=("$dir") ;; esac
  done
  echo "${kept[*]}"
}

case "${TEST_NODE:-24}" in
  24)
    node="$PWD/node_modules/.bin/node"
    if ! version=$("$node" --version 2>/dev/null) || [[ "$version" != v24.* ]]; then
      echo "scripts/jest.sh: $node is not Node 24 (${version:-missing}): npm ci installs it" \
        "(devDependency \`node\`); or run on the system's Node: TEST_NODE=system" >&2
      exit 1
    fi
    # Anything a test starts by name runs on it too.
    export PATH="$PWD/node_modules/.bin:$PATH"
    ;;
  system)
    export PATH="$(system_path)"
    if ! node=$(command -v node); then
      echo "scripts/jest.sh: TEST_NODE=system, but there is no node on PATH" >&2
      exit 1
    fi
    ;;
  *)
    echo "scripts/jest.sh: TEST_NODE is 24 (the default) or system, not \"$TEST_NODE\"" >&2
    exit 2
    ;;
esac

echo "jest on Node $("$node" --version) ($node)" >&2
exec "$node" --experimental-vm-modules node_modules/jest/bin/jest.js "$@"
