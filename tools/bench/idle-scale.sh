#!/usr/bin/env bash
# Idle scale (issue 14): N empty mailboxes of one tenant (added through its admin
# consent) polling every 60 s. Prints exconnectd's resident memory per mailbox, its CPU,
# its CPU per poll and the spread of the intervals between a mailbox's polls as
# graph-sim saw them; then SIGKILLs exconnectd, starts it again and measures how long
# until every mailbox has polled again, and how long a graceful stop (SIGTERM) takes.
# Writes the figures into docs/benchmarks.md.
# Usage: tools/bench/idle-scale.sh [MAILBOXES [MEASURE_SECONDS [SETTLE_SECONDS]]]
#        (default 10000 120 90: the wait after every mailbox polled twice since the
#        last one was added)
set -euo pipefail
cd "$(dirname "$0")/../.."
mailboxes=${1:-10000}
measure=${2:-120}
settle=${3:-90}
bash tools/build.sh normal graph-sim exconnectd bench-driver >/dev/null
source tools/stack.sh
source tools/bench/write-section.sh
dir=$PWD/bench-data

driver() { bench_driver "$@" --mailboxes "$mailboxes"; }

# graph-sim's limits per mailbox stay; the app-wide limit is Microsoft's default.
start_stack "$dir" -- --poll-interval 60
echo "== idle: $mailboxes mailboxes polling every 60 s, measured over $measure s"
idle=$(driver idle --threads 8 --daemon-pid "$daemon_pid" --measure-s "$measure" \
  --settle-s "$settle")
echo "$idle"

echo "== restart: SIGKILL, then until every mailbox has polled again"
kill -9 "$daemon_pid"
wait "$daemon_pid" 2>/dev/null || true
killed=$(date +%s%3N)
driver listing-reset
start_daemon
healthy=$(( $(date +%s%3N) - killed ))
restart=$(driver restart-wait --since-ms "$killed")
restart="listening again $(awk -v ms=$healthy 'BEGIN { printf "%.1f", ms / 1000 }') s after the kill
$restart"
echo "$restart"

echo "== stop: SIGTERM, until the process has ended"
asked=$(date +%s%3N)
kill "$daemon_pid"
wait "$daemon_pid" 2>/dev/null || true
daemon_pid=
stop="stopped by SIGTERM in $(awk -v ms=$(( $(date +%s%3N) - asked )) 'BEGIN { printf "%.1f", ms / 1000 }') s"
echo "$stop"
stop_stack

write_section "idle-scale-$mailboxes" "Idle scale and restart ($mailboxes mailboxes)" "Measured $(date -u +%Y-%m-%d) by \`tools/bench/idle-scale.sh $mailboxes $measure $settle\` on $(nproc) cores
($(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')), graph-sim and exconnectd on the same machine over
TLS on loopback. The mailboxes belong to one tenant whose administrator consented, so
they are added without sign-ins (\`POST /api/v1/mailboxes\` with \`tenant_id\`, 8 clients).
Once every mailbox has polled twice since the last one was added (a mailbox's second
poll comes on its phase, up to 1.5 intervals after its first) and $settle s more have
passed, exconnectd's CPU (utime +
stime from /proc) and resident memory are read over the window; graph-sim records the
interval between two listings of each mailbox (its polls).

\`\`\`
$idle
$restart
$stop
\`\`\`"
