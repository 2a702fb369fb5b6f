#!/usr/bin/env bash
# Side-by-side with one load generator: `ringkv bench --system ringkv|etcd|redis`
# runs the same YCSB-style workloads (W: insert only, A: 50% read 50% update,
# C: read only; 10000 keys, zipfian, 100-byte values, 32 connections, closed
# loop) against
#   - a 3-node ringkv cluster (`ringkv dev`; the bench's store n=3 r=2 w=2,
#     durability sync, the default),
#   - a 3-member etcd cluster (Debian's etcd-server, default durable settings,
#     through its v3 JSON gateway), and
#   - one redis-server with an fsync per write (--appendonly yes
#     --appendfsync always --save '').
# Runs alternate systems (the order rotates every round) so that machine noise
# hits all alike; prints each run, then per workload the median throughput
# and p99 of each system and the ratios ringkv/etcd and ringkv/redis.
#
#   bench/ycsb_side_by_side.sh [seconds per run, default 10] [rounds, default 3]
#
# RINGKV_BIN picks the binary (default build/release/bin/ringkv). Needs
# scripts/setup.sh --bench. Everything is on 127.0.0.1. Redis is one process
# without replication: the ratio shows what replication and quorums cost
# against a single durable node, not a like-for-like cluster comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
seconds="${1:-10}"
rounds="${2:-3}"
connections=32
ringkv="${RINGKV_BIN:-build/release/bin/ringkv}"
[[ -x $ringkv ]] || { echo "no $ringkv: build the release preset first, or set RINGKV_BIN" >&2; exit 1; }
for tool in etcd redis-server redis-cli curl python3; do
  command -v "$tool" >/dev/null || { echo "run scripts/setup.sh --bench ($tool missing)" >&2; exit 1; }
done

bench_workdir ycsb
etcd_port=24379
ringkv_port=25080
redis_port=26379

# etcd: three members, default (durable: fsync per raft batch) settings.
start_etcd "$etcd_port" ycsb
# ringkv: three real processes through `ringkv dev` (sync durability by default).
start_ringkv_dev "$ringkv_port"
# redis: one process, every write fsynced before it is acknowledged.
mkdir -p "$work/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes \
  --appendfsync always --save '' --daemonize no --logfile "$work/redis.log" &
pids+=($!)

for _ in $(seq 1 100); do
  [[ $(redis-cli -p "$redis_port" ping 2>/dev/null) == PONG ]] && break
  sleep 0.1
done
[[ $(redis-cli -p "$redis_port" ping 2>/dev/null) == PONG ]] || { cat "$work/redis.log" >&2; exit 1; }

server_of() {
  case "$1" in
    ringkv) echo "http://127.0.0.1:$ringkv_port" ;;
    etcd) echo "http://127.0.0.1:$etcd_port" ;;
    redis) echo "127.0.0.1:$redis_port" ;;
  esac
}

# One bench run's JSON -> "ops/s p99_ms errors" of all its operations together.
summary() {
  python3 -c '
import json, sys
total = json.load(sys.stdin)["total"]
print("%.1f %.3f %d" % (total["ops_per_s"], total["p99_ms"], total["errors"]))'
}

systems=(ringkv etcd redis)
echo "ringkv bench --rate 0 --connections $connections --duration $seconds --warmup 2 --keys 10000" \
  "(zipfian, 100-byte values), $rounds round(s), systems alternating"
for workload in W A C; do
  load=()
  [[ $workload != W ]] && load=(--load)
  for system in "${systems[@]}"; do : >"$work/$workload.$system"; done
  for round in $(seq 1 "$rounds"); do
    line="  $workload round $round:"
    for index in 0 1 2; do  # the order rotates every round
      system=${systems[$(((index + round - 1) % 3))]}
      log="$work/$workload.$system.$round.log"
      "$ringkv" bench --system "$system" --server "$(server_of "$system")" --workload "$workload" \
        --rate 0 --connections "$connections" --duration "$seconds" --warmup 2 --keys 10000 \
        --store ycsb --n 3 --r 2 --w 2 --json "${load[@]}" >"$work/run.json" 2>"$log" ||
        { echo "ringkv bench --system $system failed:" >&2; tail -5 "$log" >&2; exit 1; }
      result=$(summary <"$work/run.json")
      echo "$result" >>"$work/$workload.$system"
      line+=" $system $result |"
    done
    echo "${line% |}   (ops/s p99_ms errors)"
  done
done

echo
printf "%-8s | %-22s | %-22s | %-22s | %-18s | %-18s\n" workload \
  "ringkv ops/s  p99 ms" "etcd ops/s  p99 ms" "redis ops/s  p99 ms" "ringkv/etcd ops p99" \
  "ringkv/redis ops p99"
for workload in W A C; do
  row=()
  for system in "${systems[@]}"; do
    row+=("$(cut -d' ' -f1 "$work/$workload.$system" | median)")
    row+=("$(cut -d' ' -f2 "$work/$workload.$system" | median)")
  done
  awk -v w="$workload" -v r1="${row[0]}" -v r2="${row[1]}" -v e1="${row[2]}" -v e2="${row[3]}" \
    -v d1="${row[4]}" -v d2="${row[5]}" '
    function ratio(a, b) { return b > 0 ? sprintf("x%.2f", a / b) : "-" }
    BEGIN {
      printf "%-8s | %10.0f %9.2f  | %10.0f %9.2f  | %10.0f %9.2f  | %8s %8s  | %8s %8s\n",
        w, r1, r2, e1, e2, d1, d2, ratio(r1, e1), ratio(r2, e2), ratio(r1, d1), ratio(r2, d2)
    }'
done
echo "(medians over $rounds round(s); ops/s counts every operation; p99 over all of them)"
