#!/usr/bin/env bash
# Builds ringkv with AddressSanitizer + UndefinedBehaviorSanitizer and runs
# every test: unit, property, integration (real processes over HTTP and HTTPS).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset debug
cmake --build --preset debug
ctest --preset debug "$@"
