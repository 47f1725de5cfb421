#!/usr/bin/env bash
# Configures and builds one build tree. Usage: tools/build.sh [normal|asan] [TARGET...]
#   normal -> build/       (RelWithDebInfo, -Wall -Wextra -Werror)
#   asan   -> build-asan/  (the same, plus AddressSanitizer + UndefinedBehaviorSanitizer)
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:-normal}
case "$kind" in
  normal) dir=build; flags=() ;;
  asan) dir=build-asan; flags=(-DEXC_SANITIZE=ON) ;;
  *) echo "usage: tools/build.sh [normal|asan]" >&2; exit 2 ;;
esac

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${flags[@]}" >/dev/null
targets=()
for t in "${@:2}"; do targets+=(--target "$t"); done
cmake --build "$dir" --parallel "$jobs" "${targets[@]}"
