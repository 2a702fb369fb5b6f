#!/usr/bin/env bash
# The nemesis: five real `ringkv serve` processes (release build), each in its
# own network namespace, under real faults (partitions, pauses, kill -9, clock
# steps, a full disk, a wiped data directory) while clients record a history;
# the checker judges the history (tests/nemesis/nemesis.py --help).
#   scripts/nemesis.sh                      the short run CI does (every fault once, then random ones)
#   scripts/nemesis.sh --minutes 30         a soak: random faults for 30 minutes
#   scripts/nemesis.sh --seed N             replays a run's schedule
# Needs root (namespaces, iptables, mounts); scripts/setup.sh installs the tools.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target ringkv
if [[ $(id -u) -ne 0 ]]; then
  echo "nemesis: SKIPPED: needs root (network namespaces, iptables, tmpfs mounts)" >&2
  exit 0
fi
seed_args=()
if [[ " $* " != *" --seed "* ]]; then
  # A seed that changes with every commit, printed so that a run can be replayed.
  if commit=$(git rev-parse --short=8 HEAD 2>/dev/null); then
    seed_args=(--seed $((16#$commit % 1000000)))
  fi
fi
status=0
python3 tests/nemesis/nemesis.py --binary build/release/bin/ringkv "${seed_args[@]}" "$@" || status=$?
if [[ $status -eq 77 ]]; then
  echo "nemesis: SKIPPED: this machine cannot create network namespaces or mounts" >&2
  exit 0
fi
exit $status
