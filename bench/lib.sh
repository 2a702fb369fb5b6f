# Shared by the bench scripts (source it): a work directory whose processes
# are killed and files removed on exit, one wrk run summarised, and a median.
#
#   bench_workdir NAME         sets $work and $pids (append every started pid)
#   wrk_run URL SCRIPT         uses $connections and $seconds; prints
#                              "req/s p50_ms p99_ms non2xx"
#   ... | median               the median of one number per line

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
