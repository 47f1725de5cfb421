#!/usr/bin/env bash
# Configures and builds one build tree. Usage: tools/build.sh [normal|asan] [TARGET...]
#   normal -> build/       (RelWithDebInfo, -Wall -Wextra -Werror)
#   asan   -> build-asan/  (the same, plus AddressSanitizer + UndefinedBehaviorSanitizer)
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:-normal}
# Line tables only (-g1): enough for perf, backtraces and sanitizer reports, and a third
# less compile time than full debug info. The sanitized build is optimized at -O1 (as
# the sanitizers' docs advise): at -O2 it took twice as long to compile, at -O0 graph-sim
# became too slow for the tests' deadlines (docs/development.md#build-time).
case "$kind" in
  normal) dir=build; opt="-O2 -g1" flags=() ;;
  asan) dir=build-asan; opt="-O1 -g1" flags=(-DEXC_SANITIZE=ON) ;;
  *) echo "usage: tools/build.sh [normal|asan]" >&2; exit 2 ;;
esac

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$opt -DNDEBUG" "${flags[@]}" >/dev/null
targets=()
for t in "${@:2}"; do targets+=(--target "$t"); done
cmake --build "$dir" --parallel "$jobs" "${targets[@]}"
