#!/usr/bin/env bash
# Adding a node to a loaded 3-node cluster: time to balance, bytes moved
# against the lower bound, and client latency during the move against idle.
#
#   bench/rebalance.sh [MiB of data, default 1024] [value bytes, default 4096] [ringkv binary]
#
# TRANSFER_MIB=N sets every node's --transfer-mib-per-sec (default: the
# node's default).
#
# 1. Three `ringkv serve` nodes (capacity 1, Q = 256) on 127.0.0.1; store
#    "bench" (n = 3, r = 2, w = 2, last writer wins) filled with MiB of values by wrk PUTs.
# 2. Idle: `ringkv bench` workload A on a separate store "live" (10,000
#    keys, 100-byte values), first closed loop (16 connections) to find its
#    saturation rate, then open loop (64 connections) at RATE_FRACTION
#    (default 0.5) of it for 15 s -> p99.
# 3. A fourth node joins as a standby; `ringkv cluster plan --add n4` shows
#    the partitions to move against the lower bound; `cluster apply --add n4
#    --wait` commits it and draws the progress. The same load runs in
#    back-to-back 5 s slices for the whole move; the slices that ended
#    before the cluster was balanced give p50/p99 during the move.
# 4. Bytes moved = what the nodes received by streaming (GET /v1/cluster,
#    transfers.bytes_received), against the lower bound = the bytes of
#    "bench" that n4 holds at the end (it held nothing before).
# 5. Idle streaming: n4 leaves with no client load; the rate is the bytes
#    the others received over the seconds in which bytes arrived.
#
# Needs: scripts/setup.sh --bench (wrk); a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
mib="${1:-1024}"
value_bytes="${2:-4096}"
ringkv="${3:-build/release/bin/ringkv}"
[[ -x $ringkv ]] || { echo "build the release preset first ($ringkv missing)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "run scripts/setup.sh --bench (wrk missing)" >&2; exit 1; }

work=$(mktemp -d /tmp/ringkv-rebalance.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
base=$((25000 + RANDOM % 3000))
http() { echo $((base + $1)); }
peer() { echo $((base + 10 + $1)); }
start_node() {  # id, extra flags...
  local index=$1
  shift
  "$ringkv" serve --node-id "n$index" --data-dir "$work/n$index" --listen-http "127.0.0.1:$(http "$index")" \
    --listen-peer "127.0.0.1:$(peer "$index")" --partitions 256 ${TRANSFER_MIB:+--transfer-mib-per-sec "$TRANSFER_MIB"} \
    "$@" >"$work/n$index.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do
    grep -q "ringkv ready on" "$work/n$index.log" && return 0
    sleep 0.1
  done
  cat "$work/n$index.log" >&2
  exit 1
}
url="http://127.0.0.1:$(http 1)"
cluster_field() {  # python expression over the /v1/cluster JSON `c`
  curl -sf "$url/v1/cluster" | python3 -c "import json,sys; c=json.load(sys.stdin); print($1)"
}
wait_balanced() {
  for _ in $(seq 1 600); do
    [[ $(cluster_field 'c["balanced"] and all(m.get("ring_partitions",0)>0 for m in c["members"] if m["role"]=="owner")') == True ]] && return 0
    sleep 0.2
  done
  echo "not balanced" >&2
  exit 1
}

wait_quiet() {  # until the serve processes use < 10% of a core over 2 s (compactions done)
  local before after pid fields
  for _ in $(seq 1 90); do
    before=0
    for pid in "${pids[@]}"; do
      read -ra fields <"/proc/$pid/stat" && before=$((before + fields[13] + fields[14]))
    done
    sleep 2
    after=0
    for pid in "${pids[@]}"; do
      read -ra fields <"/proc/$pid/stat" && after=$((after + fields[13] + fields[14]))
    done
    (((after - before) * 100 / $(getconf CLK_TCK) / 2 < 10)) && return 0
  done
  echo "(the nodes did not go quiet within 180 s; measuring anyway)" >&2
}
received_total() {  # bytes received by streaming, summed over nodes 1..$1
  local total=0 index bytes
  for index in $(seq 1 "$1"); do
    bytes=$(curl -sf "http://127.0.0.1:$(http "$index")/v1/cluster" |
      python3 -c "import json,sys; print(json.load(sys.stdin)['transfers']['bytes_received'])")
    total=$((total + bytes))
  done
  echo "$total"
}

start_node 1
start_node 2 --join "127.0.0.1:$(peer 1)"
start_node 3 --join "127.0.0.1:$(peer 1)"
wait_balanced
# Last writer wins: the loader's blind overwrites replace (no siblings pile up).
"$ringkv" store create bench --n 3 --r 2 --w 2 --conflicts lww --server "$url" >/dev/null
"$ringkv" store create live --n 3 --r 2 --w 2 --conflicts lww --server "$url" >/dev/null

keys=$((mib * 1024 * 1024 / value_bytes))
echo "loading $keys keys of $value_bytes bytes ($mib MiB) into store bench (n = 3)"
cat >"$work/load.lua" <<LUA
local counter = 0
local body = string.rep("v", $value_bytes)
local threads = 0
local offset = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end
init = function(args)
  offset = tonumber(args[1])
end
request = function()
  local key = (offset + id + counter * 4) % $keys
  counter = counter + 1
  return wrk.format("PUT", "/v1/stores/bench/keys/k" .. key, nil, body)
end
LUA
load_start=$(date +%s.%N)
# wrk runs for a time: repeat, each run starting where the last one ended,
# until the store holds every key.
offset=0
while true; do
  wrk -t4 -c16 -d20s -s "$work/load.lua" "$url" -- "$offset" >"$work/load.txt"
  done_requests=$(grep -o "[0-9]* requests in" "$work/load.txt" | awk '{print $1}')
  offset=$(((offset + done_requests) / 4 * 4))
  held=$(curl -sf "$url/v1/stores/bench/merkle" | python3 -c "import json,sys; print(json.load(sys.stdin)['keys'])")
  echo "  $held of $keys keys"
  # (wrk threads advance unevenly: the last few gaps close on later passes.)
  [[ $held -ge $((keys - keys / 1000)) ]] && break
done
echo "loaded in $(python3 -c "print(round($(date +%s.%N) - $load_start))") s"
wait_quiet

# The client: `ringkv bench`, workload A (half reads, half updates) on the
# store "live", open loop at a fixed rate (latency counted from when each
# request was due, so a stall cannot hide), at RATE_FRACTION (default 0.5)
# of the rate it saturates at before the move.
# Open loop on 64 connections: enough that the client never holds requests
# back (3,500 requests/s over 16 connections queued in the client as soon as
# the mean latency passed 4.6 ms, and the queue, not the nodes, made p99).
bench_run() {  # rate seconds -> JSON
  "$ringkv" bench --server "$url" --store live --workload A --keys 10000 --connections 64 \
    --rate "$1" --duration "$2" --warmup 0 --json
}
summary() {  # JSON -> "ops/s p50_ms p99_ms p999_ms errors"
  python3 -c '
import json, sys
t = json.load(sys.stdin)["total"]
print("%.1f %.3f %.3f %.3f %d" % (t["ops_per_s"], t["p50_ms"], t["p99_ms"], t["p99_9_ms"], t["errors"]))'
}
"$ringkv" bench --server "$url" --store live --workload A --keys 10000 --load --rate 0 \
  --connections 16 --duration 10 --warmup 2 --json >"$work/saturation.json"
read -r saturation _ _ _ _ < <(summary <"$work/saturation.json")
rate=$(python3 -c "print(round($saturation * ${RATE_FRACTION:-0.5}))")
echo "client saturates at $saturation ops/s (workload A, closed loop); the load runs at $rate ops/s"
wait_quiet
bench_run "$rate" 15 >"$work/idle.json"
read -r idle_rate idle_p50 idle_p99 idle_p999 idle_errors < <(summary <"$work/idle.json")
echo "idle: $idle_rate ops/s, p50 $idle_p50 ms, p99 $idle_p99 ms, p99.9 $idle_p999 ms, errors $idle_errors"

start_node 4 --join "127.0.0.1:$(peer 1)" --no-auto-add
"$ringkv" cluster plan --add n4 --server "$url" | grep "partitions to move"
# The load, in 5 s slices, until the cluster is balanced again.
(
  slice=0
  while [[ ! -e $work/balanced ]]; do
    bench_run "$rate" 5 >"$work/move.$slice.json" 2>/dev/null || true
    [[ -e $work/balanced ]] || touch "$work/move.$slice.inside"
    slice=$((slice + 1))
  done
) &
load_pid=$!
move_start=$(date +%s.%N)
"$ringkv" cluster apply --add n4 --wait --server "$url" | tail -1
move_seconds=$(python3 -c "print(round($(date +%s.%N) - $move_start, 1))")
touch "$work/balanced"
wait "$load_pid" || true

# Latency over the slices that ran entirely before the cluster was balanced.
move_p99s=()
move_p99=0
move_p999=0
slices=0
for inside in "$work"/move.*.inside; do
  [[ -e $inside ]] || continue
  read -r ops p50 p99 p999 errors < <(summary <"${inside%.inside}.json")
  echo "  slice during the move: $ops ops/s, p50 $p50 ms, p99 $p99 ms, p99.9 $p999 ms, errors $errors"
  move_p99s+=("$p99")
  move_p99=$(python3 -c "print(max($move_p99, $p99))")
  move_p999=$(python3 -c "print(max($move_p999, $p999))")
  slices=$((slices + 1))
done
median_p99=$(printf '%s\n' "${move_p99s[@]:-0}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
backoffs=0
for index in 1 2 3 4; do
  count=$(curl -sf "http://127.0.0.1:$(http "$index")/v1/cluster" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['transfers']['backoffs'])")
  backoffs=$((backoffs + count))
done

# Bytes: streamed (over every node) against what n4 holds of "bench".
sleep 2
streamed=0
for index in 1 2 3 4; do
  bytes=$(curl -sf "http://127.0.0.1:$(http "$index")/v1/cluster" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['transfers']['bytes_received'])")
  streamed=$((streamed + bytes))
done
n4_bytes=$(curl -sf "http://127.0.0.1:$(http 4)/v1/stores/bench/merkle" |
  python3 -c "import json,sys; print(json.load(sys.stdin)['bytes'])")
echo
echo "added n4 to 3 nodes holding $mib MiB (n = 3): balanced in $move_seconds s"
echo "bytes streamed $streamed, lower bound (n4's share of bench) $n4_bytes, ratio $(python3 -c "print(round($streamed / max($n4_bytes, 1), 3))")"
echo "streamed $(python3 -c "print(round($streamed / 1048576 / max($move_seconds, 0.1), 1))") MB/s on average over the move; the throttle backed off $backoffs times"
echo "client latency at $rate ops/s: idle p99 $idle_p99 / p99.9 $idle_p999 ms; during the move (worst of $slices 5 s slices) p99 $move_p99 / p99.9 $move_p999 ms, median slice p99 $median_p99 ms"
echo "p99 ratio (worst slice / idle) $(python3 -c "print(round($move_p99 / $idle_p99, 2))"), (median slice / idle) $(python3 -c "print(round($median_p99 / $idle_p99, 2))")"

# 5. The same data back without any client: n4 leaves, and the three
#    others stream its share back at the throttle's ceiling.
wait_quiet
before=$(received_total 3)
# Bytes received, sampled every 0.5 s: the streaming rate is taken over the
# samples from the first to the last that saw bytes arrive.
(
  while [[ ! -e $work/left ]]; do
    echo "$(date +%s.%N) $(received_total 3)" >>"$work/leave.samples"
    sleep 0.5
  done
) &
sampler_pid=$!
leave_start=$(date +%s.%N)
"$ringkv" cluster apply --remove n4 --wait --server "$url" | tail -1
leave_seconds=$(python3 -c "print(round($(date +%s.%N) - $leave_start, 1))")
touch "$work/left"
wait "$sampler_pid" || true
after=$(received_total 3)
streaming=$(python3 - "$work/leave.samples" <<'PY'
import sys
samples = [tuple(map(float, line.split())) for line in open(sys.argv[1]) if line.strip()]
moving = [i for i in range(1, len(samples)) if samples[i][1] > samples[i - 1][1]]
if not moving:
    print("0 0")
else:
    first, last = samples[moving[0] - 1], samples[moving[-1]]
    seconds = last[0] - first[0]
    print("%.1f %.1f" % (seconds, (last[1] - first[1]) / 1048576 / max(seconds, 0.1)))
PY
)
read -r streaming_seconds streaming_rate <<<"$streaming"
echo "n4 left with no client load: $((after - before)) bytes streamed; balanced in $leave_seconds s;" \
  "streaming took $streaming_seconds s: $streaming_rate MB/s"
