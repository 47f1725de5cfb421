#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of tests/fuzz (docs/fuzzing.md) in build-fuzz/.
#   tools/fuzz.sh [--build] TARGET [libFuzzer args...]   one target until stopped (Ctrl-C)
#                                                       or a limit given, e.g. -runs=10000000
#   tools/fuzz.sh --ci SECONDS                          every target for SECONDS, two at a
#                                                       time; fails on any crash, hang or leak
#   tools/fuzz.sh --long TARGET [RUNS]                  the long run: RUNS (10 million)
#                                                       executions without ASan, then every
#                                                       input kept replayed under ASan
# TARGET: convert, html-text, headers, http-request, rest-json (or fuzz-<target>).
# --build rebuilds first (else only a missing binary is built). Each run reads the
# target's seeds, its regression fixtures and its working corpus build-fuzz/corpus/TARGET
# (where new inputs go); fuzz-convert also reads the Debian test mail that
# tools/corpus/fetch.sh collects into build-fuzz/mail-corpus. Crashes, hangs and leaks
# are written to build-fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(convert html-text headers http-request rest-json)
dir=build-fuzz           # the targets under ASan + UBSan; corpora, findings and logs
fast_dir=build-fuzz-fast # the same under UBSan alone, for --long
bin_dir=$dir             # where run() takes its binary from
# The other libFuzzer options come before the caller's, so the caller's win.
#   -timeout=10: one input running longer is a hang.
base_options=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)

usage() {
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# build_in DIR SANITIZERS TARGET...
build_in() {
  local into=$1 sanitizers=$2
  shift 2
  # Under ASan at -O1 (as tools/build.sh asan; half the compile time of -O2); the
  # build without ASan, for the long runs, at -O2. Line tables only.
  local opt="-O2 -g1"
  [[ $sanitizers == *address* ]] && opt="-O1 -g1"
  if [ ! -f "$into/CMakeCache.txt" ]; then
    CC=clang CXX=clang++ cmake -S . -B "$into" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$opt -DNDEBUG" \
      -DEXC_FUZZ=ON -DEXC_FUZZ_SANITIZERS="$sanitizers" >/dev/null
  fi
  local args=()
  for t in "$@"; do args+=(--target "fuzz-$t"); done
  cmake --build "$into" --parallel "$(nproc 2>/dev/null || echo 2)" "${args[@]}"
}

build() { build_in "$dir" address,undefined "$@"; }

# The Debian test mail, once per build-fuzz (a failed download only means fewer seeds).
mail_corpus() {
  bash tools/corpus/fetch.sh "$dir/mail-corpus" ||
    echo "fuzz: no Debian test mail (tools/corpus/fetch.sh failed); going on without" >&2
}

# The folders a target reads besides its working corpus, those that exist.
seed_dirs() {
  local t=$1 dirs=()
  case "$t" in
  convert) dirs=(tests/data/mail tools/demo/mail "$dir/mail-corpus/mail") ;;
  *) dirs=("tests/fuzz/seeds/$t") ;;
  esac
  dirs+=("tests/fuzz/regressions/$t")
  for d in "${dirs[@]}"; do
    if [ -d "$d" ]; then echo "$d"; fi
  done
}

max_len() {
  case "$1" in
  convert) echo 1048576 ;; # whole messages
  # One value goes into 14 header fields: 4 KB makes a header block of about 60 KB,
  # past folding and line limits; longer values only cost time (the growth benchmark
  # and tests/mail cover the caps at 64 KB per header).
  headers) echo 4096 ;;
  *) echo 65536 ;;
  esac
}

# run TARGET [libFuzzer args...]: runs it in the foreground. Given files (a reproducer),
# it runs just those.
run() {
  local t=$1
  shift
  local corpus=$dir/corpus/$t artifacts=$dir/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  local seeds=() arg
  for arg in "$@"; do
    if [ "${arg#-}" = "$arg" ] && [ -f "$arg" ]; then corpus=""; fi
  done
  if [ -n "$corpus" ]; then mapfile -t seeds < <(seed_dirs "$t"); fi
  # G_SLICE: GLib's slice allocator would hide GMime's leaks from LeakSanitizer.
  G_SLICE=always-malloc UBSAN_OPTIONS=print_stacktrace=1 \
    "$bin_dir/tests/fuzz/fuzz-$t" "${base_options[@]}" -max_len="$(max_len "$t")" \
    -artifact_prefix="$artifacts/" "$@" ${corpus:+"$corpus"} "${seeds[@]}"
}

