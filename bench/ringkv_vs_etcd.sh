#!/usr/bin/env bash
# Side-by-side: a 3-node ringkv cluster (store n=3 r=2 w=2, durability sync)
# against a 3-member etcd cluster (Debian's etcd-server, its JSON gateway
# /v3/kv/put and /v3/kv/range), on this machine, with the same wrk client,
# connection count and 100-byte values. Runs alternate (etcd, ringkv, ...) so
# that machine noise hits both alike; prints each run and the medians of
# throughput and of p50/p99 latency, with the ratios ringkv / etcd.
#
#   bench/ringkv_vs_etcd.sh [seconds per run, default 10] [rounds, default 3] [connections, default 32]
#
# Needs: scripts/setup.sh --bench; a release build. Everything is on 127.0.0.1.
# wrk is closed-loop: fine for throughput ratios; its latencies are those of a
# saturated system, shown for both alike.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
seconds="${1:-10}"
rounds="${2:-3}"
connections="${3:-32}"
ringkv=build/release/bin/ringkv
[[ -x $ringkv ]] || { echo "build the release preset first" >&2; exit 1; }
for tool in wrk etcd; do
  command -v "$tool" >/dev/null || { echo "run scripts/setup.sh --bench ($tool missing)" >&2; exit 1; }
done

bench_workdir etcd

# etcd: three members, default (durable: fsync per raft batch) settings.
start_etcd 22379 bench
# ringkv: three real processes through `ringkv dev` (store default: n=3 r=2 w=2, sync).
start_ringkv_dev 23080

value=$(head -c 100 /dev/zero | tr '\0' 'x')
value64=$(printf '%s' "$value" | base64 -w0)
# Keys read by the GET runs (k1..k999), written to both before.
cat >"$work/fill.lua" <<LUA
-- Each key k1..k999 is written once (one wrk thread; wrk calls request() once
-- before the run, which takes k0), so it holds one value in both systems;
-- afterwards the script only reads.
counter = -1
request = function()
  counter = counter + 1
  if counter >= 1000 then
    if target == "etcd" then
      return wrk.format("POST", "/v3/kv/range", nil, '{"key":"' .. base64("k1") .. '"}')
    end
    return wrk.format("GET", "/v1/stores/default/keys/k1")
  end
  local key = "k" .. counter
  if target == "etcd" then  -- the JSON gateway wants base64 keys and values
    return wrk.format("POST", "/v3/kv/put", nil, '{"key":"' .. base64(key) .. '","value":"$value64"}')
  end
  return wrk.format("PUT", "/v1/stores/default/keys/" .. key, nil, "$value")
end
LUA
cat >"$work/base64.lua" <<'LUA'
local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
function base64(data)
  return ((data:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#data % 3 + 1])
end
LUA
# The request scripts build every request body before the run (base64 in Lua
# is slow, and the load generator must not be what limits either system).
make_script() {  # target (etcd|ringkv), operation (put|get) -> script path
  local path="$work/$1-$2.lua"
  {
    cat "$work/base64.lua"
    echo "target = \"$1\""
    echo "operation = \"$2\""
    cat <<LUA
local requests = {}
local next = 0
init = function(args)
  local count = operation == "put" and 200000 or 4096
  for i = 1, count do
    local key
    if operation == "put" then key = "p" .. math.random(1, 1000000000) else key = "k" .. math.random(1, 999) end
    if target == "etcd" and operation == "put" then
      requests[i] = wrk.format("POST", "/v3/kv/put", nil, '{"key":"' .. base64(key) .. '","value":"$value64"}')
    elseif target == "etcd" then
      requests[i] = wrk.format("POST", "/v3/kv/range", nil, '{"key":"' .. base64(key) .. '"}')
    elseif operation == "put" then
      requests[i] = wrk.format("PUT", "/v1/stores/default/keys/" .. key, nil, "$value")
    else
      requests[i] = wrk.format("GET", "/v1/stores/default/keys/" .. key)
    end
  end
end
request = function()
  next = next % #requests + 1
  return requests[next]
end
LUA
  } >"$path"
  echo "$path"
}
# Fill the GET keys k1..k999 (every one checked below).
for target in etcd ringkv; do
  { cat "$work/base64.lua"; echo "target = \"$target\""; cat "$work/fill.lua"; } >"$work/fill-$target.lua"
done
wrk -t1 -c8 -d5s -s "$work/fill-etcd.lua" http://127.0.0.1:22379 >/dev/null
wrk -t1 -c8 -d5s -s "$work/fill-ringkv.lua" http://127.0.0.1:23080 >/dev/null
for key in $(seq 1 999); do
  curl -sf "http://127.0.0.1:23080/v1/stores/default/keys/k$key" >/dev/null ||
    { echo "ringkv fill failed at k$key" >&2; exit 1; }
  curl -sf -X POST http://127.0.0.1:22379/v3/kv/range -d "{\"key\":\"$(printf "k$key" | base64 -w0)\"}" |
    grep -q '"kvs"' || { echo "etcd fill failed at k$key" >&2; exit 1; }
done


echo "wrk -t2 -c$connections, ${seconds}s per run, $rounds alternating rounds, 100-byte values"
for operation in put get; do
  etcd_script=$(make_script etcd "$operation")
  ringkv_script=$(make_script ringkv "$operation")
  : >"$work/etcd.$operation" && : >"$work/ringkv.$operation"
  for round in $(seq 1 "$rounds"); do
    e=$(wrk_run http://127.0.0.1:22379 "$etcd_script")
    r=$(wrk_run http://127.0.0.1:23080 "$ringkv_script")
    echo "$e" >>"$work/etcd.$operation"
    echo "$r" >>"$work/ringkv.$operation"
    echo "  $operation round $round: etcd $e | ringkv $r   (req/s p50_ms p99_ms non-2xx)"
  done
  for column in 1 2 3; do
    eval "e$column=\$(cut -d' ' -f$column \"\$work/etcd.\$operation\" | median)"
    eval "r$column=\$(cut -d' ' -f$column \"\$work/ringkv.\$operation\" | median)"
  done
  awk -v op="$operation" -v e1="$e1" -v r1="$r1" -v e2="$e2" -v r2="$r2" -v e3="$e3" -v r3="$r3" 'BEGIN {
    printf "%-4s etcd %8.0f req/s p50 %7.2f ms p99 %7.2f ms | ringkv %8.0f req/s p50 %7.2f ms p99 %7.2f ms | throughput x%.2f, p99 x%.2f\n",
      op, e1, e2, e3, r1, r2, r3, r1 / e1, r3 / e3 }'
done
