#!/usr/bin/env bash
# Side-by-side HTTP throughput: one ringkv node against nginx returning a fixed
# 100-byte body, one worker each, the same wrk load, runs interleaved
# (nginx, ringkv, nginx, ringkv, ...) so that machine noise hits both alike.
# Prints each run and the median ratio ringkv / nginx.
#
#   bench/http_vs_nginx.sh [seconds per run, default 10] [rounds, default 3] [all|get|put]
#
# Needs: scripts/setup.sh --bench; a release build (cmake --preset release &&
# cmake --build --preset release). Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
rounds="${2:-3}"
which="${3:-all}"
connections=32
ringkv=build/release/bin/ringkv
[[ -x $ringkv ]] || { echo "build the release preset first" >&2; exit 1; }
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "run scripts/setup.sh --bench" >&2; exit 1; }

work=$(mktemp -d /tmp/ringkv-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

body=$(head -c 100 /dev/zero | tr '\0' 'x')
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 1 \
  -subj /CN=localhost >/dev/null 2>&1

# nginx: one worker, fixed 100-byte body for any method, plain and TLS.
mkdir -p "$work/nginx"
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $work/nginx/error.log;
pid $work/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:18181;
    listen 127.0.0.1:18443 ssl;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { return 200 "$body"; }
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work/nginx" &
pids+=($!)

wait_ready() {  # wait for "ringkv ready" in a log, bounded
  for _ in $(seq 1 100); do grep -q "ringkv ready" "$1" && return 0; sleep 0.1; done
  echo "server did not start: $(cat "$1")" >&2; exit 1
}
"$ringkv" serve --data-dir "$work/plain" --listen-http 127.0.0.1:18182 \
  --listen-peer 127.0.0.1:18183 >"$work/plain.log" 2>&1 &
pids+=($!)
"$ringkv" serve --data-dir "$work/tls" --listen-http 127.0.0.1:18444 \
  --listen-peer 127.0.0.1:18445 --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" >"$work/tls.log" 2>&1 &
pids+=($!)
wait_ready "$work/plain.log"
wait_ready "$work/tls.log"
for url in http://127.0.0.1:18182 https://127.0.0.1:18444; do
  for store in sync:sync periodic:periodic; do
    curl -sk -X PUT "$url/v1/stores/${store%%:*}" -d "{\"n\":1,\"r\":1,\"w\":1,\"durability\":\"${store##*:}\"}" >/dev/null
  done
  curl -sk -X PUT --data-binary "$body" "$url/v1/stores/sync/keys/k" >/dev/null
done

cat >"$work/put.lua" <<LUA
local body = string.rep("x", 100)
request = function()
  return wrk.format("PUT", "/v1/stores/" .. store .. "/keys/k" .. math.random(1, 100000000), nil, body)
end
LUA
rate() { wrk -t1 -c"$connections" -d"${seconds}s" "$@" | awk '/Requests\/sec/ {print $2}'; }
source bench/lib.sh  # median

compare() {  # name, nginx url, ringkv url, extra wrk args...
  # The ratio is the median of the rounds' own ratios: this VM's speed drifts
  # by a third within minutes, and the median rate of each side alone can
  # pair a fast nginx round with a slow ringkv one. Who runs first alternates.
  local name=$1 nginx_url=$2 ringkv_url=$3; shift 3
  local nginx_rates=() ringkv_rates=() ratios=()
  for round in $(seq 1 "$rounds"); do
    if ((round % 2 == 1)); then
      nginx_rates+=("$(rate "$@" "$nginx_url")")
      ringkv_rates+=("$(rate "$@" "$ringkv_url")")
    else
      ringkv_rates+=("$(rate "$@" "$ringkv_url")")
      nginx_rates+=("$(rate "$@" "$nginx_url")")
    fi
    ratios+=("$(awk -v n="${nginx_rates[-1]}" -v r="${ringkv_rates[-1]}" 'BEGIN { printf "%.3f", r / n }')")
    echo "  $name round $round: nginx ${nginx_rates[-1]} req/s, ringkv ${ringkv_rates[-1]} req/s, ratio ${ratios[-1]}"
  done
  local n r ratio
  n=$(printf '%s\n' "${nginx_rates[@]}" | median)
  r=$(printf '%s\n' "${ringkv_rates[@]}" | median)
  ratio=$(printf '%s\n' "${ratios[@]}" | median)
  awk -v name="$name" -v n="$n" -v r="$r" -v ratio="$ratio" \
    'BEGIN { printf "%-22s nginx %10.0f req/s   ringkv %10.0f req/s   ratio %.2f (median of the rounds)\n", name, n, r, ratio }'
}

echo "wrk -t1 -c$connections, ${seconds}s per run, $rounds interleaved rounds, medians shown"
if [[ $which != put ]]; then
compare "GET http" http://127.0.0.1:18181/v1/stores/sync/keys/k http://127.0.0.1:18182/v1/stores/sync/keys/k
compare "GET https" https://127.0.0.1:18443/v1/stores/sync/keys/k https://127.0.0.1:18444/v1/stores/sync/keys/k
fi
if [[ $which != get ]]; then
sed -i '1i store = "sync"' "$work/put.lua"
compare "PUT http (sync)" http://127.0.0.1:18181/ http://127.0.0.1:18182/ -s "$work/put.lua"
sed -i '1s/.*/store = "periodic"/' "$work/put.lua"
compare "PUT http (periodic)" http://127.0.0.1:18181/ http://127.0.0.1:18182/ -s "$work/put.lua"
fi
