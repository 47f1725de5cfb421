#!/usr/bin/env bash
# Latency (issue 14): N empty mailboxes of one tenant (added through its admin consent)
# polling every 60 s, each on its phase; then mail arrives at RATE per second for
# SECONDS, each to a mailbox drawn at random. Prints the time from a mail's arrival at
# graph-sim to its ticket (p50, p99, max; aim p99 <= poll interval + 1 s) and the
# daemon's CPU meanwhile. Writes the figures into docs/benchmarks.md.
# Usage: tools/bench/latency.sh [MAILBOXES [SECONDS [RATE]]]   (default 10000 120 20)
set -euo pipefail
cd "$(dirname "$0")/../.."
mailboxes=${1:-10000}
seconds=${2:-120}
rate=${3:-20}
bash tools/build.sh normal graph-sim exconnectd bench-driver >/dev/null
source tools/stack.sh
source tools/bench/write-section.sh
dir=$PWD/bench-data

start_stack "$dir" -- --poll-interval 60
echo "== latency: $mailboxes mailboxes polling every 60 s, $rate mails per second for $seconds s"
out=$(bench_driver latency --threads 8 --daemon-pid "$daemon_pid" \
  --measure-s "$seconds" --rate "$rate" --mailboxes "$mailboxes")
echo "$out"
stop_stack

write_section "latency-$mailboxes" "Latency ($mailboxes mailboxes)" "Measured $(date -u +%Y-%m-%d) by \`tools/bench/latency.sh $mailboxes $seconds $rate\` on $(nproc) cores
($(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')), graph-sim and exconnectd on the same machine over
TLS on loopback. The mailboxes are added as for the idle-scale benchmark and left until
each polls on its phase; then the driver delivers mail to graph-sim at an even rate,
each to a mailbox drawn at random (fixed seed), and reads the tickets until each mail
has one. Arrival is the driver's clock when it delivered the mail; the ticket's
\`created_at\` (exconnectd's clock, whole seconds) is taken as the end of its second.

\`\`\`
$out
\`\`\`"
