#!/usr/bin/env bash
# Simulator speed: simulated seconds per wall second of two ringkv_sim
# binaries over the same seeds, run alternately (this machine is shared and
# noisy: compare the ratio, not the absolute figures).
#   bench/sim_speed.sh BASELINE_SIM [CANDIDATE_SIM] [SEEDS] [ROUNDS]
# e.g. build a baseline from an earlier commit into /tmp/sim_before, then
#   bench/sim_speed.sh /tmp/sim_before build/release/bin/ringkv_sim 1-20 3
set -euo pipefail
baseline=${1:?usage: bench/sim_speed.sh BASELINE_SIM [CANDIDATE_SIM] [SEEDS] [ROUNDS]}
candidate=${2:-build/release/bin/ringkv_sim}
seeds=${3:-1-20}
rounds=${4:-3}

# Prints "simulated_ms wall_ms" for one run of every fault mix over the seeds.
measure() {
  local start end simulated
  start=$(date +%s%N)
  simulated=$("$1" --seeds "$seeds" --faults all |
    sed -n 's/.*: \([0-9]*\) ms simulated.*/\1/p' | awk '{ total += $1 } END { print total }')
  end=$(date +%s%N)
  echo "$simulated $(((end - start) / 1000000))"
}

for binary in "$baseline" "$candidate"; do
  [[ -x $binary ]] || { echo "not an executable: $binary" >&2; exit 2; }
done
declare -A simulated wall
for name in baseline candidate; do simulated[$name]=0; wall[$name]=0; done
for ((round = 1; round <= rounds; round++)); do
  for name in baseline candidate; do
    binary=$baseline
    [[ $name == candidate ]] && binary=$candidate
    read -r sim_ms wall_ms < <(measure "$binary")
    simulated[$name]=$((simulated[$name] + sim_ms))
    wall[$name]=$((wall[$name] + wall_ms))
    printf 'round %d %-9s %8d simulated ms in %6d wall ms\n' "$round" "$name" "$sim_ms" "$wall_ms"
  done
done
awk -v bs="${simulated[baseline]}" -v bw="${wall[baseline]}" \
  -v cs="${simulated[candidate]}" -v cw="${wall[candidate]}" 'BEGIN {
    printf "baseline  %.0f simulated s per wall s\n", bs / bw
    printf "candidate %.0f simulated s per wall s\n", cs / cw
    printf "candidate / baseline speed: %.2f\n", (cs / cw) / (bs / bw)
  }'
