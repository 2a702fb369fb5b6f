#!/usr/bin/env bash
# Builds ringkv with AddressSanitizer + UndefinedBehaviorSanitizer and runs
# every test: a short libFuzzer run of every decoder, then unit, property,
# simulation (a fixed set) and integration tests (real processes over HTTP
# and HTTPS) under CTest; then most simulation seeds, fixed and rotating,
# in a release build (scripts/sim.sh); then the nemesis: five real processes
# in network namespaces under partitions, pauses, kills, clock steps, a full
# disk and a wiped disk (scripts/nemesis.sh, about 5 minutes).
# RINGKV_FUZZ_SECONDS sets the fuzz time per harness (default 15; 0 skips).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset debug
cmake --build --preset debug
fuzz_seconds="${RINGKV_FUZZ_SECONDS:-15}"
if [[ $fuzz_seconds != 0 ]]; then scripts/fuzz.sh "$fuzz_seconds"; fi
ctest --preset debug "$@"
scripts/sim.sh
scripts/nemesis.sh
