#!/usr/bin/env bash
# Side-by-side: the same 3-node ringkv cluster with peer mutual TLS on and
# off (store n=3 r=2 w=2, durability sync), on this machine, with the same wrk
# client, connection count and 100-byte values. Both clusters run at once and
# the runs alternate (plain first in odd rounds, mtls first in even ones) so
# that machine noise and order hit both alike; prints each run and the
# medians of throughput and p50/p99 latency, with the ratios mtls / plain. Clients speak plain HTTP to both: only the
# traffic between nodes differs.
#
#   bench/peer_tls.sh [seconds per run, default 10] [rounds, default 3] [connections, default 32]
#
# Needs: scripts/setup.sh --bench (wrk); a release build. Everything is on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
seconds="${1:-10}"
rounds="${2:-3}"
connections="${3:-32}"
ringkv=build/release/bin/ringkv
[[ -x $ringkv ]] || { echo "build the release preset first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "run scripts/setup.sh --bench (wrk missing)" >&2; exit 1; }

bench_workdir peer-tls

"$ringkv" cert ca --dir "$work/certs" >/dev/null
for node in 1 2 3; do "$ringkv" cert node --dir "$work/certs" --id "n$node" >/dev/null; done

start_cluster() {  # name, first http port, first peer port, extra flags per node (n1..)
  local name=$1 http=$2 peer=$3
  for node in 1 2 3; do
    local flags=(serve --node-id "n$node" --data-dir "$work/$name/n$node"
      --listen-http "127.0.0.1:$((http + node - 1))" --listen-peer "127.0.0.1:$((peer + node - 1))")
    [[ $node == 1 ]] || flags+=(--join "127.0.0.1:$peer")
    if [[ $name == mtls ]]; then
      flags+=(--peer-ca "$work/certs/ca.crt" --peer-cert "$work/certs/n$node.crt"
        --peer-key "$work/certs/n$node.key")
    fi
    "$ringkv" "${flags[@]}" >"$work/$name-n$node.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 300); do
      grep -q "ringkv ready on" "$work/$name-n$node.log" && break
      sleep 0.1
    done
    grep -q "ringkv ready on" "$work/$name-n$node.log" || { cat "$work/$name-n$node.log" >&2; exit 1; }
  done
  # The store, and a first write, once the joins have settled.
  for _ in $(seq 1 300); do
    curl -sf -X PUT "http://127.0.0.1:$http/v1/stores/b" \
      -d '{"n":3,"r":2,"w":2,"quorum":"sloppy","durability":"sync"}' >/dev/null 2>&1 &&
      curl -sf -X PUT "http://127.0.0.1:$http/v1/stores/b/keys/ready" -d x >/dev/null 2>&1 &&
      curl -s "http://127.0.0.1:$http/v1/cluster" | grep -q '"balanced":true' && return 0
    sleep 0.1
  done
  echo "cluster $name did not settle" >&2
  exit 1
}
start_cluster plain 24080 24070
start_cluster mtls 25080 25070
grep -q "peers: mutual TLS" "$work/mtls-n1.log" || { echo "mtls cluster is not on TLS" >&2; exit 1; }

value=$(head -c 100 /dev/zero | tr '\0' 'x')
make_script() {  # operation (put|get) -> script path
  local path="$work/$1.lua"
  cat >"$path" <<LUA
local requests = {}
local next = 0
init = function(args)
  local count = "$1" == "put" and 200000 or 4096
  for i = 1, count do
    if "$1" == "put" then
      requests[i] = wrk.format("PUT", "/v1/stores/b/keys/p" .. math.random(1, 1000000000), nil, "$value")
    else
      requests[i] = wrk.format("GET", "/v1/stores/b/keys/k" .. math.random(1, 999))
    end
  end
end
request = function()
  next = next % #requests + 1
  return requests[next]
end
LUA
  echo "$path"
}
# The GET keys k1..k999, in both clusters.
for http in 24080 25080; do
  for key in $(seq 1 999); do
    curl -sf -X PUT "http://127.0.0.1:$http/v1/stores/b/keys/k$key" --data-binary "$value" >/dev/null ||
      { echo "fill failed at k$key on $http" >&2; exit 1; }
  done
done


echo "wrk -t2 -c$connections, ${seconds}s per run, $rounds alternating rounds, 100-byte values, n=3 r=2 w=2 sync"
for operation in put get; do
  script=$(make_script "$operation")
  : >"$work/plain.$operation" && : >"$work/mtls.$operation"
  for round in $(seq 1 "$rounds"); do
    # Which goes first alternates by round, so that order favours neither.
    if ((round % 2)); then
      p=$(wrk_run http://127.0.0.1:24080 "$script")
      m=$(wrk_run http://127.0.0.1:25080 "$script")
    else
      m=$(wrk_run http://127.0.0.1:25080 "$script")
      p=$(wrk_run http://127.0.0.1:24080 "$script")
    fi
    echo "$p" >>"$work/plain.$operation"
    echo "$m" >>"$work/mtls.$operation"
    echo "  $operation round $round: plain $p | mtls $m   (req/s p50_ms p99_ms non-2xx)"
  done
  for column in 1 2 3; do
    eval "p$column=\$(cut -d' ' -f$column \"\$work/plain.\$operation\" | median)"
    eval "m$column=\$(cut -d' ' -f$column \"\$work/mtls.\$operation\" | median)"
  done
  awk -v op="$operation" -v p1="$p1" -v m1="$m1" -v p2="$p2" -v m2="$m2" -v p3="$p3" -v m3="$m3" 'BEGIN {
    printf "%-4s plain %8.0f req/s p50 %6.2f ms p99 %6.2f ms | mtls %8.0f req/s p50 %6.2f ms p99 %6.2f ms | throughput x%.2f, p99 x%.2f\n",
      op, p1, p2, p3, m1, m2, m3, m1 / p1, m3 / p3 }'
done
