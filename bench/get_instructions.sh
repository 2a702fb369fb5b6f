#!/usr/bin/env bash
# User-space instructions per GET (or PUT) on one node over plain HTTP,
# counted by callgrind (repeatable on a shared machine, unlike seconds):
# starts `ringkv serve` under valgrind with instrumentation off, stores one
# 100-byte value, turns instrumentation on for a wrk run of GETs of that key
# (or of PUTs of 100-byte values to random keys, blind, in an n = 1 `sync`
# store), and divides the instructions counted, over every thread, by the
# requests served. Prints the top functions (self and inclusive) when asked;
# RINGKV_PROFILE_COPY=FILE keeps the profile (for callgrind_annotate --tree=caller).
#   bench/get_instructions.sh [ringkv binary, default build/release/bin/ringkv] [top N, default 0] [get|put]
set -euo pipefail
cd "$(dirname "$0")/.."
ringkv="${1:-build/release/bin/ringkv}"
top="${2:-0}"
method="${3:-get}"
[[ $method == get || $method == put ]] || { echo "the method is get or put, not '$method'" >&2; exit 1; }
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null ||
  { echo "run scripts/setup.sh --bench (valgrind)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "run scripts/setup.sh --bench" >&2; exit 1; }
[[ -x $ringkv ]] || { echo "build the release preset first ($ringkv missing)" >&2; exit 1; }
source bench/lib.sh
bench_workdir callgrind
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/callgrind.out.%p" \
  "$ringkv" serve --data-dir "$work/data" --listen-http 127.0.0.1:19182 \
  --listen-peer 127.0.0.1:19183 >"$work/serve.log" 2>&1 &
pid=$!
pids+=("$pid")
for _ in $(seq 1 300); do grep -q "ringkv ready" "$work/serve.log" && break; sleep 0.2; done
grep -q "ringkv ready" "$work/serve.log" || { echo "server did not start: $(cat "$work/serve.log")" >&2; exit 1; }
url=http://127.0.0.1:19182/v1/stores/sync
curl -sf -X PUT "$url" -d '{"n":1,"r":1,"w":1,"durability":"sync"}' -o /dev/null
curl -sf -X PUT --data-binary "$(head -c 100 /dev/zero | tr '\0' x)" "$url/keys/user:0000012345" -o /dev/null
cat >"$work/put.lua" <<'LUA'
local body = string.rep("x", 100)
request = function()
  return wrk.format("PUT", "/v1/stores/sync/keys/k" .. math.random(1, 100000000), nil, body)
end
LUA
script=()
[[ $method == put ]] && script=(-s "$work/put.lua")
callgrind_control -i on "$pid" >/dev/null 2>&1
requests=$(wrk -t1 -c4 -d8s "${script[@]}" "$url/keys/user:0000012345" | awk '/requests in/ {print $1}')
callgrind_control -i off "$pid" >/dev/null 2>&1
callgrind_control -d "$pid" >/dev/null 2>&1
sleep 1
profile=$(ls "$work"/callgrind.out.*.1)
[[ -n ${RINGKV_PROFILE_COPY:-} ]] && cp "$profile" "$RINGKV_PROFILE_COPY"
total=$(callgrind_annotate "$profile" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "${method^^}s served $requests, instructions $total, per ${method^^} $((total / requests))"
if [[ $top != 0 ]]; then
  callgrind_annotate --inclusive=no "$profile" 2>/dev/null | grep -E "^ *[0-9,]+ \(" | head -"$top" | cut -c1-160
  echo "-- inclusive --"
  callgrind_annotate --inclusive=yes "$profile" 2>/dev/null | grep -E "^ *[0-9,]+ \(" | head -"$top" | cut -c1-160
fi
