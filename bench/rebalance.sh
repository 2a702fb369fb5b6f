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
# 2. Idle: wrk for 15 s with 4 connections (GETs of "bench" keys and PUTs of
#    100-byte values to a separate store "live") -> p50/p99.
# 3. A fourth node joins as a standby; `ringkv cluster plan --add n4` shows
#    the partitions to move against the lower bound; `cluster apply --add n4
#    --wait` commits it and draws the progress. The same wrk load runs in
#    back-to-back 5 s slices for the whole move; the slices that ended
#    before the cluster was balanced give p50/p99 during the move.
# 4. Bytes moved = what the nodes received by streaming (GET /v1/cluster,
#    transfers.bytes_received), against the lower bound = the bytes of
#    "bench" that n4 holds at the end (it held nothing before).
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

cat >"$work/mixed.lua" <<LUA
local counter = 0
local small = string.rep("w", 100)
request = function()
  counter = counter + 1
  if counter % 2 == 0 then
    return wrk.format("GET", "/v1/stores/bench/keys/k" .. math.random(0, $keys - 1))
  end
  return wrk.format("PUT", "/v1/stores/live/keys/l" .. math.random(0, 100000), nil, small)
end
LUA
latency() {  # wrk output -> "p50 p99" in ms
  python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(label):
    m = re.search(r"\s%s\s+([\d.]+)(us|ms|s)" % label, text)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
print("%.2f %.2f" % (ms("50%"), ms("99%")))
PY
}
wrk -t2 -c4 -d15s --latency -s "$work/mixed.lua" "$url" >"$work/idle.txt"
read -r idle_p50 idle_p99 < <(latency "$work/idle.txt")
idle_rate=$(grep "Requests/sec" "$work/idle.txt" | awk '{print $2}')
echo "idle: p50 $idle_p50 ms, p99 $idle_p99 ms, $idle_rate req/s"

start_node 4 --join "127.0.0.1:$(peer 1)" --no-auto-add
"$ringkv" cluster plan --add n4 --server "$url" | grep "partitions to move"
# The load, in slices, until the cluster is balanced again.
(
  slice=0
  while [[ ! -e $work/balanced ]]; do
    wrk -t2 -c4 -d5s --latency -s "$work/mixed.lua" "$url" >"$work/move.$slice.txt" 2>&1 || true
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

# p50/p99 over the slices that ran entirely before the cluster was balanced.
move_p50=0
move_p99=0
slices=0
for inside in "$work"/move.*.inside; do
  [[ -e $inside ]] || continue
  read -r p50 p99 < <(latency "${inside%.inside}.txt")
  echo "  slice during the move: p50 $p50 ms, p99 $p99 ms"
  move_p50=$(python3 -c "print(max($move_p50, $p50))")
  move_p99=$(python3 -c "print(max($move_p99, $p99))")
  slices=$((slices + 1))
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
echo "client latency: idle p50 $idle_p50 / p99 $idle_p99 ms; during the move (worst of $slices 5 s slices) p50 $move_p50 / p99 $move_p99 ms; p99 ratio $(python3 -c "print(round($move_p99 / $idle_p99, 2))")"
