#!/usr/bin/env bash
# CPU cost per request of a 3-node ringkv cluster (store n=3 r=2 w=2, sync):
# the user+system CPU time of the three `ringkv serve` processes over a wrk
# run, divided by the requests served. Steadier than req/s on a shared,
# noisy machine: compare two builds by running this for each, side by side.
#
#   bench/cluster_cpu.sh [put|get, default put] [seconds, default 8] [connections, default 32] [ringkv binary]
#
# Needs: scripts/setup.sh --bench; a release build. Everything is on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
operation="${1:-put}"
seconds="${2:-8}"
connections="${3:-32}"
ringkv="${4:-build/release/bin/ringkv}"
[[ -x $ringkv ]] || { echo "build the release preset first ($ringkv missing)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "run scripts/setup.sh --bench (wrk missing)" >&2; exit 1; }

work=$(mktemp -d /tmp/ringkv-cpu.XXXXXX)
dev_pid=""
cleanup() {
  [[ -n $dev_pid ]] && kill "$dev_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
port=$((24000 + RANDOM % 4000))
"$ringkv" dev --open --nodes 3 --data-dir "$work/ringkv" --http-port "$port" --peer-port $((port + 10)) \
  >"$work/dev.log" 2>&1 &
dev_pid=$!
for _ in $(seq 1 300); do
  grep -q "ringkv ready on" "$work/dev.log" && break
  sleep 0.1
done
grep -q "ringkv ready on" "$work/dev.log" || { cat "$work/dev.log" >&2; exit 1; }
mapfile -t nodes < <(pgrep -f "serve .*--data-dir $work/ringkv")
[[ ${#nodes[@]} -eq 3 ]] || { echo "expected 3 serve processes, found ${#nodes[@]}" >&2; exit 1; }

value=$(head -c 100 /dev/zero | tr '\0' 'x')
cat >"$work/load.lua" <<LUA
local requests = {}
local next = 0
init = function(args)
  for i = 1, 50000 do
    if "$operation" == "put" then
      requests[i] = wrk.format("PUT", "/v1/stores/default/keys/p" .. math.random(1, 1000000000), nil, "$value")
    else
      requests[i] = wrk.format("GET", "/v1/stores/default/keys/k" .. math.random(1, 999))
    end
  end
end
request = function()
  next = next % #requests + 1
  return requests[next]
end
LUA
if [[ $operation == get ]]; then
  for key in $(seq 1 999); do
    curl -sf -X PUT "http://127.0.0.1:$port/v1/stores/default/keys/k$key" -d "$value" >/dev/null
  done
fi
ticks() {  # sum of utime+stime (clock ticks) of the serve processes
  local total=0 pid
  for pid in "${nodes[@]}"; do
    read -ra fields <"/proc/$pid/stat"
    total=$((total + fields[13] + fields[14]))
  done
  echo "$total"
}
before=$(ticks)
out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/load.lua" "http://127.0.0.1:$port")
after=$(ticks)
requests=$(awk '/requests in/ {print $1}' <<<"$out")
rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
p99=$(awk '/^ +99%/ {print $2}' <<<"$out")
bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
hz=$(getconf CLK_TCK)
awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" -v rate="$rate" -v p99="$p99" -v bad="${bad:-0}" \
  -v op="$operation" 'BEGIN {
    printf "%s: %d requests, %.0f req/s, p99 %s, non-2xx %d, cluster CPU %.1f us/request\n",
      op, n, rate, p99, bad, t / hz * 1e6 / n }'
