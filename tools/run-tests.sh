#!/usr/bin/env bash
# The README's second command: installs dependencies, builds twice (normal, and with
# AddressSanitizer + UndefinedBehaviorSanitizer) and runs every test in both builds; then
# runs each fuzz target for 30 s (docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
status=0
for kind in normal asan; do
  dir=build; [ "$kind" = asan ] && dir=build-asan
  echo "== building ($kind)"
  bash tools/build.sh "$kind"
  echo "== testing ($kind)"
  (cd "$dir" && ctest --output-on-failure --parallel "$jobs") || status=1
done
echo "== fuzzing (30 s per target)"
bash tools/fuzz.sh --ci 30 || status=1
exit $status
