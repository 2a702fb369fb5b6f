#!/usr/bin/env bash
# Tail latency under a fixed offered load, at fractions of saturation: for
# YCSB workloads A (50% read, 50% update), B (95/5) and F (50% read, 50%
# read-modify-write with contexts), `ringkv bench` first finds the rate a
# 3-node cluster saturates at (closed loop, 32 connections), then offers 50%,
# 80% and 95% of that rate open loop (each request is due at a fixed time
# and its latency counts from then, so a stall cannot hide) and reports the
# achieved rate, p50, p99 and p99.9.
#
# Give several binaries (a baseline build and this one) to compare them in
# one run: each gets its own `ringkv dev --open` cluster (3 nodes, store
# n=3 r=2 w=2, sync, 10,000 keys, zipfian, 100-byte values) and the builds
# alternate per workload, so the machine's noise hits all alike.
#
#   bench/open_loop.sh [seconds per run, default 10] [ringkv binary ...]
#
# Needs: a release build (the default binary); everything is on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
seconds="${1:-10}"
shift || true
binaries=("$@")
((${#binaries[@]} > 0)) || binaries=(build/release/bin/ringkv)
for binary in "${binaries[@]}"; do
  [[ -x $binary ]] || { echo "no $binary: build the release preset first" >&2; exit 1; }
done
command -v python3 >/dev/null || { echo "python3 missing" >&2; exit 1; }

bench_workdir open-loop
fractions=(0.5 0.8 0.95)
# One cluster per binary, on its own ports.
for index in "${!binaries[@]}"; do
  ringkv=${binaries[$index]}
  port=$((25100 + index * 100))
  work_root=$work
  work="$work_root/b$index"
  mkdir -p "$work"
  start_ringkv_dev "$port"
  work=$work_root
done

summary() {  # bench JSON -> "ops/s p50_ms p99_ms p99_9_ms errors"
  python3 -c '
import json, sys
t = json.load(sys.stdin)["total"]
print("%.0f %.3f %.3f %.3f %d" % (t["ops_per_s"], t["p50_ms"], t["p99_ms"], t["p99_9_ms"], t["errors"]))'
}
run() {  # index workload rate(0 = closed loop) [extra flags] -> summary
  local index=$1 workload=$2 rate=$3
  shift 3
  "${binaries[$index]}" bench --server "http://127.0.0.1:$((25100 + index * 100))" \
    --workload "$workload" --keys 10000 --connections 32 --rate "$rate" \
    --duration "$seconds" --warmup 2 --json "$@" 2>"$work/bench.err" | summary ||
    { cat "$work/bench.err" >&2; exit 1; }
}

printf '%-8s %-4s %-9s %9s %9s %9s %9s %9s %7s\n' build workload load "offered" "ops/s" \
  "p50 ms" "p99 ms" "p99.9 ms" errors
for workload in A B F; do
  for index in "${!binaries[@]}"; do
    flags=()
    [[ $workload == A ]] && flags=(--load)  # the first run writes every key once
    read -r saturation p50 p99 p999 errors < <(run "$index" "$workload" 0 "${flags[@]}")
    printf '%-8s %-4s %-9s %9s %9s %9s %9s %9s %7s\n' "b$index" "$workload" saturated "-" \
      "$saturation" "$p50" "$p99" "$p999" "$errors"
    for fraction in "${fractions[@]}"; do
      rate=$(python3 -c "print(round($saturation * $fraction))")
      read -r ops p50 p99 p999 errors < <(run "$index" "$workload" "$rate")
      printf '%-8s %-4s %-9s %9s %9s %9s %9s %9s %7s\n' "b$index" "$workload" \
        "$(python3 -c "print(f'{round($fraction * 100)}%')")" "$rate" "$ops" "$p50" "$p99" "$p999" \
        "$errors"
    done
  done
done
for index in "${!binaries[@]}"; do
  echo "b$index = ${binaries[$index]}"
done
