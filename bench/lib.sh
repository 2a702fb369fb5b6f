# Shared by the bench scripts (source it): a work directory whose processes
# are killed and files removed on exit, one wrk run summarised, and a median.
#
#   bench_workdir NAME         sets $work and $pids (append every started pid)
#   wrk_run URL SCRIPT         uses $connections and $seconds; prints
#                              "req/s p50_ms p99_ms non2xx"
#   ... | median               the median of one number per line
#   start_etcd PORT TOKEN      a 3-member etcd on 127.0.0.1 (client ports PORT,
#                              PORT+100, PORT+200; peers one above each), default
#                              durable settings; returns once it takes a put
#   start_ringkv_dev PORT [N]  `ringkv dev --open --nodes N` (default 3; http
#                              PORT.., peers PORT-10.., data $work/ringkv-PORT)
#                              from $ringkv; returns once it is ready

bench_workdir() {
  work=$(mktemp -d "/tmp/ringkv-$1.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

wrk_run() {
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$2" "$1" | awk '
    function ms(text) {
      if (text ~ /us$/) return substr(text, 1, length(text) - 2) / 1000
      if (text ~ /ms$/) return substr(text, 1, length(text) - 2) + 0
      if (text ~ /s$/) return substr(text, 1, length(text) - 1) * 1000
      return text
    }
    /Requests\/sec/ { rate = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad = $5 }
    END { printf "%s %s %s %s\n", rate, p50, p99, bad + 0 }'
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

start_etcd() {
  local port=$1 token=$2 cluster="" member client peer
  for member in 1 2 3; do
    cluster+="${cluster:+,}m$member=http://127.0.0.1:$((port + (member - 1) * 100 + 1))"
  done
  for member in 1 2 3; do
    client=$((port + (member - 1) * 100))
    peer=$((client + 1))
    etcd --name "m$member" --data-dir "$work/etcd$member" \
      --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "$token" \
      --log-level error >"$work/etcd$member.log" 2>&1 &
    pids+=($!)
  done
  for _ in $(seq 1 300); do
    curl -sf -X POST "http://127.0.0.1:$port/v3/kv/put" -d '{"key":"cmVhZHk=","value":"eQ=="}' \
      >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "etcd did not start; see $work/etcd1.log" >&2
  exit 1
}

start_ringkv_dev() {
  local port=$1 nodes=${2:-3}
  "$ringkv" dev --open --nodes "$nodes" --data-dir "$work/ringkv-$port" --http-port "$port" \
    --peer-port $((port - 10)) >"$work/ringkv-$port.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do
    grep -q "ringkv ready on" "$work/ringkv-$port.log" && return 0
    sleep 0.1
  done
  cat "$work/ringkv-$port.log" >&2
  exit 1
}
