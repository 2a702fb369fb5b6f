#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/) with clang and runs each for a while.
#   scripts/fuzz.sh [seconds per harness, default 30]
# Any crash, leak or invariant failure stops with a non-zero exit and leaves
# the reproducer (crash-*) in build/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
cmake -S fuzz -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build build/fuzz
mkdir -p build/fuzz/artifacts
total=0
for harness in context_token context_payload record data_key hint base64 layout layout_delta frame \
    peer_hello peer_message cluster_state token serve_config api_bodies http_request; do
  corpus=build/fuzz/corpus/$harness
  mkdir -p "$corpus"
  log=build/fuzz/$harness.log
  dictionary=()  # the harness's tokens (fuzz/<harness>.dict), when it has some
  if [[ -f fuzz/$harness.dict ]]; then dictionary=(-dict="fuzz/$harness.dict"); fi
  if ! build/fuzz/fuzz_$harness "$corpus" -max_total_time="$seconds" -rss_limit_mb=1024 \
      -malloc_limit_mb=256 -max_len=4096 -artifact_prefix=build/fuzz/artifacts/ \
      "${dictionary[@]}" >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz: $harness FAILED (reproducer in build/fuzz/artifacts/)"
    exit 1
  fi
  runs=$(grep -oE "Done [0-9]+ runs" "$log" | grep -oE "[0-9]+" || echo 0)
  total=$((total + runs))
  echo "fuzz: $harness: $runs executions in ${seconds}s, 0 crashes"
done
echo "fuzz: $total executions in total, 0 crashes"
