#!/usr/bin/env bash
# The ingest benchmark (issues 5, 14): exconnectd's ingest rate with limits lifted on
# both sides, from its start with every mailbox's backlog waiting until the last mail is
# stored, against graph-sim's own ceiling for the same request mix; and the drain
# rate of one backlogged mailbox under the default limits (takes about two minutes).
# Writes the figures into docs/benchmarks.md.
# Usage: tools/bench/ingest.sh [MAILBOXES MAILS_EACH]   (default 1000 20)
set -euo pipefail
cd "$(dirname "$0")/../.."
mailboxes=${1:-1000}
mails=${2:-20}
bash tools/build.sh normal graph-sim exconnectd bench-driver >/dev/null
source tools/stack.sh
source tools/bench/write-section.sh
dir=$PWD/bench-data

echo "== throughput: $mailboxes mailboxes x $mails mails, limits lifted"
# The default poll interval: a mailbox's first poll takes its whole backlog page by page
# (polling 1,000 mailboxes every second would load graph-sim during its own ceiling).
start_stack "$dir" --fetch-rate 1000000/1 --request-rate 1000000/1 --concurrency 1000 \
  -- --fetch-rate 1000000/1
connected=$(bench_driver throughput-connect --mailboxes "$mailboxes")
echo "$connected"
# The backlogs arrive while exconnectd is stopped; the clock runs from its start.
kill "$daemon_pid"
wait "$daemon_pid" # a clean stop (0), or this script ends here
bench_driver throughput-deliver --mailboxes "$mailboxes" --mails "$mails" \
  --messages-file "$dir/messages.txt"
started=$(date +%s%3N)
start_daemon
throughput=$(bench_driver throughput --since-ms "$started" --mailboxes "$mailboxes" \
  --mails "$mails" --messages-file "$dir/messages.txt")
throughput="$connected
$throughput"
echo "$throughput"
stop_stack

echo "== drain: one mailbox, 51 mails, default limits on both sides"
start_stack "$dir"
drain=$(bench_driver drain --mails 51)
echo "$drain"
stop_stack

write_section ingest "Ingest" "Measured $(date -u +%Y-%m-%d) by \`tools/bench/ingest.sh $mailboxes $mails\` on $(nproc) cores
($(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')), graph-sim and exconnectd on the same machine over
TLS on loopback, graph-sim with one I/O thread.

Throughput: the mailboxes of one tenant are added through its admin consent (no
sign-ins, 16 REST clients at a time) and exconnectd is stopped; each mailbox gets its
backlog, limits are lifted on both sides, and exconnectd starts again. The clock runs
from its start until its \`exconnect_messages_total\` counts the last mail stored (listed,
downloaded, parsed, stored with its journal entry and group-committed; labelling goes
on beside). Then the driver replays exconnectd's requests for the same mail (a listing per mailbox and 100
mails, GET \$value, GET categories, PATCH categories) against graph-sim alone with 16
HTTPS clients: that is graph-sim's ceiling for this request mix.

\`\`\`
$throughput
\`\`\`

Drain: one mailbox with a backlog of 51 mails under the default limits (25 downloads per
60 s on both sides). The first 25 go at once; mail n may be downloaded at
floor(n / 25) x 60 s, so the last one at 120 s after the first.

\`\`\`
$drain
\`\`\`"
