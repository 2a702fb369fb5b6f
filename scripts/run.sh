#!/usr/bin/env bash
# Builds ringkv (release) and starts a local 3-node cluster with a default store.
# Extra arguments go to `ringkv dev` (e.g. --nodes 5, --http-port 9090).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target ringkv
exec build/release/bin/ringkv dev "$@"
