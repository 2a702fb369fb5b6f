#!/usr/bin/env bash
# Installs the Debian 12 packages ringkv needs. Idempotent: when
# everything is present it does nothing. Run as root (or with sudo available).
#   scripts/setup.sh           build, run and test dependencies (the nemesis
#                              test's too: python3, iproute2, iptables, faketime)
#   scripts/setup.sh --bench   also the side-by-side benchmark peers (wrk, nginx, etcd,
#                              redis) and valgrind (bench/get_instructions.sh)
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache mold pkg-config git
  libboost1.81-dev libboost-json1.81-dev
  libssl-dev openssl
  librocksdb-dev libxxhash-dev libprotobuf-dev protobuf-compiler libmimalloc-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev
  clang-format curl
  clang libclang-rt-14-dev
  python3 iproute2 iptables faketime
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(wrk nginx-light etcd-server etcd-client redis-server valgrind)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo_command=()
if [[ $(id -u) -ne 0 ]]; then sudo_command=(sudo); fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_command[@]}" apt-get update -qq
"${sudo_command[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
