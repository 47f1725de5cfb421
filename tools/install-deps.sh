#!/usr/bin/env bash
# Installs everything exconnect needs to build and test, from Debian 12 packages only.
# Works on a minimal Debian 12 (bookworm) root with nothing else installed; run as root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache
  python3 # tools/corpus/compare.py: the differential against Python's email package
  libcaf-dev libboost1.81-dev libssl-dev openssl ca-certificates
  librocksdb-dev nlohmann-json3-dev libgmime-3.0-dev libspdlog-dev
  libjemalloc-dev # the allocator of exconnectd and graph-sim (docs/development.md)
  clang libclang-rt-14-dev # the fuzz build (tools/fuzz.sh): clang 14 and its libFuzzer
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run this script as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
