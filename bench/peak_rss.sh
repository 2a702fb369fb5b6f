#!/usr/bin/env bash
# Peak RSS (VmHWM) of each node of a 3-node `ringkv dev --open` cluster
# after a PUT run of 100-byte values to random keys (wrk, 2 threads, 32
# connections). Compare two builds (e.g. one configured with
# -DRINGKV_MIMALLOC=OFF) by running it for each.
#   bench/peak_rss.sh [seconds, default 10] [ringkv binary]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
ringkv="${2:-build/release/bin/ringkv}"
[[ -x $ringkv ]] || { echo "build the release preset first ($ringkv missing)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "run scripts/setup.sh --bench (wrk missing)" >&2; exit 1; }
source bench/lib.sh
bench_workdir rss
port=$((26000 + RANDOM % 2000))
start_ringkv_dev "$port"
cat >"$work/put.lua" <<'LUA'
local body = string.rep("x", 100)
request = function()
  return wrk.format("PUT", "/v1/stores/default/keys/p" .. math.random(1, 1000000000), nil, body)
end
LUA
wrk -t2 -c32 -d"${seconds}s" -s "$work/put.lua" "http://127.0.0.1:$port" | awk '/Requests\/sec/ {print "PUT/s", $2}'
for pid in $(pgrep -f "serve .*--data-dir $work/ringkv-$port"); do
  awk -v pid="$pid" '/VmHWM/ {print "node pid " pid ": peak RSS " $2 " kB"}' "/proc/$pid/status"
done