name_of() {
  local t=${1#fuzz-}
  for known in "${targets[@]}"; do
    if [ "$t" = "$known" ]; then
      echo "$t"
      return
    fi
  done
  echo "fuzz: unknown target '$1' (one of: ${targets[*]})" >&2
  exit 2
}

# What a finished run reports: executions, their rate, new inputs and peak memory.
summary() {
  local t=$1 log=$2
  awk -v t="$t" '
    /stat::number_of_executed_units/ { runs = $NF + 0 }
    /stat::average_exec_per_sec/ { rate = $NF + 0 }
    /stat::new_units_added/ { added = $NF + 0 }
    /stat::peak_rss_mb/ { rss = $NF + 0 }
    END { printf "fuzz-%-13s %10d runs %7d exec/s %6d new inputs %6d MB peak\n", t, runs, rate, added, rss }
  ' "$log"
}

ci() {
  local seconds=$1 parallel=${EXC_FUZZ_JOBS:-2}
  build "${targets[@]}"
  mail_corpus
  mkdir -p "$dir/logs"
  local -A running=() # pid -> target
  local failed=()
  local start=$SECONDS
  finish() { # waits for one run and judges it
    local pid status=0
    wait -n -p pid || status=$?
    local t=${running[$pid]}
    unset "running[$pid]"
    local log=$dir/logs/$t.log
    summary "$t" "$log"
    if [ "$status" -ne 0 ]; then
      failed+=("$t")
      echo "fuzz-$t FAILED (exit $status); the end of $log:" >&2
      # The sanitizer's verdict, and the frames with a source line (not libFuzzer's).
      grep -E 'ERROR:|SUMMARY:|ALARM:|#[0-9]+ 0x[0-9a-f]+ in .* /[^ ]+:[0-9]+' "$log" |
        head -16 >&2 || true
      local artifact
      artifact=$(grep -o "Test unit written to .*" "$log" | tail -1 | sed 's/Test unit written to //')
      if [ -n "$artifact" ]; then
        echo "  reproducer: $artifact" >&2
        echo "  replay it:  tools/fuzz.sh $t $artifact" >&2
        echo "  keep it:    cp $artifact tests/fuzz/regressions/$t/<what-it-is>  (ctest replays it)" >&2
      fi
    fi
  }
  for t in "${targets[@]}"; do
    while [ ${#running[@]} -ge "$parallel" ]; do finish; done
    run "$t" -max_total_time="$seconds" >"$dir/logs/$t.log" 2>&1 &
    running[$!]=$t
  done
  while [ ${#running[@]} -gt 0 ]; do finish; done
  echo "fuzz: ${#targets[@]} targets, ${seconds} s each, $((SECONDS - start)) s in all"
  if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: findings in ${failed[*]}" >&2
    return 1
  fi
}

# long TARGET [RUNS]: libFuzzer spends most of its time in ASan's allocator here (GMime
# allocates much), so the long run fuzzes under UBSan alone, several times faster, into
# the same working corpus; then every input of that corpus, the seeds and whatever the
# run reported go once through the ASan + UBSan binary (and LeakSanitizer at its exit).
long() {
  local t=$1 runs=${2:-10000000}
  build_in "$fast_dir" undefined "$t"
  build "$t"
  if [ "$t" = convert ]; then mail_corpus; fi
  mkdir -p "$dir/logs"
  local log=$dir/logs/long-$t.log replay_log=$dir/logs/long-$t-asan.log status=0
  local start=$SECONDS
  bin_dir=$fast_dir run "$t" -runs="$runs" >"$log" 2>&1 || status=$?
  summary "$t" "$log"
  echo "fuzz-$t: $((SECONDS - start)) s without ASan, exit $status ($log)"
  start=$SECONDS
  local replay=0 artifacts=$dir/artifacts/$t
  # run() adds the working corpus and the seeds; -runs=0 executes each input once.
  bin_dir=$dir run "$t" -runs=0 "$artifacts" >"$replay_log" 2>&1 || replay=$?
  local count
  count=$(find "$artifacts" "$dir/corpus/$t" $(seed_dirs "$t") -type f | wc -l)
  echo "fuzz-$t: $count inputs replayed under ASan in $((SECONDS - start)) s," \
    "exit $replay ($replay_log)"
  [ "$status" -eq 0 ] && [ "$replay" -eq 0 ]
}

[ $# -ge 1 ] || usage
case "$1" in
--long)
  [ $# -ge 2 ] && [ $# -le 3 ] || usage
  long "$(name_of "$2")" "${3:-}"
  ;;
--ci)
  [ $# -eq 2 ] || usage
  ci "$2"
  ;;
-h | --help) usage ;;
*)
  rebuild=0
  if [ "$1" = --build ]; then
    rebuild=1
    shift
  fi
  [ $# -ge 1 ] || usage
  t=$(name_of "$1")
  shift
  if [ "$rebuild" = 1 ] || [ ! -x "$dir/tests/fuzz/fuzz-$t" ]; then build "$t"; fi
  if [ "$t" = convert ]; then mail_corpus; fi
  run "$t" "$@"
  ;;
esac
