#!/usr/bin/env bash
# Checks that two ringkv_sim binaries simulate exactly the same events: the
# trace hash each run prints must agree, seed by seed, over every fault mix
# and the membership mixes (130 runs). A refactoring that only moves code
# must pass this; a change in behaviour shows which seeds it touched.
#   scripts/sim_same_traces.sh BASELINE_SIM [CANDIDATE_SIM]
# e.g. build a baseline from an earlier commit, copy its ringkv_sim to
# /tmp/sim_before, then: scripts/sim_same_traces.sh /tmp/sim_before
set -euo pipefail
baseline=${1:?usage: scripts/sim_same_traces.sh BASELINE_SIM [CANDIDATE_SIM]}
candidate=${2:-build/release/bin/ringkv_sim}
for binary in "$baseline" "$candidate"; do
  [[ -x $binary ]] || { echo "not an executable: $binary" >&2; exit 2; }
done

# "seed S faults F trace H" per run.
traces() {
  "$@" | sed -n 's/^\(seed [0-9]* faults [a-z]*\):.* trace \([0-9a-f]*\),.*/\1 trace \2/p'
}

differ=0
for range in "--seeds 1-12 --faults all" "--seeds 1-8 --faults chaos --membership" \
  "--seeds 20-27 --faults crashes --membership" "--seeds 30-35 --faults disks --membership"; do
  read -ra args <<<"$range"
  before=$(traces "$baseline" "${args[@]}")
  after=$(traces "$candidate" "${args[@]}")
  runs=$(grep -c . <<<"$after" || true)
  if [[ -z $after || $runs == 0 ]]; then
    echo "$range: no runs printed a trace" >&2
    exit 2
  fi
  if [[ $before == "$after" ]]; then
    echo "$range: $runs runs, same traces"
  else
    differ=1
    echo "$range: traces differ:"
    diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -10
  fi
done
if ((differ)); then
  echo "the two binaries simulate different events"
  exit 1
fi
echo "the two binaries simulate the same events"
