#!/usr/bin/env bash
# Builds ringkv (release) and starts a local node with a default store.
# Extra arguments go to `ringkv dev` (e.g. --listen-http 127.0.0.1:9090).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target ringkv
exec build/release/bin/ringkv dev "$@"
