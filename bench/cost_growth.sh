#!/usr/bin/env bash
# How the cost of a request grows, on this machine, with `ringkv bench`
# (closed loop, 16 connections, workload A = 50% read 50% update unless
# said otherwise; store n=3 r=2 w=2, sync):
#   1. value size: 100 B, 10 KiB, 1 MiB (10,000 / 1,000 / 100 keys, so the
#      data stays small beside RAM) — ops/s, MB/s of values, p50, p99;
#   2. siblings per key: 1, 10 and 64 (the cap a client's put may reach,
#      common/limits.h) on 100 keys of a `siblings` store, each key first
#      given that many concurrent versions by blind puts — reads only
#      (workload C: a read-modify-write would merge them back to one);
#   3. node count: 3, 5 and 7 nodes of `ringkv dev` on this one machine —
#      every node shares the same two cores, so this shows the overhead of
#      more processes, not what more machines would give.
#
#   bench/cost_growth.sh [seconds per run, default 10] [ringkv binary]
#
# Needs: a release build; python3. Everything is on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
seconds="${1:-10}"
ringkv="${2:-build/release/bin/ringkv}"
[[ -x $ringkv ]] || { echo "no $ringkv: build the release preset first" >&2; exit 1; }
bench_workdir cost-growth

summary() {  # bench JSON -> "ops/s p50_ms p99_ms errors"
  python3 -c '
import json, sys
t = json.load(sys.stdin)["total"]
print("%.0f %.3f %.3f %d" % (t["ops_per_s"], t["p50_ms"], t["p99_ms"], t["errors"]))'
}
bench_on() {  # port store workload keys [flags] -> summary
  local port=$1 store=$2 workload=$3 keys=$4
  shift 4
  "$ringkv" bench --server "http://127.0.0.1:$port" --store "$store" --workload "$workload" \
    --keys "$keys" --connections 16 --rate 0 --duration "$seconds" --warmup 2 --json "$@" \
    2>"$work/bench.err" | summary || { cat "$work/bench.err" >&2; exit 1; }
}
port=25300
start_ringkv_dev "$port" 3
echo "1. value size (workload A, closed loop, 16 connections)"
printf '%10s %7s %9s %9s %9s %9s %7s\n' "value" keys "ops/s" "MB/s" "p50 ms" "p99 ms" errors
for size in 100 10240 1048576; do
  keys=$((size >= 1048576 ? 100 : size >= 10240 ? 1000 : 10000))
  read -r ops p50 p99 errors < <(bench_on "$port" "size$size" A "$keys" --value-size "$size" --load)
  # Half the operations carry a value each way (updates up, reads down).
  printf '%10s %7s %9s %9s %9s %9s %7s\n' "$size B" "$keys" "$ops" \
    "$(python3 -c "print(round($ops * $size / 1048576, 1))")" "$p50" "$p99" "$errors"
done

echo
echo "2. siblings per key (workload C, reads only, 100 keys, 100-byte values)"
printf '%10s %9s %9s %9s %7s\n' siblings "ops/s" "p50 ms" "p99 ms" errors
for siblings in 1 10 64; do
  store="sib$siblings"
  "$ringkv" store create "$store" --n 3 --r 2 --w 2 --conflicts siblings \
    --server "http://127.0.0.1:$port" >/dev/null
  # Blind puts (no context) of one key are concurrent: each adds a sibling.
  python3 - "$port" "$store" "$siblings" <<'PY'
import http.client, sys
port, store, siblings = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
connection = http.client.HTTPConnection("127.0.0.1", port)
for key in range(100):
    for version in range(siblings):
        connection.request("PUT", f"/v1/stores/{store}/keys/user{key}", body=b"v" * 100)
        response = connection.getresponse()
        response.read()
        if response.status // 100 != 2:
            sys.exit(f"put user{key} #{version}: HTTP {response.status}")
PY
  read -r ops p50 p99 errors < <(bench_on "$port" "$store" C 100 --conflicts siblings)
  printf '%10s %9s %9s %9s %7s\n' "$siblings" "$ops" "$p50" "$p99" "$errors"
done
kill "${pids[-1]}"
wait "${pids[-1]}" 2>/dev/null || true

echo
echo "3. node count (workload A, closed loop, 16 connections, 10,000 keys)"
printf '%10s %9s %9s %9s %7s\n' nodes "ops/s" "p50 ms" "p99 ms" errors
for nodes in 3 5 7; do
  port=$((25400 + nodes * 10))
  start_ringkv_dev "$port" "$nodes"
  read -r ops p50 p99 errors < <(bench_on "$port" "nodes" A 10000 --load)
  printf '%10s %9s %9s %9s %7s\n' "$nodes" "$ops" "$p50" "$p99" "$errors"
  kill "${pids[-1]}"
  wait "${pids[-1]}" 2>/dev/null || true
done
